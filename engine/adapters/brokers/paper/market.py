"""The paper market as a request meets it: the symbols it trades, the bid and ask a request
gets (its own price as the bid and the spread above it, else the last quote), and what a
position is worth in the account currency (tick value, floating profit, margin, commission).

Money is converted from a symbol's quote currency at the last mid price of the pair that
links them; without one, what needs a rate is refused (``Refused``) or left out.
"""

from __future__ import annotations

from typing import Any, Mapping

from engine.adapters.brokers.paper.margin import Leg, charged, with_entry
from engine.adapters.brokers.paper.prices import Prices
from engine.adapters.brokers.paper.rules import cents, price_of, profit_of, row_of, stop_of, volume_of, waits_below
from engine.domain.config.paper import PaperConfig
from engine.domain.instruments import SymbolSpec
from engine.domain.orders import PENDING_TYPES, OrderRequest
from engine.domain.rules import (Refused, check_level, check_stops, in_price_range, is_number, measured_stops,
                                 position_price, side_of, ticket_of)
from engine.domain.words import amount


class Market:
    def __init__(self, table: dict[str, SymbolSpec], prices: Prices, config: PaperConfig, currency: str):
        self._table, self._prices, self._config = table, prices, config
        self.currency = currency

    def spec(self, symbol: Any) -> SymbolSpec:
        """The symbol's specification; Refused for one the market does not trade."""
        spec = self._table.get(symbol) if isinstance(symbol, str) else None
        if spec is None:
            raise Refused(f"unknown symbol {symbol}" if symbol else "symbol: required")
        return spec

    def spread(self, spec: SymbolSpec) -> float:
        return self._config.spreads.get(spec.name, self._config.spread_points) * spec.point

    def commission(self, volume: float) -> float:
        return cents(-self._config.commission_per_lot * volume)   # negative, as MT5 books it

    def round_trip(self) -> float:
        """What a lot pays to open and close (a deal each), as sizing by risk counts it."""
        return 2 * self._config.commission_per_lot

    def at_market(self, spec: SymbolSpec, given: Any) -> tuple[float, float]:
        """The bid and ask a market order or a close fills at: the last quote (an alert's price is quoted
        before its orders); ``given``, the request's price (checked all the same), only before any quote:
        one an on_order change or a late alert gives is not the market's."""
        own = None if given is None else self.bid_ask(spec, given)
        return self._prices.last(spec.name) or own or self.bid_ask(spec, None)

    def bid_ask(self, spec: SymbolSpec, given: Any) -> tuple[float, float]:
        """The request's price as the bid (the ask a spread above it), else the last quote."""
        if given is not None:
            bid = price_of(spec, given)
            return bid, round(bid + self.spread(spec), spec.digits)
        last = self._prices.last(spec.name)
        if last is None:
            raise Refused(f"no price for {spec.name}: send the alert's price or a quote first")
        return last

    def quoted(self, spec: SymbolSpec | None, price: Any) -> tuple[float, float] | None:
        """The bid and ask a quote of ``price`` makes (an unknown symbol's: the price twice, a
        rate); None for one that is no price (not a positive number, 0 on the grid, or past
        MAX_PRICE; a rate below its inverse, which converts as one past it): ignored."""
        if not is_number(price) or (spec is None and not in_price_range(price)):
            return None
        try:
            return self.bid_ask(spec, price) if spec else (price, price)
        except Refused:
            return None

    def pending(self, r: OrderRequest) -> tuple[SymbolSpec, str, float, float, float | None, float | None]:
        """A pending order's symbol, side, price, volume, sl and tp, checked (its type, its
        stops, its side of the market, a rate to book it with); raises Refused."""
        spec, side = self.spec(r.symbol), side_of(r.side)
        if r.type not in PENDING_TYPES:
            raise Refused(f"type: a pending order is limit or stop, got {r.type!r}")
        volume = volume_of(spec, r.volume)
        if r.price is None:
            raise Refused("price: a pending order needs its price")
        price = price_of(spec, r.price)
        sl, tp = stop_of(spec, "sl", r.sl), stop_of(spec, "tp", r.tp)
        check_stops(side, price, sl, tp, "the order price", **spec.stops())
        self.check_pending(spec, side, r.type, price)
        self.rate(spec)
        return spec, side, price, volume, sl, tp

    def change(self, db: Any, r: OrderRequest) -> tuple[int, bool, float | None, float | None, float | None, float]:
        """The modify ``r`` checked against the books in ``db``, as the broker's change and the dry
        run's check both measure it: its ticket, whether that is a position (else a pending order),
        the order's new price (None for a position), sl, tp, and the volume; raises Refused."""
        ticket = ticket_of(r.ticket)
        if r.sl is None and r.tp is None and r.price is None:
            raise Refused("modify: give sl, tp (0 removes one) or, for a pending order, price")
        p = row_of(db, "SELECT * FROM paper_positions WHERE ticket = ?", ticket)
        item = p or row_of(db, "SELECT * FROM paper_orders WHERE ticket = ? AND state = 'placed'", ticket)
        if item is None:
            raise Refused(f"ticket: no open position or pending order {ticket}")
        spec = self.spec(item["symbol"])
        sl, tp = stop_of(spec, "sl", r.sl, keep=item["sl"]), stop_of(spec, "tp", r.tp, keep=item["tp"])
        if p is not None:
            if r.price is not None:
                raise position_price(ticket)
            last = self._prices.last(spec.name)   # without a quote yet, the open price
            current = p["price_open"] if last is None else last[0] if p["side"] == "buy" else last[1]
            check_stops(p["side"], current, *measured_stops(r, (p["sl"], p["tp"]), (sl, tp)), "the open price"
                        if last is None else "the current " + ("bid" if p["side"] == "buy" else "ask"), **spec.stops())
            return ticket, True, None, sl, tp, p["volume"]
        price = item["price"] if r.price is None else price_of(spec, r.price)
        check_stops(item["side"], price, sl, tp, "the order price", **spec.stops())
        if r.price is not None:
            self.check_pending(spec, item["side"], item["type"], price)
        return ticket, False, price, sl, tp, item["volume"]

    def check_pending(self, spec: SymbolSpec, side: str, type_: str, price: float) -> None:
        """On its side of the last price, if one is known; at the market is accepted (the engine
        quotes an alert's price before placing an order at it): the next quote fills it. Unless
        the symbol has a stops level: then at least that far, as MetaTrader 5 takes it."""
        quote = self._prices.last(spec.name)
        if quote is None:
            return
        current, name = (quote[1], "ask") if side == "buy" else (quote[0], "bid")
        below = waits_below(side, type_)
        if price > current if below else price < current:
            raise Refused(f"price {price}: a {side} {type_} must be at or {'below' if below else 'above'} "
                           f"the {name} {current}")
        check_level("price", price, current, f"the {name}", **spec.stops())   # as MetaTrader 5 refuses it

    def check_margin(self, spec: SymbolSpec, side: str, volume: float, price: float, free: float,
                     legs: Mapping[str, Leg]) -> None:
        """Refused, as MetaTrader refuses it (10019), when a new position adds more margin to its
        symbol's ``legs`` (``margin.py``) than the account has free; a hedge that adds none is
        taken. Without a rate to convert with, ``rate`` refuses it anyway."""
        before, after = self.margin(spec, legs), self.margin(spec, with_entry(legs, side, volume, price))
        need = None if before is None or after is None else after - before
        if need is not None and need > 0 and need > free + 0.005:
            raise Refused(f"not enough money: {volume:g} lots of {spec.name} need {amount(need)} {self.currency} "
                          f"of margin at 1:{self._config.leverage:g}, and the free margin is {amount(free)}")

    def tick_value(self, spec: SymbolSpec) -> float | None:
        return spec.tick_value(self.currency, self._prices.mid)

    def rate(self, spec: SymbolSpec) -> float:
        """The tick value, or a refusal: a position whose profit cannot be booked is not opened."""
        tick_value = self.tick_value(spec)
        if tick_value is None:
            raise Refused(f"no price of {spec.quote}{self.currency} or {self.currency}{spec.quote} to convert "
                           f"{spec.name}'s {spec.quote} profit to {self.currency}: quote one first")
        return tick_value

    def floating(self, spec: SymbolSpec, p: dict[str, Any]) -> float:
        """At the last price (a buy closes at the bid, a sell at the ask); 0 without a price or rate."""
        last, tick_value = self._prices.last(spec.name), self.tick_value(spec)
        if last is None or tick_value is None:
            return 0.0
        return profit_of(spec, tick_value, p, last[0] if p["side"] == "buy" else last[1], p["volume"])

    def margin(self, spec: SymbolSpec, legs: Mapping[str, Leg]) -> float | None:
        """The margin of a symbol's ``legs``: the lots x open price ``charged`` on (hedged volume
        at ``[paper] hedged_margin``) x contract size / leverage, converted at the tick value's
        rate; None without a rate to convert with."""
        if spec.quote == self.currency:
            rate: float | None = 1.0
        else:
            tick_value = self.tick_value(spec)
            rate = tick_value / (spec.contract_size * spec.tick_size) if tick_value else None
        if rate is None:
            return None
        return charged(legs, self._config.hedged_margin) * spec.contract_size / self._config.leverage * rate
