"""``GET /health``: "ok" or "degraded" (load errors, paused, the broker disconnected) to anyone,
for load balancers and uptime checks; the details (plugins, broker state, which may name the
MT5 login and server) only with the API's bearer token, whose wrong guesses count as the API's do
(``auth.token_refusal``): the details would tell which guess hit."""

from __future__ import annotations

from quart import Blueprint

from engine.app.operations import Operations
from engine.domain.config import ServerConfig
from engine.interfaces.web.auth import token_refusal


def health_blueprint(ops: Operations, server: ServerConfig) -> Blueprint:
    bp = Blueprint("health", __name__)

    @bp.get("/health")
    async def get_health():
        view = ops.health()
        if token_refusal(server) is not None:
            return {"status": view["status"]}
        return view

    return bp
