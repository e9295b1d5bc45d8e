"""The connection cap: at most ``server.max_connections`` sockets open at once.

Hypercorn has no such setting (its issue 81), and its trio worker builds each connection's
``TCPServer`` itself, from the module global ``hypercorn.trio.run.TCPServer``. ``install``
puts ``CappedTCPServer`` there once per process; each server's cap travels in its own
``Config`` (``config.connection_limiter``), so two servers in one process keep their own.
A connection past the cap is closed as it is accepted: nothing is read from it and it holds
no socket. The timers in serve.py bound how long a stranger's connection counts.
"""

from __future__ import annotations

import logging

import hypercorn.trio.run
import trio
from hypercorn.trio.tcp_server import TCPServer

log = logging.getLogger("moonhook.web")


class CappedTCPServer(TCPServer):
    """Hypercorn's connection handler, run only while its server's limiter has room."""

    async def run(self) -> None:
        limiter: trio.CapacityLimiter | None = getattr(self.config, "connection_limiter", None)
        if limiter is None:
            return await super().run()
        try:
            limiter.acquire_on_behalf_of_nowait(self)
        except trio.WouldBlock:
            log.warning("connection refused: %d open already (server.max_connections)", limiter.total_tokens)
            await trio.aclose_forcefully(self.stream)
            return
        try:
            await super().run()
        finally:
            limiter.release_on_behalf_of(self)


def install() -> None:
    """Makes Hypercorn's trio worker build ``CappedTCPServer``s (idempotent)."""
    if hypercorn.trio.run.TCPServer is not CappedTCPServer:
        hypercorn.trio.run.TCPServer = CappedTCPServer
