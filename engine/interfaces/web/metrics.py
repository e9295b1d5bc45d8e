"""``GET /metrics``: the engine's Prometheus metrics in the text format, and the web server's
(the connections it refused, ``refusals.py``), behind the API's bearer token (Prometheus sends
it with ``authorization: {credentials: <api_token>}``)."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from quart import Blueprint

from engine.app.operations import Operations
from engine.domain.config import ServerConfig
from engine.interfaces.web.auth import refuse
from engine.interfaces.web.refusals import Refusals


def metrics_blueprint(ops: Operations, server: ServerConfig, refusals: Refusals) -> Blueprint:
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    async def metrics():
        refused = refuse(server, cookie=False)  # bearer only: Prometheus, not the dashboard
        if refused is not None:
            return refused
        return await ops.metrics() + refusals.exposition(), 200, {"Content-Type": CONTENT_TYPE_LATEST}

    return bp
