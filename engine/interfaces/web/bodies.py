"""``BodyGate``: a request declaring a body over ``server.max_body`` is refused (413) before any route
looks at it, whatever its method, as nginx's ``client_max_body_size`` refuses it.

Quart holds ``MAX_CONTENT_LENGTH`` only when a route reads the body: a GET, a HEAD or a DELETE
declaring a gigabyte was answered 200, its body never read. A body within the limit on a route that
takes none is ignored (``app.read_the_body`` closes the connection after the answer); one sent
chunked, its size unknown until read, is ignored alike, and a route that reads it meets the limit.
The webhook's paths never reach this gate: ``webhook.Webhook`` checks the sender first, then the size.
"""

from __future__ import annotations

from typing import Callable

from engine.interfaces.web.webhook import ASGIApp, json_answer


def too_large(limit: int) -> str:
    """What a body over ``limit`` bytes is told, here and by Quart's 413 (``app.http_error``)."""
    return f"the body is larger than {limit} bytes (server.max_body)"


class BodyGate:
    """The ASGI application passing to ``app`` the requests whose Content-Length is at most ``limit``."""

    def __init__(self, limit: int, app: ASGIApp):
        self._limit = limit
        self._app = app

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http" or _declared(scope["headers"]) <= self._limit:
            return await self._app(scope, receive, send)
        # The body is left unread: the connection is closed after the answer.
        await json_answer(send, 413, {"error": too_large(self._limit)}, [(b"connection", b"close")])


def _declared(headers: list[tuple[bytes, bytes]]) -> int:
    """The body's size its Content-Length declares, 0 without one (h11 refuses one that is no number)."""
    for name, value in headers:
        if name == b"content-length":
            return int(value) if value.isdigit() else 0
    return 0
