"""``TargetGate``: a request whose target is no path is answered 400 before anything else looks at it.

``GET ?x HTTP/1.1`` (or ``GET http://host?x``) reaches the application with an empty path, and Quart
takes the path's first character: each such line a stranger sent gave a 500 and a traceback in the
log ("Error in ASGI Framework"). Every route's path starts with ``/``, so nothing is lost: the
asterisk of ``OPTIONS *`` (a whole-server question no route answers) is refused alike.
"""

from __future__ import annotations

from typing import Callable

from engine.interfaces.web.webhook import ASGIApp, json_answer


class TargetGate:
    """The ASGI application passing to ``app`` the requests whose path starts with ``/``."""

    def __init__(self, app: ASGIApp):
        self._app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get("path", "").startswith("/"):
            return await self._app(scope, receive, send)
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        # Its body, if any, is left unread: the connection is closed after the answer.
        await json_answer(send, 400, {"error": "the request target must be a path starting with / "
                                               "(docs/http-api.md)"}, [(b"connection", b"close")])
