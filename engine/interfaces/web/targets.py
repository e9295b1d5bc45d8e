"""``TargetGate``: the requests no route can serve by their form, refused before anything else looks at them.

``GET ?x HTTP/1.1`` (or ``GET http://host?x``) reaches the application with an empty path, and Quart
takes the path's first character: each such line a stranger sent gave a 500 and a traceback in the
log ("Error in ASGI Framework"). Every route's path starts with ``/``, so nothing is lost: the
asterisk of ``OPTIONS *`` (a whole-server question no route answers) is refused alike (400).
So is a path opening with ``//``: Quart read its first segment as a host name and served the
rest, so ``POST //x/api/pause`` paused the engine past a reverse proxy's rule on ``/api``, and
``GET //health`` was the dashboard's page.

No route is a WebSocket: an upgrade at a path without a route made Quart's 404 handler read the
request outside its context, a 500 and a traceback naming the path (``/webhook/<secret>`` too).
Every WebSocket is closed before it is accepted (Hypercorn answers 403).
"""

from __future__ import annotations

from typing import Callable

from engine.interfaces.web.webhook import ASGIApp, json_answer


class TargetGate:
    """The ASGI application passing to ``app`` the HTTP requests whose path starts with one ``/``."""

    def __init__(self, app: ASGIApp):
        self._app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        path = scope.get("path", "")
        if scope["type"] != "http" or (path.startswith("/") and not path.startswith("//")):
            return await self._app(scope, receive, send)
        # Its body, if any, is left unread: the connection is closed after the answer.
        await json_answer(send, 400, {"error": "the request target must be a path starting with a single / "
                                               "(docs/http-api.md)"}, [(b"connection", b"close")])
