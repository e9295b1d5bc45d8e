"""``GET /health``: "ok" or "degraded" (load errors, paused, the broker disconnected) to anyone,
for load balancers and uptime checks; the details (plugins, broker state, which may name the
MT5 login and server) only with the API's bearer token."""

from __future__ import annotations

from quart import Blueprint, request

from engine.app.operations import Operations
from engine.domain.config import ServerConfig
from engine.interfaces.web.tokens import refusal


def health_blueprint(ops: Operations, server: ServerConfig) -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/health")
    async def get_health():
        view = ops.health()
        if refusal(server.api_token, request.headers.getlist("Authorization")) is not None:
            return {"status": view["status"]}
        return view

    return bp
