"""The JSON API, behind ``Authorization: Bearer <api_token>``: plugins, alerts, broker, pause."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import trio
from quart import Blueprint, request

from engine.domain.config import ServerConfig
from engine.interfaces.web.tokens import refusal

log = logging.getLogger("moonhook.web")

MAX_LIMIT = 500


class BadRequest(Exception):
    pass


def _limit(default: int = 50) -> int:
    raw = request.args.get("limit")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_LIMIT:
        raise BadRequest(f"limit: must be an integer from 1 to {MAX_LIMIT}, got {raw!r}")
    return value


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return value is True or value == 1


async def _reason() -> str | None:
    """An optional ``{"reason": "..."}`` in the body of a switch, kept with it."""
    body = await request.get_json(force=True, silent=True)
    reason = body.get("reason") if isinstance(body, dict) else None
    return reason[:200] if isinstance(reason, str) and reason.strip() else None


def plugin_row(engine: Any, plugin: Any) -> dict[str, Any]:
    row = plugin.to_plain()
    try:
        row["memory_bytes"] = engine.pool.memory(plugin.pool_id)
    except Exception:  # not yet called, or its worker is being replaced
        row["memory_bytes"] = None
    return row


def api_blueprint(engine: Any, server: ServerConfig) -> Blueprint:
    bp = Blueprint("api", __name__, url_prefix="/api")

    @bp.before_request
    async def authorize():
        return refusal(server.api_token, request.headers.get("Authorization"))

    @bp.errorhandler(BadRequest)
    async def bad_request(e: BadRequest):
        return {"error": str(e)}, 400

    @bp.get("/plugins")
    async def plugins():
        # Files with no version serving are listed too, failed (with why) or loading.
        rows = [plugin_row(engine, p) for p in engine.plugins]
        served = {row["file"] for row in rows}
        rows += [{"name": Path(file).stem, "file": file, "enabled": False, "state": "failed", "last_error": error}
                 for file, error in sorted(engine.load_errors.items()) if file not in served]
        rows += [{"name": Path(file).stem, "file": file, "enabled": False, "state": "loading"}
                 for file in sorted(engine.lifecycle.loading) if file not in served and file not in engine.load_errors]
        # Who paused or resumed last, and when (the switches are kept across restarts).
        pause = {**(engine.switchboard.pause or {}), "paused": engine.paused}
        return {"plugins": rows, "load_errors": dict(engine.load_errors), "pause": pause}

    @bp.get("/alerts")
    async def alerts():
        limit = _limit()
        rows = await trio.to_thread.run_sync(engine.journal.recent, limit)
        return {"alerts": rows}

    @bp.get("/alerts/<int:alert_id>")
    async def alert(alert_id: int):
        row = await trio.to_thread.run_sync(engine.journal.get, alert_id)
        if row is None:
            return {"error": f"no alert {alert_id}"}, 404
        return row

    @bp.get("/orders")
    async def orders():
        limit = _limit()
        return {"open": await engine.broker.orders(), "recent": engine.ledger.recent(limit)}

    @bp.get("/positions")
    async def positions():
        return {"positions": await engine.broker.positions()}

    @bp.get("/account")
    async def account():
        return {"account": await engine.broker.account()}

    @bp.post("/plugins/<name>/<any(enable, disable):switch>")
    async def switch_plugin(name: str, switch: str):
        try:
            plugin = engine.set_enabled(name, switch == "enable", reason=await _reason())
        except KeyError:
            return {"error": f"no plugin named {name!r}"}, 404
        return plugin_row(engine, plugin)

    @bp.post("/pause")
    async def pause():
        engine.pause(reason=await _reason())
        return {"paused": True}

    @bp.post("/resume")
    async def resume():
        body = await request.get_json(force=True, silent=True)
        wanted = body.get("execute_missed") if isinstance(body, dict) else None
        if wanted is None:
            wanted = request.args.get("execute_missed")
        queued = await engine.resume(_truthy(wanted))
        return {"paused": False, "execute_missed": _truthy(wanted), "queued": queued}

    return bp
