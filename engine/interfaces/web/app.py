"""``create_app``: the Quart-Trio application serving the webhook, /health, the API and /metrics."""

from __future__ import annotations

from contextlib import suppress

import logging
import re
from typing import Iterable

from quart import Blueprint, request
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound

from engine.app.operations import Operations
from engine.domain.config import ServerConfig
from engine.interfaces.web.api import api_blueprint
from engine.interfaces.web.bodies import BodyGate, too_large
from engine.interfaces.web.clients import Gate
from engine.interfaces.web.connection import App
from engine.interfaces.web.dashboard import dashboard_blueprint
from engine.interfaces.web.errors import hide_secrets
from engine.interfaces.web.events import events_blueprint
from engine.interfaces.web.health import health_blueprint
from engine.interfaces.web.hosts import HostGate
from engine.interfaces.web.metrics import metrics_blueprint
from engine.interfaces.web.refusals import EXTENSION as REFUSALS, Refusals, refusals_of
from engine.interfaces.web.session import EXTENSION as SESSIONS, Sessions, session_blueprint
from engine.interfaces.web.targets import TargetGate
from engine.interfaces.web.views import views_blueprint
from engine.interfaces.web.webhook import BODY_TIMEOUT, Webhook

log = logging.getLogger("moonhook.web")

_SECRET_PATH = re.compile(r"^(/webhook/).*$", re.S)


def redacted(path: str) -> str:
    """A request path fit for a log: the secret of ``/webhook/<secret>`` hidden."""
    return _SECRET_PATH.sub(r"\1***", path)


def _no_route(app: App, method: str, path: str) -> str:
    """Why ``method path`` has no route: a slash at its end (a URL pasted so) is named, and said in
    the log for the webhook's, whose sender (TradingView) shows the trader no answer."""
    stem = path.rstrip("/")
    if stem != path and stem:
        try:
            routed = stem == "/webhook" or bool(app.url_map.bind("localhost").match(stem, method=method))
        except HTTPException:
            routed = False
        if routed:
            said = f"no route {method} {path}: the route is {method} {stem} without the '/' at its end " \
                   "(docs/http-api.md)"
            if stem == "/webhook":
                refusals_of(app).request("webhook (404)", request.remote_addr,
                                         f"webhook from {request.remote_addr or '?'} refused (404): {said}")
            return said
    return f"no route {method} {path}: the routes are in docs/http-api.md"


def create_app(ops: Operations, server: ServerConfig, blueprints: Iterable[Blueprint] = (),
               sessions: Sessions | None = None) -> App:
    """The application for the engine behind ``ops``, with the other interfaces' routes in
    ``blueprints`` (Telegram's webhook) and the dashboard's logins in ``sessions`` (a new store
    of ``server.session_hours`` by default; tests hand one with their own clock); raises
    ValueError for an unreadable allow_ips or trusted_proxies entry. A request naming a Host
    that ``server.hosts`` does not allow is refused before any route but the webhook's (``hosts.py``)."""
    gate = Gate(server.allow_ips, server.trusted_proxies)
    sessions = sessions if sessions is not None else Sessions(server.session_hours)
    app = App("moonhook", static_folder=None)  # the dashboard serves /static; nothing from the working folder
    app.extensions[SESSIONS] = sessions  # where auth.refuse finds them
    refusals = app.extensions[REFUSALS] = Refusals()  # the connections refused, for serve.py to count
    hide_secrets(app, server.secrets)  # no error answer quotes the webhook's secret or the API token
    app.config["MAX_CONTENT_LENGTH"] = server.max_body
    app.config["BACKGROUND_TASK_SHUTDOWN_TIMEOUT"] = 2
    app.config["BODY_TIMEOUT"] = BODY_TIMEOUT  # the webhook's, for the routes behind it
    # No route takes OPTIONS, nor answers CORS: Quart's automatic OPTIONS answered 200 (an empty
    # page, to anyone on /health, /login, the dashboard) to a method nothing serves. It is a 405.
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.url_map.merge_slashes = False   # /api//pause was a 308 to /api/pause, in HTML: a 404 as any path
    app.json.sort_keys = False
    for blueprint in (health_blueprint(ops, server), api_blueprint(ops, server),
                      metrics_blueprint(ops, server, refusals), views_blueprint(ops, server),
                      events_blueprint(ops, server), dashboard_blueprint(ops, server),
                      session_blueprint(server, sessions), *blueprints):
        app.register_blueprint(blueprint)

    @app.after_request
    async def read_the_body(response):
        # An answer given before the body was read (a bad parameter, a conflict) makes Hypercorn
        # close the connection after it, and a client that has already sent its next request
        # on it meets a closed connection. Read it first, bounded by MAX_CONTENT_LENGTH and
        # BODY_TIMEOUT (one too large or too slow still closes the connection). A stranger
        # (401, 403) is answered at once and the connection closed: nothing of theirs is read;
        # nor is a body already too large (413) or too slow (408: waited for once, not twice).
        # Hypercorn then closes the connection: the answer says so, else a keep-alive client sends
        # its next request on it and meets a closed socket (a POST then lost without an answer).
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and response.status_code not in (401, 403, 408, 413):
            with suppress(Exception):
                await request.get_data()
        elif request.content_length or "Transfer-Encoding" in request.headers:
            response.headers["Connection"] = "close"
        return response

    @app.errorhandler(HTTPException)
    async def http_error(e: HTTPException):
        if e.code == 413:  # Werkzeug's words name no limit; the webhook's do
            return {"error": too_large(server.max_body)}, 413
        if isinstance(e, NotFound) and e.description == NotFound.description:   # no route, not a handler's 404
            return {"error": _no_route(app, request.method, request.path)}, 404
        if isinstance(e, MethodNotAllowed):   # the methods the route takes, said and in Allow (RFC 9110)
            taken = ", ".join(sorted(set(e.valid_methods or ()) - {"HEAD", "OPTIONS"}))
            return ({"error": f"{request.method} {request.path}: the route takes {taken} (docs/http-api.md)"}, 405,
                    {"Allow": taken})
        return {"error": e.description or e.name}, e.code or 500

    @app.errorhandler(Exception)
    async def internal_error(e: Exception):
        # Logged here, with the path redacted, rather than by Quart (whose line names the path).
        log.error("%s %s failed: %s", request.method, redacted(request.path), type(e).__name__,
                  exc_info=(type(e), e, e.__traceback__))
        return {"error": "internal error; see the server's log"}, 500

    # The webhook is the hot path, ahead of Quart, and of the Host check: its secret guards it.
    # A target that is no path (`GET ?x`), or a WebSocket, is refused ahead of all (targets.py); a
    # body declared over server.max_body, on any method, once the Host is known (bodies.py).
    hosts = HostGate(server, BodyGate(server.max_body, app.asgi_app), refusals)
    app.asgi_app = TargetGate(Webhook(ops, server, gate, hosts, refusals))
    return app
