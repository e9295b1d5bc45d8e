"""The connection cap: at most ``server.max_connections`` sockets open at once, and at most
``server.max_connections_per_ip`` of them from one address (``per_address.py``).

Hypercorn has no such setting (its issue 81), and its trio worker builds each connection's
``TCPServer`` itself, from the module global ``hypercorn.trio.run.TCPServer``. ``install``
puts ``CappedTCPServer`` there once per process; each server's cap travels in its own
``Config`` (``config.connection_limiter``), so two servers in one process keep their own.
The addresses in ``server.allow_ips`` (TradingView's) have ``server.max_connections`` places of
their own (``AllowedPlaces``): strangers' connections, from however many addresses, cannot take
them (8 addresses holding 128 idle connections each kept every alert out of the shared 512).
A connection past either cap waits up to ``QUEUE_SECONDS`` for room, unread, then is closed,
counted and told in the log a line a minute at most (``refusals.py``, ``config.refusals``):
a bar's close can bring a thousand alerts at once, each on its own connection, and one closed
unanswered is an alert lost. The timers in serve.py bound how long a stranger's connection
counts; past the process's file limit, Trio stops accepting and the kernel's backlog queues.

One of those timers, ``config.read_timeout``, drops a connection whose peer sends nothing for
that long; a client of an event stream (``GET /api/events``) never sends. ``streaming(scope)``,
held by the stream's body while it is open, exempts that connection, and only it, until the
stream ends.
"""

from __future__ import annotations

import logging
from collections import Counter
from contextlib import contextmanager
from math import inf
from typing import Any, Iterator

import hypercorn.trio.run
import trio
from hypercorn.events import Closed, RawData
from hypercorn.trio.tcp_server import MAX_RECV, TCPServer
from hypercorn.utils import parse_socket_addr

from engine.domain.config import ServerConfig
from engine.interfaces.web.clients import Network, address, networks, within
from engine.interfaces.web.per_address import AddressLimit
from engine.interfaces.web.refusals import Refusals

log = logging.getLogger("moonhook.web")

QUEUE_SECONDS = 2.0  # TradingView gives up on an answer after about 3 s

# The connections serving an open event stream, as (client, server) addresses; a count, as a
# server whose HTTP/2 is left on (``http1.py``) carries several streams on one connection.
_streams: Counter[tuple[Any, Any]] = Counter()


def _key(client: Any, server: Any) -> tuple[Any, Any] | None:
    """The connection's key; None without addresses (a Unix socket: not exempted)."""
    if client is None or server is None:
        return None
    return tuple(client), tuple(server)


@contextmanager
def streaming(scope: dict[str, Any]) -> Iterator[None]:
    """While held, the connection of the ASGI ``scope`` is not dropped for its peer's silence."""
    key = _key(scope.get("client"), scope.get("server"))
    if key is None:
        yield
        return
    _streams[key] += 1
    try:
        yield
    finally:
        _streams[key] -= 1
        if _streams[key] <= 0:
            del _streams[key]


def streams_open() -> int:
    """How many event streams hold their connection open (for the tests and a leak's sight)."""
    return sum(_streams.values())


class AllowedPlaces:
    """The places of the addresses in ``server.allow_ips``, apart from everyone else's: as many
    as ``server.max_connections``. None without allow_ips: then nothing tells TradingView apart."""

    def __init__(self, allowed: tuple[Network, ...], places: int):
        self.allowed = allowed
        self.limiter = trio.CapacityLimiter(places) if allowed else None

    @classmethod
    def of(cls, server: ServerConfig) -> AllowedPlaces:
        """Those of ``server``; ValueError for an unreadable allow_ips entry."""
        return cls(networks(server.allow_ips, "server.allow_ips"), server.max_connections)

    def limiter_for(self, peer: str | None) -> trio.CapacityLimiter | None:
        """The allowed senders' limiter for a connection from ``peer`` among them, else None."""
        return self.limiter if self.limiter is not None and within(address(peer), self.allowed) else None


