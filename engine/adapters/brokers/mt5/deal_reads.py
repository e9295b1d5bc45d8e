"""The deal history as ``Broker.history`` gives it, read from the terminal: a range of time, or
the deals of some positions (``Broker.position_deals``), so that a trade closed today that opened
months ago is made of its own deals, not of the whole history read through the link."""

from __future__ import annotations

from typing import Any, Iterable, Protocol

from engine.adapters.brokers.mt5.clock import ServerClock
from engine.adapters.brokers.mt5.rows import deal_rows
from engine.domain.config.mt5 import MT5Config

DAY = 86_400


class Reader(Protocol):
    """What the reads need of the broker (MT5Broker is one)."""

    config: MT5Config
    server_clock: ServerClock

    def clock(self) -> float: ...

    async def _read(self, fn: str, *args: Any, none_ok: bool = False, **kwargs: Any) -> Any: ...


async def history(b: Reader, since: float | None) -> list[dict[str, Any]]:
    """``history_deals_get(from, to)``: the trading deals and commission charges (balance and
    credit entries left out; ``rows.deal_rows``) from ``since`` (None: all) to a day ahead of now,
    as the terminal's clock may run ahead of ours."""
    server = b.server_clock
    deals = await b._read("history_deals_get", server.server(since) if since else 0, server.server(b.clock()) + DAY)
    return deal_rows(deals, since, b.config, server)


async def of_positions(b: Reader, positions: Iterable[int]) -> list[dict[str, Any]]:
    """``history_deals_get(position=)`` of each of ``positions``: their deals, oldest first, as
    ``history`` gives them (a netting account's reversal is made of the position's deals before it)."""
    found: dict[int, Any] = {}
    for position in sorted(set(positions)):
        for deal in await b._read("history_deals_get", position=position, none_ok=True) or ():
            found[deal["ticket"]] = deal
    return deal_rows(list(found.values()), None, b.config, b.server_clock)
