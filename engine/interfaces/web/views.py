"""The dashboard's views under ``/api`` (docs/dashboard.md): overview, alerts filtered,
scripts, examples, trades; each read or done through the operations facade, the routes only
translating HTTP (bad input is a 400 naming the parameter or the problem)."""

from __future__ import annotations

from quart import Blueprint, request

from engine.app.draft_replay import MAX_DAYS, DraftReplayError, ReplayBusy
from engine.app.operations import Operations
from engine.app.scripts import EditingOff, ScriptNameError
from engine.domain.alerts import AlertError
from engine.domain.config import ServerConfig
from engine.domain.orders import BrokerError
from engine.interfaces.web.auth import refuse
from engine.interfaces.web import params
from engine.interfaces.web.params import BadParameter

_FILTERS = ("status", "symbol", "plugin")


def views_blueprint(ops: Operations, server: ServerConfig) -> Blueprint:
    bp = Blueprint("views", __name__, url_prefix="/api")

    @bp.before_request
    async def authorize():
        return refuse(server)

    @bp.errorhandler(BadParameter)
    async def bad_parameter(e: BadParameter):
        return {"error": str(e)}, 400

    @bp.errorhandler(ScriptNameError)
    async def bad_name(e: ScriptNameError):
        return {"error": str(e)}, 400

    @bp.errorhandler(FileNotFoundError)
    async def missing(e: FileNotFoundError):
        return {"error": str(e)}, 404

    @bp.errorhandler(EditingOff)
    async def editing_off(e: EditingOff):
        return {"error": str(e)}, 403

    @bp.errorhandler(DraftReplayError)
    async def not_replayed(e: DraftReplayError):   # the draft's own trouble, told as it is
        return {"error": str(e)}, 422

    @bp.errorhandler(ReplayBusy)
    async def replay_busy(e: ReplayBusy):
        return {"error": str(e)}, 409

    @bp.errorhandler(BrokerError)
    async def broker_down(e: BrokerError):
        return {"error": f"the broker cannot answer: {e}"}, 503

    @bp.get("/overview")
    async def overview():
        return await ops.overview()

    @bp.get("/alerts")
    async def alerts():
        limit = params.limit(50)
        unknown = sorted(set(request.args) - {"limit", *_FILTERS})
        if unknown:
            raise BadParameter(f"{unknown[0]}: unknown parameter (known: limit, {', '.join(_FILTERS)})")
        filters = {name: params.text(name) for name in _FILTERS}
        try:
            return {"alerts": await ops.alerts(limit, **filters)}
        except ValueError as e:  # an unknown status
            raise BadParameter(f"status: {e}") from None
        except AlertError as e:
            raise BadParameter(f"symbol: {e}") from None

    @bp.get("/scripts")
    async def scripts():
        return {"scripts": ops.scripts(), "editable": bool(getattr(server, "dashboard_edit", True))}

    @bp.get("/scripts/<file>")
    async def script(file: str):
        return {"name": file, "text": ops.script(file)}

    @bp.post("/scripts/<file>/check")
    async def check(file: str):
        return {"name": file, "findings": await ops.check_script(file, await params.body_text())}

    @bp.post("/scripts/<file>/replay")
    async def replay(file: str):
        days = params.days(30, MAX_DAYS)
        return {"name": file, "days": days, **await ops.replay_script(file, await params.body_text(), days)}

    @bp.put("/scripts/<file>")
    async def save(file: str):
        allowed = bool(getattr(server, "dashboard_edit", True))
        text = await params.body_text() if allowed else ""
        return await ops.save_script(file, text, allowed=allowed)

    @bp.get("/examples")
    async def examples():
        return {"examples": ops.examples()}

    @bp.get("/trades")
    async def trades():
        return await ops.trades(params.limit(100), params.since())

    return bp
