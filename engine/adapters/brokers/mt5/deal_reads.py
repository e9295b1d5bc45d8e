"""The deal history as ``Broker.history`` gives it, read from the terminal: a range of time, or
the deals of some positions (``Broker.position_deals``), so that a trade closed today that opened
months ago is made of its own deals, not of the whole history read through the link. The whole
history (the Trades page's, after every fill) is read once, then only its last days (``Whole``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Protocol

from engine.adapters.brokers.mt5.clock import ServerClock
from engine.adapters.brokers.mt5.rows import deal_rows
from engine.domain.config.mt5 import MT5Config

DAY = 86_400
WHOLE_EVERY = 3_600.0  # seconds after which the whole history is read again: a terminal that had not all of it


@dataclass
class Whole:
    """The whole history as last read, by deal ticket, the terminal's own rows (a reversal is made
    two of them again at each read, from the position's deals before it), and the server time a
    read starts from next: a day before the last read began, as a deal's time may lag our clock.
    A deal once made stays as it was, so a read of the days since gives the history whole. Of one
    account: another's (a login by hand) reads it again from the start, as does a read WHOLE_EVERY
    seconds after the last whole one."""

    account: str = ""
    deals: dict[int, Any] = field(default_factory=dict)
    since: float | None = None  # server time; None: nothing read yet
    read_at: float = 0.0        # our clock, when it was last read whole


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
    at, whole = b.clock(), b.whole
    now = server.server(at)
    kept = whole.account == account and whole.since is not None and at - whole.read_at < WHOLE_EVERY
    start = whole.since if kept else 0
    read = await b._read("history_deals_get", start, now + DAY)
    if not kept:
        b.whole = whole = Whole(account, read_at=at)
    whole.deals.update((d["ticket"], d) for d in read)
    whole.since = now - DAY  # reads side by side: each merged all it read, and the later asks from later
    return deal_rows(list(whole.deals.values()), None, b.config, server)


async def of_positions(b: Reader, positions: Iterable[int]) -> list[dict[str, Any]]:
    """``history_deals_get(position=)`` of each of ``positions``: their deals, oldest first, as
    ``history`` gives them (a netting account's reversal is made of the position's deals before it)."""
    found: dict[int, Any] = {}
    for position in sorted(set(positions)):
        for deal in await b._read("history_deals_get", position=position, none_ok=True) or ():
            found[deal["ticket"]] = deal
    return deal_rows(list(found.values()), None, b.config, b.server_clock)
