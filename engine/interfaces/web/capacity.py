"""The connection cap: at most ``server.max_connections`` sockets open at once.

Hypercorn has no such setting (its issue 81), and its trio worker builds each connection's
``TCPServer`` itself, from the module global ``hypercorn.trio.run.TCPServer``. ``install``
puts ``CappedTCPServer`` there once per process; each server's cap travels in its own
``Config`` (``config.connection_limiter``), so two servers in one process keep their own.
A connection past the cap waits up to ``QUEUE_SECONDS`` for room, unread, then is closed:
a bar's close can bring a thousand alerts at once, each on its own connection, and one closed
unanswered is an alert lost. The timers in serve.py bound how long a stranger's connection
counts; past the process's file limit, Trio stops accepting and the kernel's backlog queues.
"""

from __future__ import annotations

import logging

import hypercorn.trio.run
import trio
from hypercorn.trio.tcp_server import TCPServer

log = logging.getLogger("moonhook.web")

QUEUE_SECONDS = 2.0  # TradingView gives up on an answer after about 3 s


class CappedTCPServer(TCPServer):
    """Hypercorn's connection handler, run only while its server's limiter has room."""

    async def run(self) -> None:
        limiter: trio.CapacityLimiter | None = getattr(self.config, "connection_limiter", None)
        if limiter is None:
            return await super().run()
        try:
            limiter.acquire_on_behalf_of_nowait(self)
        except trio.WouldBlock:
            with trio.move_on_after(QUEUE_SECONDS) as waited:
                await limiter.acquire_on_behalf_of(self)
            if waited.cancelled_caught:
                log.warning("connection refused: %d open already (server.max_connections) for %g s",
                            limiter.total_tokens, QUEUE_SECONDS)
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