class CappedTCPServer(TCPServer):
    """Hypercorn's connection handler, run only while its address's limit (``per_address.py``)
    and then its server's limiter (or the allowed senders', ``AllowedPlaces``) have room."""

    async def run(self) -> None:
        peer = _peer(self.stream)
        per_address: AddressLimit | None = getattr(self.config, "address_limit", None)
        key = None if per_address is None else per_address.key(peer)
        if per_address is None or key is None:
            return await self._run_capped(peer)
        with per_address.limiter(key) as own:
            if not await _admitted(own, self):
                self._refused("max_connections_per_ip", str(key),
                              f"{own.total_tokens} open already from {key} (server.max_connections_per_ip)")
                await trio.aclose_forcefully(self.stream)
                return
            try:
                await self._run_capped(peer)
            finally:
                own.release_on_behalf_of(self)

    async def _run_capped(self, peer: str | None) -> None:
        allowed: AllowedPlaces | None = getattr(self.config, "allowed_places", None)
        limiter: trio.CapacityLimiter | None = ((allowed and allowed.limiter_for(peer))
                                                or getattr(self.config, "connection_limiter", None))
        if limiter is None:
            return await super().run()
        if not await _admitted(limiter, self):
            self._refused("max_connections", None, f"{limiter.total_tokens} open already (server.max_connections)")
            await trio.aclose_forcefully(self.stream)
            return
        try:
            await super().run()
        finally:
            limiter.release_on_behalf_of(self)

    def _refused(self, limit: str, key: str | None, why: str) -> None:
        refusals: Refusals = self.config.refusals
        refusals.refused(limit, key, f"{why} for {QUEUE_SECONDS:g} s")

    async def _read_data(self) -> None:
        """Hypercorn 0.18.0's ``TCPServer._read_data``, but a read timeout on a connection that
        serves an open event stream goes on waiting, and a connection whose reading ended (its
        peer closed it) is let go at once rather than when its keep-alive timer runs out.
        Cancelling the wait loses nothing: a plain socket's receive is cancel-safe (a TLS
        stream's is not: it keeps Hypercorn's timeout)."""
        socket = getattr(self.stream, "socket", None)  # None: a TLS stream, never exempted
        key = None if socket is None else _key(parse_socket_addr(socket.family, socket.getpeername()),
                                                parse_socket_addr(socket.family, socket.getsockname()))
        while True:
            try:
                with trio.fail_after(self.config.read_timeout or inf):
                    data = await self.stream.receive_some(MAX_RECV)
            except trio.TooSlowError:
                if key is not None and key in _streams:
                    continue
                break
            except (trio.ClosedResourceError, trio.BrokenResourceError):
                break
            else:
                await self.protocol.handle(RawData(bytes(data)))
                if data == b"":
                    break
        await self.protocol.handle(Closed())
        # Hypercorn's idle timer would hold the connection, and its places, until it runs out.
        await self.idle_task.stop()


async def _admitted(limiter: trio.CapacityLimiter, borrower: object) -> bool:
    """Whether ``borrower`` got a place of ``limiter``, waiting up to QUEUE_SECONDS for one."""
    try:
        limiter.acquire_on_behalf_of_nowait(borrower)
        return True
    except trio.WouldBlock:
        with trio.move_on_after(QUEUE_SECONDS):
            await limiter.acquire_on_behalf_of(borrower)
            return True
    return False


def _peer(stream: Any) -> str | None:
    """The address of the connection's peer, None when it cannot be told (gone already)."""
    sock = getattr(stream, "socket", None) or getattr(getattr(stream, "transport_stream", None), "socket", None)
    try:
        peer = None if sock is None else parse_socket_addr(sock.family, sock.getpeername())
    except OSError:
        return None
    return None if peer is None else str(peer[0])


def install() -> None:
    """Makes Hypercorn's trio worker build ``CappedTCPServer``s (idempotent)."""
    if hypercorn.trio.run.TCPServer is not CappedTCPServer:
        hypercorn.trio.run.TCPServer = CappedTCPServer
