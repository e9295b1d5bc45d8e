"""Replay's stop-out, as the paper broker's (``engine/adapters/brokers/paper/stopout.py``): while
the margin level is below ``[paper] stop_out_pct``, the position losing most is closed at the
market, with the reason ``stop_out``.

At an alert's price (a quote, on paper) it looks once, after the pending orders. In a bar, after
its stops and targets, it follows the bar's path: the open (a gap: stopped out there), then the
extreme worse for the account. The price passes through every level in between, so a margin
level that falls below the stop-out inside the bar closes at the first price (on the symbol's
digits) where it does, as a stop inside a bar closes at the stop; the other extreme and the close
are better for what is left (equity moves with the price one way), and need no look.
"""

from __future__ import annotations

from typing import Any, Callable

from engine.adapters.brokers.paper.market import Market
from engine.adapters.brokers.paper.prices import Prices
from engine.adapters.brokers.paper.stopout import STOP_OUT, most_losing, under
from engine.app.replay.prices import Bar
from engine.app.replay.records import Position
from engine.domain.instruments import SymbolSpec

Close = Callable[[SymbolSpec, Position, float, str, float], None]   # (spec, position, price, reason, time)


class BarStopOut:
    """The stop-out of replay's book: its market, prices, open positions, account and close."""

    def __init__(self, level: float, market: Market, prices: Prices, positions: list[Position],
                 account: Callable[[], dict[str, Any]], close: Close):
        self._level, self._market, self._prices, self._positions = level, market, prices, positions
        self._account, self._close = account, close

    def look(self, at: float) -> None:
        """Closes the position losing most at its last price, while the account is below the level."""
        if self._level <= 0 or not self._positions:   # at each alert's price: no account to work out
            return
        while under(self._account(), self._level):
            p = most_losing(self._losses())
            if p is None:   # none can be booked: it waits for a price or a rate
                return
            spec = self._market.spec(p.symbol)
            bid, ask = self._market.bid_ask(spec, None)
            self._close(spec, p, bid if p.side == "buy" else ask, STOP_OUT, at)

    def walk(self, spec: SymbolSpec, bar: Bar) -> None:
        """The bar's open, then its worse extreme, as the module says."""
        if self._level <= 0 or not self._positions:
            return
        low, high = self._at(spec, bar.low, bar.time), self._at(spec, bar.high, bar.time)
        if not (under(low, self._level) or under(high, self._level)):   # the open lies between: no lower
            return
        worse = round(bar.low if low["equity"] <= high["equity"] else bar.high, spec.digits)
        price = round(bar.open, spec.digits)
        while True:
            self._quote(spec, price, bar.time)
            self.look(bar.time)
            if price == worse or not self._positions or not under(self._at(spec, worse, bar.time), self._level):
                return
            price = self._crossing(spec, price, worse, bar.time)

    def _crossing(self, spec: SymbolSpec, start: float, end: float, at: float) -> float:
        """The first price on the symbol's digits from ``start`` (not below the level) toward
        ``end`` (below it) where the account is below the level."""
        direction = 1 if end > start else -1
        lo, hi = 0, round(abs(end - start) / spec.point)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if under(self._at(spec, start + direction * mid * spec.point, at), self._level):
                hi = mid
            else:
                lo = mid
        return round(start + direction * hi * spec.point, spec.digits)

    def _losses(self) -> list[tuple[float, int, Position]]:
        """(floating profit, ticket, position) of the positions with a price and a rate to book them."""
        out = []
        for p in self._positions:
            spec = self._market.spec(p.symbol)
            if self._market.tick_value(spec) is not None and self._prices.last(p.symbol) is not None:
                row = {"side": p.side, "price_open": p.price_open, "volume": p.volume}
                out.append((self._market.floating(spec, row), p.ticket, p))
        return out

    def _at(self, spec: SymbolSpec, bid: float, at: float) -> dict[str, Any]:
        """The account with ``bid`` the symbol's price."""
        self._quote(spec, bid, at)
        return self._account()

    def _quote(self, spec: SymbolSpec, bid: float, at: float) -> None:
        bid = round(bid, spec.digits)
        self._prices.record(spec.name, bid, round(bid + self._market.spread(spec), spec.digits), at)
