"""``GET /api/events``: the engine's events as Server-Sent Events (docs/dashboard.md)."""

from __future__ import annotations

from quart import Blueprint

from engine.app.operations import Operations
from engine.domain.config import ServerConfig
from engine.interfaces.web.auth import refuse


def events_blueprint(ops: Operations, server: ServerConfig) -> Blueprint:
    bp = Blueprint("events", __name__, url_prefix="/api")

    @bp.before_request
    async def authorize():
        return refuse(server)

    return bp
