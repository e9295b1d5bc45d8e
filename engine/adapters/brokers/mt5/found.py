"""Where a send went, found at the broker by the tag it carries in its comment (``mh:a<alert>:...``):
its position, its pending order, its deal, or its order ended in the history.

A ``Window`` reads each of those four once, however many sends are looked for in it: the poll's
look at every entry whose answer was lost (``late.py``) makes one window for all of them, not four
reads each. Only moonhook's rows count (``moonhooks``): a magic number it gave, or its tag on a row
without one; positions opened by hand are shown, never acted on.
"""

from __future__ import annotations

import re
from typing import Any

from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.book import Book
from engine.adapters.brokers.mt5.clock import ServerClock
from engine.adapters.brokers.mt5.terminal import Terminal

DAY = 86_400
# How far this machine's clock may run ahead of the trade server's: a send's position, order or deal
# made "since it was written down" is looked for from that much before (a few seconds of drift are
# common; an old alert's position under the same tag, after a restore from a backup, is older).
CLOCKS_APART = 10
# The most a server's wall clock is behind UTC (UTC-12, and as much ahead as UTC+14): while its clock
# is unknown its times are compared as written, so a send is looked for from that much before.
UNKNOWN_CLOCK = 14 * 3_600
_ALERT = re.compile(r"^mh:a(\d+):")
# What a window reads, each once: the function and the time field a row was made at (None: a deal,
# read from the window's start).
_READS = (("positions_get", "time"), ("orders_get", "time_setup"), ("history_deals_get", None),
          ("history_orders_get", "time_setup"))


def moonhooks(book: Book, row: dict[str, Any]) -> bool:
    """Whether a deal or order of MetaTrader's is this engine's: a magic number it gave, or, on
    a row without one, a tag it sent. Not a tag alone: another moonhook on the same account
    tags its alert 1 as this one does, under magic numbers of its own."""
    magic = row.get("magic") or 0
    if magic:
        return book.plugin_of(magic) is not None
    comment = str(row.get("comment") or "")
    return comment.startswith("mh:") and book.send(comment) is not None


def alert_of(comment: Any) -> int | None:
    """The alert id a tag ``mh:a<alert>:...`` names, if any."""
    found = _ALERT.match(str(comment or ""))
    return int(found[1]) if found else None


def ended(order: dict[str, Any]) -> str | None:
    """How a market order of the history ended with nothing filled, no deal made of it (the trade
    server rejected it, or cancelled a FOK or IOC order nothing filled), or None: it filled, or it is
    a pending order, whose placing was done whatever ended it since."""
    dropped = c.DROPPED_STATES.get(order.get("state"))
    if c.ORDER_KINDS.get(order.get("type"), ("", "pending"))[1] is not None or dropped is None:
        return None
    if (order.get("volume_current") or 0.0) < order["volume_initial"] - 1e-9:   # part of it filled
        return None
    return f"{dropped[0]} by the trade server, nothing filled (order {order['ticket']}, MetaTrader order state " \
           f"{order['state']})"


def start(server: ServerClock, since: float) -> int:
    """The server's time a send written down at ``since`` (this machine's clock) is looked for from:
    less CLOCKS_APART (the trade server's clock may be behind this machine's), less UNKNOWN_CLOCK
    while the server's clock is unknown."""
    return int(server.server(since)) - 1 - (CLOCKS_APART if server.known else UNKNOWN_CLOCK)


class Window:
    """MetaTrader's positions and pending orders, and its history's deals and orders made since
    ``since`` (this machine's clock: the earliest send looked for in it), each read at the first
    ``find`` that needs it and kept. Reads raise Unknown if MetaTrader cannot be asked."""

    def __init__(self, b: Terminal, since: float):
        self._b, self._since = b, since
        self._rows: dict[str, tuple[dict[str, Any], ...]] = {}

    async def _read(self, fn: str) -> tuple[dict[str, Any], ...]:
        if fn not in self._rows:
            server, now = self._b.server_clock, self._b.server_clock.server(self._b.clock())
            span = {"history_deals_get": (start(server, self._since) - 1, now + DAY),
                    "history_orders_get": (server.server(self._since) - DAY, now + DAY)}.get(fn, ())
            self._rows[fn] = tuple(await self._b.query(fn, *span) or ())
        return self._rows[fn]

    async def open(self, ticket: int) -> bool:
        """Whether position ``ticket`` is open, as the window's read of the positions has it."""
        return any(p["ticket"] == ticket for p in await self._read("positions_get"))

    async def find(self, tag: str, since: float, magic: int | None = None,
                   ours: bool = False) -> dict[str, Any] | None:
        """Where a send tagged ``tag`` (and numbered ``magic``, or with ``ours`` any number this
        book gave: another engine's alert of the same number carries the same tag) went: its
        position, pending order or deal, or its order ended in the history, or None. Only what was
        made since ``since``, when the send was written down (``start``): restored from a backup
        while MetaTrader could not be reached, the journal numbers an alert before ``seen`` is
        read, maybe as an old alert that left a position under the same tag."""
        after = start(self._b.server_clock, since)

        def sent(row: dict[str, Any], made: str | None) -> bool:
            at = (row.get(made) or 0) if made is not None else row["time"] + 1
            return (row.get("comment") == tag and (magic is None or row.get("magic") == magic)
                    and (not ours or moonhooks(self._b.book, row)) and at >= after)

        for fn, made in _READS:
            for row in await self._read(fn):
                if sent(row, made):
                    return _where(fn, row)
        return None


def _where(fn: str, row: dict[str, Any]) -> dict[str, Any]:
    """What ``find`` answers for the row ``row`` of ``fn``."""
    if fn == "history_deals_get":
        return {"ticket": row["position_id"], "price": row["price"], "volume": row["volume"], "deal": row["ticket"]}
    if fn == "history_orders_get":
        return {"ticket": row["ticket"], "price": row.get("price_open"), "volume": row.get("volume_initial"),
                "ended": ended(row)}
    return {"ticket": row["ticket"], "price": row.get("price_open"),
            "volume": row.get("volume") or row.get("volume_current")}


async def find(b: Terminal, tag: str, since: float, magic: int | None = None,
               ours: bool = False) -> dict[str, Any] | None:
    """``Window.find`` for one send: only what it needs is read (its position found, nothing more)."""
    return await Window(b, since).find(tag, since, magic, ours)
