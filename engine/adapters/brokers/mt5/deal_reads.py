"""The deal history as ``Broker.history`` gives it, read from the terminal: a range of time, or
the deals of some positions (``Broker.position_deals``), so that a trade closed today that opened
months ago is made of its own deals, not of the whole history read through the link. The whole
history (the Trades page's, after every fill) is read once, then only its last days, and the
page's sums are kept as its deals come in (``Whole``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol, cast

import trio

from engine.adapters.brokers.base import Openers
from engine.adapters.brokers.mt5.clock import ServerClock
from engine.adapters.brokers.mt5.rows import DealRows, deal_order, deal_rows
from engine.domain.config.mt5 import MT5Config
from engine.domain.trade_fold import TradeFold, fold
from engine.domain.trade_pages import TradeKey

DAY = 86_400
WHOLE_EVERY = 3_600.0  # seconds after which the whole history is read again: a terminal that had not all of it


@dataclass
class Whole:
    """The whole history as last read, by deal ticket, the terminal's own rows, and the server time
    a read starts from next: a day before the last read began, as a deal's time may lag our clock.
    A deal once made stays as it was, so a read of the days since gives the history whole. Its rows
    (``rows.deal_rows``) and the Trades page's sums of them (``TradeFold``) are kept too, the deals
    read since folded in; a deal older than the last folded (the terminal had it late) folds the
    history again from the start. Of one account: another's (a login by hand) reads it again from
    the start, as does a read WHOLE_EVERY seconds after the last whole one (a deal more than a day
    late is counted then)."""

    account: str = ""
    deals: dict[int, Any] = field(default_factory=dict)
    since: float | None = None  # server time; None: nothing read yet
    read_at: float = 0.0        # our clock, when it was last read whole
    made: tuple[Any, ...] = ()  # the (config, server clock) the rows were made with: another makes them again
    fold: TradeFold = field(default_factory=TradeFold)
    last: tuple[int, int] | None = None  # ``deal_order`` of the last deal folded
    rows: DealRows | None = None
    lock: trio.Lock = field(default_factory=trio.Lock)  # one read at a time: each folds what it read


class Reader(Protocol):
    """What the reads need of the broker (MT5Broker is one)."""

    config: MT5Config
    server_clock: ServerClock
    whole: Whole

    def clock(self) -> float: ...

    async def _read(self, fn: str, *args: Any, none_ok: bool = False, **kwargs: Any) -> Any: ...


async def history(b: Reader, since: float | None, account: str = "") -> list[dict[str, Any]]:
    """``history_deals_get(from, to)``: the trading deals and commission charges (balance and
    credit entries left out; ``rows.deal_rows``) from ``since`` (None: all, the last days of it
    read on ``Whole``, of ``account``) to a day ahead of now, as the terminal's clock may run ahead of ours."""
    server = b.server_clock
    if since:
        deals = await b._read("history_deals_get", server.server(since), server.server(b.clock()) + DAY)
        return deal_rows(deals, since, b.config, server)
    async with b.whole.lock:
        return list((await _whole(b, account)).rows)


async def summary(b: Reader, account: str, limit: int, before: TradeKey | None,
                  openers: Openers | None) -> dict[str, Any]:
    """``Broker.trade_summary`` of the whole history (read as ``history`` reads it) of ``account``:
    the openers of the positions whose opener is not known yet asked of ``openers``."""
    async with b.whole.lock:
        fold = await _whole(b, account)
        unknown = fold.unknown()
        found = await openers(unknown) if openers is not None and unknown else {}
        return fold.summary(limit, before, found)


async def _whole(b: Reader, account: str) -> TradeFold:
    """The whole history, its last days read, the deals new since folded. The caller holds ``Whole.lock``."""
    at, whole, server = b.clock(), b.whole, b.server_clock
    now = server.server(at)
    kept = whole.account == account and whole.since is not None and at - whole.read_at < WHOLE_EVERY
    read = await b._read("history_deals_get", whole.since if kept else 0, now + DAY)
    if not kept:
        whole.account, whole.deals, whole.read_at, whole.made = account, {}, at, ()
    new = sorted((d for d in read if d["ticket"] not in whole.deals), key=deal_order)
    whole.deals.update((d["ticket"], d) for d in new)
    whole.since = now - DAY
    late = bool(new) and whole.last is not None and deal_order(new[0]) < whole.last   # older than one folded
    rows, whole.rows = whole.rows, None   # none kept while a fold is under way: one that failed folds all again
    if whole.made != (b.config, server) or rows is None or late:
        deals = sorted(whole.deals.values(), key=deal_order)
        # A year's deals made into rows and folded: seconds of Python, off the loop.
        rows, whole.fold = await trio.to_thread.run_sync(_folded, deals, b.config, server)
        whole.made, whole.last = (b.config, server), deal_order(deals[-1]) if deals else None
    else:
        for deal in new:
            for row in rows.add(deal):
                whole.fold.add(row)
        whole.last = deal_order(new[-1]) if new else whole.last
    whole.rows = rows
    return whole.fold


def _folded(deals: list[Any], config: MT5Config, clock: ServerClock) -> tuple[DealRows, TradeFold]:
    made = DealRows(config, clock)
    return made, fold(row for d in deals for row in made.add(d))


async def of_positions(b: Reader, positions: Iterable[int]) -> list[dict[str, Any]]:
    """``history_deals_get(position=)`` of each of ``positions``: their deals, oldest first, as
    ``history`` gives them (a netting account's reversal is made of the position's deals before it)."""
    found: dict[int, Any] = {}
    for position in sorted(set(positions)):
        for deal in await b._read("history_deals_get", position=position, none_ok=True) or ():
            found[deal["ticket"]] = deal
    return deal_rows(list(found.values()), None, b.config, b.server_clock)


class DealReads:
    """The broker's reads of the deal history (MT5Broker's): ``Broker.history``, ``position_deals``
    and ``trade_summary``, of the account ``account_key`` names."""

    account_key: str

    async def history(self, since: float | None = None) -> list[dict[str, Any]]:
        return await history(cast(Reader, self), since, self.account_key)  # a range of the terminal's history

    async def position_deals(self, positions: Iterable[int]) -> list[dict[str, Any]] | None:
        return await of_positions(cast(Reader, self), positions)

    async def trade_summary(self, limit: int, before: TradeKey | None = None,
                            openers: Openers | None = None) -> dict[str, Any] | None:
        return await summary(cast(Reader, self), self.account_key, limit, before, openers)
