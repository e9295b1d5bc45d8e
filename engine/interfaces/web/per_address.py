"""``AddressLimit``: at most ``server.max_connections_per_ip`` connections open at once from one
address, so that one address cannot take every one of ``server.max_connections`` and starve the
others (TradingView's among them). capacity.py holds a connection to it before it takes one of
the server's places.

Not held to it: the addresses in ``server.trusted_proxies`` (behind a proxy every connection
comes from it), in ``server.allow_ips`` (TradingView's: a bar's close brings many alerts at
once from each) and 127.0.0.1 and ::1 (a reverse proxy or ``moonhook send`` on this machine).
An IPv6 client's /64 counts as one address: one host is commonly given a whole /64.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import trio

from engine.domain.config import ServerConfig
from engine.interfaces.web.clients import Address, Network, address, host_of, networks, within

LOCAL = networks(("127.0.0.1", "::1"), "loopback")

Key = Address | Network


class AddressLimit:
    """Per-address limiters, each made at its address's first connection and forgotten once
    it has none open or waiting."""

    def __init__(self, limit: int, exempt: tuple[Network, ...]):
        self.limit, self.exempt = limit, exempt
        self._limiters: dict[Key, trio.CapacityLimiter] = {}

    @classmethod
    def of(cls, server: ServerConfig) -> AddressLimit:
        """The limit of ``server``; ValueError for an unreadable allow_ips or trusted_proxies entry."""
        exempt = (*networks(server.trusted_proxies, "server.trusted_proxies"),
                  *networks(server.allow_ips, "server.allow_ips"), *LOCAL)
        return cls(server.max_connections_per_ip, exempt)

    def key(self, peer: str | None) -> Key | None:
        """What the connection from ``peer`` counts against; None: not limited (exempt, or no
        IP address: a Unix socket)."""
        addr = address(peer)
        if addr is None or within(addr, self.exempt):
            return None
        return host_of(addr)

    @contextmanager
    def limiter(self, key: Key) -> Iterator[trio.CapacityLimiter]:
        """The limiter of ``key`` while held; acquire and release it inside."""
        limiter = self._limiters.get(key)
        if limiter is None:
            limiter = self._limiters[key] = trio.CapacityLimiter(self.limit)
        try:
            yield limiter
        finally:
            stats = limiter.statistics()
            if not stats.borrowed_tokens and not stats.tasks_waiting and self._limiters.get(key) is limiter:
                del self._limiters[key]

    def addresses(self) -> int:
        """How many addresses have connections open or waiting (for the tests and a leak's sight)."""
        return len(self._limiters)
