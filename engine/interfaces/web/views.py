"""The dashboard's views under ``/api`` (docs/dashboard.md): overview, scripts, trades; each
read through the operations facade."""

from __future__ import annotations

from quart import Blueprint

from engine.app.operations import Operations
from engine.domain.config import ServerConfig
from engine.interfaces.web.auth import refuse


def views_blueprint(ops: Operations, server: ServerConfig) -> Blueprint:
    bp = Blueprint("views", __name__, url_prefix="/api")

    @bp.before_request
    async def authorize():
        return refuse(server)

    return bp
