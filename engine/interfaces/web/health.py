"""``GET /health``: "ok" or "degraded" (load errors, paused, the broker disconnected) to anyone,
for load balancers and uptime checks; the details (plugins, broker state, which may name the
MT5 login and server) only with the API's bearer token."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, request

from engine.domain.config import ServerConfig
from engine.interfaces.web.tokens import refusal


def health(engine: Any) -> dict[str, Any]:
    plugins = list(engine.plugins)
    journal = engine.writer.trouble
    degraded = bool(engine.load_errors) or engine.paused or not engine.broker.connected or journal is not None
    return {
        "status": "degraded" if degraded else "ok",
        "journal": "ok" if journal is None else f"cannot write: {journal}",
        "uptime_s": round(max(0.0, engine.clock() - engine.started), 3),
        "plugins": {"loaded": len(plugins), "enabled": sum(1 for p in plugins if p.enabled)},
        "load_errors": sorted(engine.load_errors),  # the files; the messages are in /api/plugins
        "broker": engine.config.broker,
        "broker_connected": engine.broker.connected,
        "broker_state": engine.broker.state,
        "paused": engine.paused,
    }


def health_blueprint(engine: Any, server: ServerConfig) -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/health")
    async def get_health():
        view = health(engine)
        if refusal(server.api_token, request.headers.get("Authorization")) is not None:
            return {"status": view["status"]}
        return view

    return bp
