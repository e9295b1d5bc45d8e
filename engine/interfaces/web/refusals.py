"""``Refusals``: the connections closed unread past ``server.max_connections_per_ip`` or
``server.max_connections`` (``capacity.py``), counted for ``/metrics`` and told in the log
without flooding it: a flood from one address is thousands of refusals a second, and a line
each filled the disk (or journald's quota) as fast. The requests refused one by one (a wrong
webhook secret or bearer token, a login, a Host not allowed: ``request``) are told the same way,
by their kind and address, the summary quoting the last one's line.

The first refusal of a key (an address, or the server's cap) is logged; those that follow are
counted, and told in at most one line a key each ``SUMMARY_SECONDS`` ("refused 950 more
connections from 203.0.113.9 in the last 60 s"), by the next refusal of that key once the
interval is over, or by ``summarize``'s look every interval (and at the server's stop). A key
quiet for a whole interval is forgotten: its next refusal is logged as a first again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from time import monotonic
from typing import Any, Callable

import trio
from prometheus_client import CollectorRegistry, Counter, generate_latest

log = logging.getLogger("moonhook.web")

SUMMARY_SECONDS = 60.0
# Keys told apart; past it, refusals from further addresses are told together (a flood from
# many addresses must not grow the table without bound either).
MAX_KEYS = 1024
OTHERS = "other addresses"
LIMITS = ("max_connections_per_ip", "max_connections")
EXTENSION = "moonhook.refusals"  # where create_app keeps the app's, for serve to find


@dataclass
class _Window:
    since: float
    limit: str     # a connection limit, or a request's kind (``request``)
    more: int = 0  # refusals since ``since`` not logged yet
    last: str = ""  # a request's: the line of the last one counted
    client: str = ""


class Refusals:
    """One server's refused connections: their count by limit (``registry``, rendered into
    ``/metrics``) and their log lines. ``clock``: seconds, monotonic (a test's own)."""

    def __init__(self, clock: Callable[[], float] = monotonic, interval: float = SUMMARY_SECONDS):
        self.clock, self.interval = clock, interval
        self._windows: dict[str, _Window] = {}
        self.registry = CollectorRegistry()
        counter = Counter("moonhook_connections_refused", "Connections closed unread: past "
                          "server.max_connections_per_ip from one address, or past server.max_connections.",
                          ["limit"], registry=self.registry)
        self._counts = {limit: counter.labels(limit) for limit in LIMITS}

    def refused(self, limit: str, key: str | None, why: str) -> None:
        """A connection closed unread past ``limit`` ("max_connections_per_ip", from address
        ``key``; "max_connections", ``key`` None); ``why`` says so in the first line."""
        self._counts[limit].inc()
        now = self.clock()
        if key is None:
            name = limit
        else:
            name = key if key in self._windows or len(self._windows) < MAX_KEYS else OTHERS
        window = self._windows.get(name)
        if window is None:
            self._windows[name] = _Window(now, limit)
            log.warning("connection refused: %s; more are counted, and told at most once in %g s", why, self.interval)
            return
        window.more += 1
        if now - window.since >= self.interval:
            self._tell(name, window, now)

    def request(self, kind: str, client: str | None, line: str, fields: dict[str, Any] | None = None) -> None:
        """A request refused (``kind``: "webhook (401)", "login", ...) from ``client``: ``line``
        logged for the first of its kind and address in an interval, the rest counted and told in
        one line, which quotes the last's (a stranger's flood of wrong secrets was a line each)."""
        now = self.clock()
        client = client or "?"
        name = f"{kind} {client}"
        if name not in self._windows and len(self._windows) >= MAX_KEYS:
            name, client = f"{kind} {OTHERS}", OTHERS
        window = self._windows.get(name)
        if window is None:
            self._windows[name] = _Window(now, kind, client=client)
            log.warning("%s", line, extra={"fields": fields} if fields else None)
            return
        window.more += 1
        window.last = line
        if now - window.since >= self.interval:
            self._tell(name, window, now)

    def flush(self, everything: bool = False) -> None:
        """Tells the counts of the windows over (``everything``: of all, at the server's stop)
        and forgets the keys quiet for a whole interval."""
        now = self.clock()
        for name, window in list(self._windows.items()):
            if everything or now - window.since >= self.interval:
                if window.more:
                    self._tell(name, window, now)
                else:
                    del self._windows[name]

    async def summarize(self, shutdown: trio.Event) -> None:
        """Flushes every interval until ``shutdown``, then tells what is left."""
        while not shutdown.is_set():
            with trio.move_on_after(self.interval):
                await shutdown.wait()
            self.flush(everything=shutdown.is_set())

    def exposition(self) -> bytes:
        """The counts in Prometheus' text format, for ``/metrics``."""
        return generate_latest(self.registry)

    def _tell(self, name: str, window: _Window, now: float) -> None:
        seconds = round(now - window.since)
        if window.limit not in LIMITS:
            log.warning("%s refused %d more times from %s in the last %g s; the last: %s", window.limit,
                        window.more, window.client, seconds, window.last,
                        extra={"fields": {"client": window.client, "outcome": "refused", "more": window.more}})
        else:
            where = "" if name == window.limit else f" from {name}"
            log.warning("connections refused: %d more%s in the last %g s (server.%s)",
                        window.more, where, seconds, window.limit)
        window.since, window.more = now, 0


def refusals_of(app: Any) -> Refusals:
    """The ``Refusals`` ``create_app`` made for ``app`` (a new one for an app without)."""
    extensions = getattr(app, "extensions", None)
    if extensions is None:
        return Refusals()
    return extensions.setdefault(EXTENSION, Refusals())
