"""``create_app``: the Quart-Trio application serving the webhook, /health, the API and /metrics."""

from __future__ import annotations

import logging
import re
from typing import Any

from quart import request
from werkzeug.exceptions import HTTPException

from engine.domain.config import ServerConfig
from engine.interfaces.web.api import api_blueprint
from engine.interfaces.web.clients import Gate
from engine.interfaces.web.connection import App
from engine.interfaces.web.health import health_blueprint
from engine.interfaces.web.metrics import metrics_blueprint
from engine.interfaces.web.telegram import telegram_blueprint
from engine.interfaces.web.webhook import BODY_TIMEOUT, Webhook

log = logging.getLogger("moonhook.web")

_SECRET_PATH = re.compile(r"^(/webhook/).*$", re.S)


def redacted(path: str) -> str:
    """A request path fit for a log: the secret of ``/webhook/<secret>`` hidden."""
    return _SECRET_PATH.sub(r"\1***", path)


def create_app(engine: Any, server: ServerConfig) -> App:
    """The application for ``engine``; raises ValueError for an unreadable allow_ips or
    trusted_proxies entry."""
    gate = Gate(server.allow_ips, server.trusted_proxies)
    app = App("moonhook")
    app.config["MAX_CONTENT_LENGTH"] = server.max_body
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 2
    app.config["BODY_TIMEOUT"] = BODY_TIMEOUT  # the webhook's, for the routes behind it
    app.json.sort_keys = False
    app.register_blueprint(health_blueprint(engine, server))
    app.register_blueprint(api_blueprint(engine, server))
    app.register_blueprint(metrics_blueprint(engine, server))
    telegram = getattr(engine, "telegram", None)
    if telegram is not None and telegram.config.webhook_url:
        app.register_blueprint(telegram_blueprint(telegram.dispatch, telegram.config.webhook_secret))

    @app.errorhandler(HTTPException)
    async def http_error(e: HTTPException):
        return {"error": e.description or e.name}, e.code or 500

    @app.errorhandler(Exception)
    async def internal_error(e: Exception):
        # Logged here, with the path redacted, rather than by Quart (whose line names the path).
        log.error("%s %s failed: %s", request.method, redacted(request.path), type(e).__name__,
                  exc_info=(type(e), e, e.__traceback__))
        return {"error": "internal error; see the server's log"}, 500

    app.asgi_app = Webhook(engine, server, gate, app.asgi_app)  # the hot path, ahead of Quart
    return app
