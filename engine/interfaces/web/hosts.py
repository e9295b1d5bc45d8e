"""``HostGate``: a request naming a ``Host`` the server does not answer to is refused (403) before any
route runs: DNS rebinding, a stranger's site whose name was made to lead to this machine, would else be
same-origin to the trader's browser (``engine/domain/config/hosts.py``; docs/security.md).

The webhook's paths never reach it (``webhook.Webhook`` stands in front), nor does Telegram's
``/telegram/<bot>``: both are called by a service at the trader's public name, not by a browser,
and both are guarded by their own secret, which a stranger's page does not have.
"""

from __future__ import annotations

import logging
from typing import Callable

from engine.domain.config import ServerConfig
from engine.domain.config.hosts import answers, listed
from engine.interfaces.web.refusals import Refusals
from engine.interfaces.web.webhook import ASGIApp, json_answer

log = logging.getLogger("moonhook.web")

UNGUARDED = ("/telegram/",)  # paths a service calls with its own secret


def refusal(host: str) -> str:
    """What a request naming ``host`` is told."""
    return (f"this server does not answer to the name {host[:80]!r} (server.hosts): open it at 127.0.0.1 or "
            "localhost, or at an IP address of this machine, or list the name in server.hosts in moonhook.toml. "
            "A stranger's site may make its own name lead here (DNS rebinding)")


class HostGate:
    """The ASGI application passing to ``app`` the requests whose Host ``server.hosts`` allows, or
    names ``server.host`` itself (a name to listen on is the trader's; ``moonhook status`` uses it)."""

    def __init__(self, server: ServerConfig, app: ASGIApp, refusals: Refusals):
        self._hosts = listed((*server.hosts, server.host))
        self._app = app
        self._refusals = refusals

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(UNGUARDED):
            return await self._app(scope, receive, send)
        names = [v.decode("latin-1") for k, v in scope["headers"] if k == b"host"]
        if len(names) <= 1 and answers(names[0] if names else None, self._hosts):
            return await self._app(scope, receive, send)
        host = ", ".join(names)
        peer = scope.get("client")
        self._refusals.request("Host", peer[0] if peer else None,
                               f"request for the name {host[:80]!r} refused: not in server.hosts")
        if scope["type"] == "websocket":
            return await send({"type": "websocket.close", "code": 1008})
        # The body is left unread: Hypercorn closes the connection after the answer.
        await json_answer(send, 403, {"error": refusal(host)}, [(b"connection", b"close")])
