"""The facade's reads of the trades (``Operations.trades``, ``closed_since`` and the overview's
closed trades of today), from the broker: its deal history, or where it can sum the history
up itself (``Broker.trade_summary``: the paper books, in SQL; MetaTrader 5's, kept as its deals
come in), that summary; what the trades are made of is engine/app/trades.py."""

from __future__ import annotations

from typing import Any

import trio

from engine.adapters.storage.activity import OrderActivity
from engine.app import overview as _overview, trades as _trades
from engine.core import Engine
from engine.domain.times import day_start
from engine.domain.trade_pages import TradeKey

LOOKBACK = 31 * 86_400  # how long before a time a trade closed since then is looked for its opening first
TODAY_EVERY = 60.0       # the overview's closed trades are read again after a deal, or after this many seconds


class TradeReads:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.today: tuple[tuple[int, float], float, dict[str, Any]] | None = None  # (deals told, day), read at, view

    async def trades(self, limit: int, since: float | None, before: TradeKey | None) -> dict[str, Any]:
        """See ``Operations.trades``. Raises BrokerError when the broker cannot be asked."""
        summary = await self.engine.broker.trade_summary(limit, before, self._openers) if since is None else None
        if summary is None:
            deals, openers = await self._deals(since)
        else:
            openers = await self._openers(summary["page"])
        try:
            balance = (await self.engine.broker.account()).get("balance")
        except Exception:  # the curve is then in profit only
            balance = None
        if summary is not None:
            return await trio.to_thread.run_sync(_trades.summary_view, summary, openers, balance)
        # The whole history (a year's deals: a second or more of Python), off the loop: the page asks after fills.
        return await trio.to_thread.run_sync(_trades.trades_view, deals, openers, balance, limit, before)

    async def closed(self, days: int | None, limit: int) -> dict[str, Any]:
        """See ``Operations.closed_since``, without the currency."""
        now = self.engine.clock()
        since = day_start(now, self.engine.config.day_zone) if days is None else now - days * _overview.DAY
        found = await self.engine.broker.closed_deals(since)
        if found is not None:
            deals, openers = found, await self._openers({d["position"] for d in found})
        else:
            deals, openers = await self._deals(since - LOOKBACK)
            held = _trades.unopened(deals, since)  # positions held longer: read apart, else in the whole history
            theirs = await self.engine.broker.position_deals(held) if held else None
            if theirs is not None:
                deals = _trades.with_positions(deals, theirs)
                openers = await self._openers({d["position"] for d in deals})
            if held and (theirs is None or _trades.unopened(deals, since)):
                deals, openers = await self._deals(None)
        # A month of deals made into trades: off the loop, as the overview asks after each deal.
        return await trio.to_thread.run_sync(_trades.closed_since, deals, openers, since, limit)

    async def closed_today(self, now: float) -> dict[str, Any]:
        """The overview's trades closed today and their net ({} when the broker cannot say).
        The dashboard asks on every alert, and on MetaTrader 5 a read is a month of deal history
        (and the deals of each position held longer, ``Broker.position_deals``) through the link
        orders go through: it is read again only after a deal was told, on a
        new day, or after TODAY_EVERY seconds (a position closed by hand is no deal of ours)."""
        key = (self.engine.deals_told, day_start(now, self.engine.config.day_zone))
        if self.today is None or self.today[0] != key or now - self.today[1] >= TODAY_EVERY:
            try:
                closed = await self.closed(None, 0)  # the overview has the account's currency already
            except Exception:  # the broker cannot be asked now: the counts stand alone
                return {}
            self.today = (key, now, {"trades_closed": closed["closed"], "net": closed["net"]})
        return self.today[2]

    async def _deals(self, since: float | None) -> tuple[list[dict[str, Any]], dict[int, str]]:
        """The broker's deals since ``since`` and the plugin that opened each of their positions."""
        deals = await self.engine.broker.history(since)
        return deals, await self._openers({d["position"] for d in deals})

    async def _openers(self, positions: Any) -> dict[int, str]:
        return await trio.to_thread.run_sync(OrderActivity(self.engine.database).openers, positions)
