"""The dashboard's views under ``/api`` (docs/dashboard.md): overview, alerts filtered,
scripts, examples, trades; each read or done through the operations facade, the routes only
translating HTTP (bad input is a 400 naming the parameter or the problem)."""

from __future__ import annotations

from quart import Blueprint, request

from engine.app.draft_replay import MAX_DAYS, DraftReplayError, ReplayBusy
from engine.app.operations import Operations
from engine.app.scripts import NEW_NAME, NEW_NAME_RULE, EditingOff, NameClash, ScriptChanged, ScriptNameError
from engine.domain.alerts import AlertError, read_body
from engine.domain.config import ServerConfig
from engine.domain.orders import BrokerError
from engine.interfaces.web.auth import refuse
from engine.interfaces.web.errors import BROKER_DOWN, answer_errors
from engine.interfaces.web import params
from engine.interfaces.web.params import BadParameter

_FILTERS = ("status", "symbol", "plugin")
# The query parameters each route takes: any other is a 400 (``offset`` is known, to be refused in words).
QUERY = {"views.alerts": ("limit", "before", *_FILTERS), "views.replay": ("days",),
         "views.trades": ("limit", "before", "since", "offset")}


def views_blueprint(ops: Operations, server: ServerConfig) -> Blueprint:
    bp = Blueprint("views", __name__, url_prefix="/api")

    @bp.before_request
    async def authorize():
        refused = refuse(server)
        return refused if refused is not None else params.only(QUERY)

    answer_errors(bp, {BadParameter: 400, ScriptNameError: 400, FileNotFoundError: 404, EditingOff: 403,
                       BrokerError: BROKER_DOWN})

    @bp.get("/overview")
    async def overview():
        return await ops.overview()

    @bp.get("/alerts")
    async def alerts():
        limit = params.limit(50)
        filters = {name: params.text(name) for name in _FILTERS}
        try:
            return {"alerts": await ops.alerts(limit, **filters, before=params.before())}
        except AlertError as e:  # a symbol that cannot be one; its message names it (before ValueError, its base)
            raise BadParameter(str(e)) from None
        except ValueError as e:  # an unknown status
            raise BadParameter(f"status: {e}") from None

    @bp.post("/alerts/check")
    async def check_alert():
        """What the body, a webhook's, would do now: nothing journaled, nothing sent. A
        ``secret`` field in it is never read (the token authenticates this; the parser drops it)."""
        try:
            alert = ops.parse(read_body(await request.get_data()))
        except AlertError as e:
            raise BadParameter(str(e)) from None
        except (ValueError, TypeError) as e:   # as the webhook answers it
            raise BadParameter(f"cannot read the alert: {type(e).__name__}") from None
        return await ops.check(alert)

    @bp.get("/scripts")
    async def scripts():
        # new_name: the rule a new file's name keeps, for the page's New to check by (the save checks it too)
        return {"scripts": ops.scripts(), "editable": bool(getattr(server, "dashboard_edit", True)),
                "new_name": {"pattern": NEW_NAME.pattern, "rule": NEW_NAME_RULE}}

    @bp.errorhandler(DraftReplayError)
    async def not_replayed(e: DraftReplayError):
        """A draft that does not load or run, or a file the replay reads that does not: 422, with
        the file and line it names (the editor marks the line when the file is the one open)."""
        if isinstance(e, ReplayBusy):
            return {"error": str(e)}, 409
        return {"error": str(e), "file": e.file, "line": e.line}, 422

    @bp.errorhandler(ScriptChanged)
    async def changed(e: ScriptChanged):
        return {"error": str(e), "version": e.version}, 412

    @bp.errorhandler(NameClash)
    async def clash(e: NameClash):
        return {"error": str(e), "holder": e.holder}, 409

    @bp.get("/scripts/<file>")
    async def script(file: str):
        found = ops.script(file)
        return found, 200, {"ETag": f'"{found["version"]}"'}

    @bp.post("/scripts/<file>/check")
    async def check(file: str):
        return {"name": file, "findings": await ops.check_script(file, await params.body_text())}

    @bp.post("/scripts/<file>/replay")
    async def replay(file: str):
        days = params.days(30.0, MAX_DAYS)
        return {"name": file, "days": days, **await ops.replay_script(file, await params.body_text(), days)}

    @bp.put("/scripts/<file>")
    async def save(file: str):
        """``If-Match: "<version>"`` saves over that version only, ``If-None-Match: *`` only as a
        new file; a 412 says the file is another now (an editor's save elsewhere), and its version."""
        allowed = bool(getattr(server, "dashboard_edit", True))
        text = await params.body_text() if allowed else ""
        if allowed and not text.strip():   # `curl -X PUT` without --data-binary @file: a guard wiped, "loaded"
            raise BadParameter("body: empty: a save needs the script's text (to remove a script, delete its file)")
        based_on, new = params.preconditions()
        return await ops.save_script(file, text, allowed=allowed, based_on=based_on, new=new)

    @bp.get("/examples")
    async def examples():
        return {"examples": ops.examples()}

    @bp.get("/trades")
    async def trades():
        return await ops.trades(params.limit(100), params.since(), params.trade_before())

    return bp
