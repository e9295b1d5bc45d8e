"""Each plugin's magic number at the account: given at its first order, past those another
engine or an expert uses there; and, after a restore from a backup, taken back off the account.

A file restored from a backup lacks the numbers given after it: that plugin's positions would
show as opened outside moonhook, an alert's close would leave them, and its next order would be
given a new number, so they would stay foreign for good. At each connection (and once the
plugins are loaded), a number the book does not know is the plugin's whose client ids the
comments of its entries name (``orders.tag_for``: a tag is matched against the client ids
``Broker.entry_ids`` gives for its alert), written into the book as if given. Only a number
whose every entry with an alert's tag names one plugin loaded now, which has no number, and
only by alerts after the journal's last before this start and before this start's first look
at the account: an expert's rows name no plugin, and another moonhook project's, whose plugin
may bear the same name, trade before the backup's last alert or after this start as well.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

from engine.adapters.brokers.mt5.book import Book
from engine.adapters.brokers.mt5.found import alert_of
from engine.adapters.brokers.mt5.history import History
from engine.adapters.brokers.mt5.orders import tag_for
from engine.domain.orders import BrokerError

log = logging.getLogger("moonhook.mt5")

ENGINE = "engine"
NOT_OURS = ""  # what a row names that no plugin loaded now placed


class Terminal(Protocol):
    """What Magics needs of the broker that owns it (MT5Broker is one)."""

    book: Book
    deals: History
    alerts_seen: int
    alerts_journaled: int
    entry_ids: Callable[[int], list[tuple[str, str]]] | None

    async def query(self, fn: str, *args: Any, deadline: float | None = None, **kwargs: Any) -> Any: ...

    async def write(self, fn: Callable[..., Any], *args: Any) -> Any: ...


class Magics:
    def __init__(self, broker: Terminal):
        self._b = broker
        self._taken: frozenset[int] = frozenset()  # in the deal history at connection
        self._entries: list[dict[str, Any]] = []   # the account's entries at connection (``History.seen``)
        self._before: int | None = None  # the highest alert a tag named at this start's first look

    async def read(self, days: int) -> None:
        """At each connection: the numbers in use in the last ``days`` of deals, the highest alert
        a tag names (``Broker.alerts_seen``), and the numbers a restored file lacks, taken back."""
        self._taken, self._b.alerts_seen, self._entries = await self._b.deals.seen(days)
        if self._before is None:
            self._before = self._b.alerts_seen
        await self.adopt()

    def new_account(self) -> None:
        """The book was of another account (``accounts.py``): none of its numbers is this one's to
        take back, and a number here whose comments name this journal's alerts is another project's."""
        self._before = 0

    async def number(self, plugin: str) -> int:
        """``plugin``'s magic number; at its first order, the numbers at the account now and in the
        deals read at connection are taken."""
        if self._b.book.has_magic(plugin):
            return self._b.book.magic(plugin)
        rows = []
        for fn in ("positions_get", "orders_get"):
            found = await self._b.query(fn)
            if found is None:
                raise BrokerError(f"MetaTrader 5 {fn} gave nothing")
            rows.extend(found)
        return await self._b.write(self._b.book.magic, plugin, self._taken | {row.get("magic") or 0 for row in rows})

    async def adopt(self) -> None:
        """Writes into the book each number ``owners`` finds a plugin for, once the plugins are
        loaded (``Broker.entry_ids``) and the account was read."""
        ids, book = self._b.entry_ids, self._b.book
        if ids is None or self._before is None:
            return
        for magic, plugin in owners(self._entries, book, ids, self._b.alerts_journaled, self._before).items():
            if await self._b.write(book.adopt, plugin, magic):
                log.warning("MetaTrader 5: magic number %d, not in the book (restored from a backup?), is plugin "
                            "%s's by its orders' comments: taken back as its own", magic, plugin)


def owners(entries: list[dict[str, Any]], book: Book, ids: Callable[[int], list[tuple[str, str]]], after: int,
           upto: int) -> dict[int, str]:
    """The magic numbers of ``entries`` the book does not know, each with the one plugin, without a
    number in the book, whose client ids the tags of its entries name, all of alerts in (``after``,
    ``upto``]; a number whose entries name no such plugin, or several, or one of several numbers,
    is left out. Entries without an alert's tag (an expert's, a timer's order) tell nothing."""
    named: dict[int, set[str]] = {}
    tags: dict[int, dict[str, str]] = {}   # alert -> {tag: plugin}, made once
    for row in entries:
        magic, comment, alert = row.get("magic") or 0, str(row.get("comment") or ""), alert_of(row.get("comment"))
        if not magic or book.plugin_of(magic) is not None or alert is None:
            continue
        if alert not in tags:
            tags[alert] = {tag_for(cid, alert): plugin for plugin, cid in ids(alert)} if after < alert <= upto else {}
        named.setdefault(magic, set()).add(tags[alert].get(comment, NOT_OURS))
    found = {magic: next(iter(plugins)) for magic, plugins in named.items() if len(plugins) == 1}
    found = {magic: plugin for magic, plugin in found.items() if plugin != NOT_OURS}
    return {magic: plugin for magic, plugin in found.items()
            if list(found.values()).count(plugin) == 1 and not book.has_magic(plugin)}
