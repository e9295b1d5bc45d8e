"""The dashboard's views under ``/api`` (docs/dashboard.md): overview, alerts filtered,
scripts, examples, trades; each read or done through the operations facade, the routes only
translating HTTP (bad input is a 400 naming the parameter or the problem)."""

from __future__ import annotations

from quart import Blueprint, request

from engine.app.operations import Operations
from engine.app.scripts import EditingOff, ScriptNameError
from engine.domain.alerts import AlertError
from engine.domain.config import ServerConfig
from engine.domain.orders import BrokerError
from engine.interfaces.web.auth import refuse

MAX_LIMIT = 500
_FILTERS = ("status", "symbol", "plugin")


class BadParameter(Exception):
    """A query parameter or body the route cannot use; its message names it."""


def _limit(default: int) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise BadParameter(f"limit: must be an integer from 1 to {MAX_LIMIT}, got {raw!r}")
    return value


def _since() -> float | None:
    raw = request.args.get("since")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise BadParameter(f"since: must be a Unix time in seconds, got {raw!r}")
    return value


def _filter(name: str) -> str | None:
    raw = request.args.get(name)
    if raw is None:
        return None
    if not raw.strip() or len(raw) > 100:
        raise BadParameter(f"{name}: must be 1 to 100 characters, got {raw[:40]!r}")
    return raw.strip()


async def _text() -> str:
    """The request's body as UTF-8 text (a script)."""
    body = await request.get_data()
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as e:
        raise BadParameter(f"body: not UTF-8 text (byte {e.start})") from None


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

    @bp.errorhandler(BrokerError)
    async def broker_down(e: BrokerError):
        return {"error": f"the broker cannot answer: {e}"}, 503

    @bp.get("/overview")
    async def overview():
        return await ops.overview()

    @bp.get("/alerts")
    async def alerts():
        try:
            limit = _limit(50)
            unknown = sorted(set(request.args) - {"limit", *_FILTERS})
            if unknown:
                raise BadParameter(f"{unknown[0]}: unknown parameter (known: limit, {', '.join(_FILTERS)})")
            filters = {name: _filter(name) for name in _FILTERS}
            try:
                return {"alerts": await ops.alerts(limit, **filters)}
            except ValueError as e:  # an unknown status
                raise BadParameter(f"status: {e}") from None
            except AlertError as e:
                raise BadParameter(f"symbol: {e}") from None
        except BadParameter as e:  # answered here: this view also serves api.py's endpoint
            return {"error": str(e)}, 400

    @bp.record_once
    def filtered_alerts(state) -> None:
        # api.py's blueprint, registered first, owns GET /api/alerts (its first rule wins) and
        # lists without filters; its endpoint is served by the view above, behind its own
        # refuse(), so the documented filters work whichever registers first.
        if "api.alerts" in state.app.view_functions:
            state.app.view_functions["api.alerts"] = alerts

    @bp.get("/scripts")
    async def scripts():
        return {"scripts": ops.scripts(), "editable": bool(getattr(server, "dashboard_edit", True))}

    @bp.get("/scripts/<file>")
    async def script(file: str):
        return {"name": file, "text": ops.script(file)}

    @bp.post("/scripts/<file>/check")
    async def check(file: str):
        return {"name": file, "findings": await ops.check_script(file, await _text())}

    @bp.put("/scripts/<file>")
    async def save(file: str):
        allowed = bool(getattr(server, "dashboard_edit", True))
        text = await _text() if allowed else ""
        return await ops.save_script(file, text, allowed=allowed)

    @bp.get("/examples")
    async def examples():
        return {"examples": ops.examples()}

    @bp.get("/trades")
    async def trades():
        return await ops.trades(_limit(100), _since())

    return bp
