"""The JSON API, behind ``Authorization: Bearer <api_token>`` (or the dashboard's session): plugins,
alerts, broker, pause. Each action is recorded as ``auth.actor``'s: "dashboard" or "api"."""

from __future__ import annotations

import json
import logging
from typing import Any

from quart import Blueprint

from engine.app.operations import HeldChanged, NotLoaded, Operations
from engine.domain.config import ServerConfig
from engine.domain.id_ranges import ranges
from engine.domain.orders import BrokerError
from engine.interfaces.web.auth import actor, refuse
from engine.interfaces.web.errors import BROKER_DOWN, answer_errors, quoted
from engine.interfaces.web import params
from engine.interfaces.web.params import BadParameter

log = logging.getLogger("moonhook.web")
# The query parameters each route takes (a body's fields are not these): any other is a 400.
QUERY = {"api.shadow": ("limit", "before"), "api.orders": ("limit",),
         "api.resume": ("execute_missed", "held_ids", "held")}


async def _reason() -> str | None:
    """An optional ``{"reason": "..."}`` in the body of a switch, kept with it; raises
    BadParameter for a body that is not JSON, has another field, or a reason that is not text
    (``{"reason": 5}`` switched with none kept)."""
    reason = (await params.fields("reason")).get("reason")
    if reason is not None and not isinstance(reason, str):
        raise BadParameter(f"reason: must be text, got {quoted(json.dumps(reason), 40)}")
    return reason  # kept as the facade keeps it: trimmed, cut, none when blank


def _answer(ticket: int, results: list[tuple[int, Any]], gone: str) -> Any:
    """The answer to a close or cancel of one ticket, from the facade's (ticket, result):
    503 when it raised (the broker cannot answer), 409 when the ticket went meanwhile, 202 with
    ``unknown`` when it was sent and its outcome is not known (it may have been done)."""
    ((_, result),) = results
    if isinstance(result, Exception):
        return {"ticket": ticket, "ok": False, "error": f"{type(result).__name__}: {str(result)[:200]}"}, 503
    if result is None:
        return {"ticket": ticket, "ok": False, "error": gone}, 409
    answer = {"ticket": ticket, "ok": result.ok, "price": result.price, "volume": result.volume, "error": result.error,
              "unknown": result.unknown}
    return (answer, 202) if result.unknown else answer


def api_blueprint(ops: Operations, server: ServerConfig) -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix="/api")

    @bp.before_request
    async def authorize():
        refused = refuse(server)
        return refused if refused is not None else params.only(QUERY)

    answer_errors(bp, {BadParameter: 400, BrokerError: BROKER_DOWN})

    @bp.get("/plugins")
    async def plugins():
        return {"plugins": ops.plugin_rows(), "load_errors": ops.load_errors(), "pause": ops.pause_state()}

    @bp.get("/alerts/<int:alert_id>")
    async def alert(alert_id: int):
        # An id past 64 bits is no row's, and SQLite cannot even be asked for it (a 500 before).
        row = await ops.alert(alert_id) if alert_id < 2 ** 63 else None
        if row is None:
            return {"error": f"no alert {alert_id}"}, 404
        return row

    @bp.get("/shadow")
    async def shadow():
        return await ops.shadow(params.limit(), params.before())

    @bp.get("/orders")
    async def orders():
        limit = params.limit()
        return await ops.orders(limit)

    @bp.post("/orders/<int:ticket>/cancel")
    async def cancel_order(ticket: int):
        """Removes one of moonhook's pending orders through the facade, as its actor: every
        plugin's on_order sees it and the ledger records it. 404 for any other ticket."""
        await params.fields(none="the order is removed as it stands")
        if ticket not in {o["ticket"] for o in await ops.pending(ours=True)}:
            return {"error": f"ticket: no pending order {ticket} of moonhook's (removed or filled already, or one "
                             "placed by hand, which is left alone)"}, 404
        who = actor()   # the orders' plugin, as the ledger and on_order hooks see it (Telegram's are "telegram")
        return _answer(ticket, await ops.cancel([ticket], plugin=who, origin=f"{who}:/cancel", comment=f"{who} cancel"),
                       "no longer pending (filled or removed meanwhile)")

    @bp.post("/positions/<int:ticket>/close")
    async def close_position(ticket: int):
        """Closes one of moonhook's positions, whole, through the facade, as its actor."""
        await params.fields(none="the position is closed whole")
        if ticket not in {p["ticket"] for p in await ops.positions(ours=True)}:
            return {"error": f"ticket: no open position {ticket} of moonhook's (closed already, or one opened by "
                             "hand, which is left alone)"}, 404
        who = actor()
        return _answer(ticket, await ops.close_positions([ticket], plugin=who, origin=f"{who}:/close",
                                                         comment=f"{who} close"), "no longer open (closed meanwhile)")

    @bp.get("/positions")
    async def positions():
        return {"positions": await ops.positions()}

    @bp.get("/account")
    async def account():
        return {"account": await ops.account()}

    @bp.post("/plugins/<name>/<any(enable, disable):switch>")
    async def switch_plugin(name: str, switch: str):
        try:
            return ops.set_enabled(name, switch == "enable", by=actor(), reason=await _reason())
        except NotLoaded:
            return {"error": f"{name} does not load, so it is neither on nor off: it serves once its file "
                             "is saved and loads (GET /api/plugins says why)"}, 404
        except KeyError:
            return {"error": f"no plugin named {name!r}"}, 404

    @bp.post("/pause")
    async def pause():
        ops.pause(by=actor(), reason=await _reason())
        return {"paused": True}

    @bp.post("/resume")
    async def resume():
        wanted = await params.flag("execute_missed")  # a bad value: 400, and the engine stays paused
        shown = params.shown_held()
        try:
            queued = await ops.resume(wanted, by=actor(), shown=shown)
        except HeldChanged as e:   # others held than the question showed: still paused, asked again
            return {"error": str(e), "held": len(e.held), "held_ids": ranges(e.held)}, 409
        return {"paused": False, "execute_missed": wanted, "queued": queued}

    return bp
