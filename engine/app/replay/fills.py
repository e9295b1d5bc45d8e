"""Replay's fill model: orders become fills, and positions closed trades, against OHLC bars,
with the paper broker's own rules and money (``engine/adapters/brokers/paper``: its spread,
commission, rounding, stop triggers and profit), so a replay books what the paper broker
would have booked, and tells each deal as it would (``events``).

``Book`` is driven in time order by the replay loop: ``advance(t)`` walks the bars that open
before ``t`` (a bar's open, then its adverse extreme, then its favourable one: a stop and a
target in one bar take the stop); ``execute(order, t, price)`` fills an order at the alert's
price or the next bar's open. The rules, written out once for traders and for this code:
docs/replay.md, "Fills".
"""

from __future__ import annotations

import bisect
import math
from decimal import Decimal
from typing import Any, Mapping, Sequence

from engine.adapters.brokers.paper.books import OPPOSITE
from engine.adapters.brokers.paper.margin import Leg, exposure, figures
from engine.adapters.brokers.paper.market import Market
from engine.adapters.brokers.paper.prices import Prices
from engine.adapters.brokers.paper.rules import lots, profit_of, stop_hit, stop_of, volume_of
from engine.app.replay.pending import Pending, PendingOrder
from engine.app.replay.prices import Bar
from engine.app.replay.records import ClosedTrade, EquityPoint, OpenPosition, Outside, Position
from engine.app.replay.stopout import BarStopOut
from engine.domain.config.paper import PaperConfig
from engine.domain.instruments import SymbolSpec, symbol_table
from engine.domain.orders import Closed, Dropped, Fill, OrderRequest, OrderResult
from engine.domain.rules import (Refused, check_stops, close_by_symbol, filled_meanwhile, measured_stops, side_of,
                                 ticket_of)

FIRST_TICKET = 1001   # the paper broker numbers its orders from 1001, and so does replay


class _NoRows:
    """An empty ``paper_prices``: replay's prices start empty and live in memory."""

    def execute(self, *_: Any) -> tuple[()]:
        return ()


class Book:
    """The simulated paper account of one replay. Deterministic: the same bars and the same
    calls in the same order give the same trades and figures."""

    def __init__(self, config: PaperConfig = PaperConfig(), bars: Mapping[str, Sequence[Bar]] | None = None):
        """``bars``: each symbol's bars, oldest first (as ``read_prices`` gives them); None or
        empty: no prices at all."""
        self.config = config
        self._table: dict[str, SymbolSpec] = symbol_table(config.symbols, where="paper.symbols")
        self._prices = Prices(_NoRows())
        self._quoted: set[str] = set()   # the symbols an alert's price was seen of (``see``, ``_given``)
        self._market = Market(self._table, self._prices, config, config.currency)
        self._bars = {symbol: list(series) for symbol, series in (bars or {}).items() if series}
        self._walked = {symbol: 0 for symbol in self._bars}   # each symbol's bars walked so far
        self._positions: list[Position] = []
        self._pending = Pending(self._market)
        self._next_ticket = FIRST_TICKET
        self.balance = config.balance
        self.closed_trades: list[ClosedTrade] = []
        self.equity: list[EquityPoint] = []
        self.outside: list[Outside] = []
        self.events: list[Fill | Closed | Dropped] = []   # every deal's Fill, each full close's Closed, in order
        self._deals = 0
        self._unpriced: set[str] = set()
        self._stop_out = BarStopOut(config.stop_out_pct, self._market, self._prices, self._positions, self.account,
                                    lambda spec, p, price, reason, at: self._book_close(spec, p, p.volume, price,
                                                                                        reason, at, None))

    # -- what the replay reports ----------------------------------------------------------------

    @property
    def without_prices(self) -> list[str]:
        """The symbols traded without bars: filled at the alerts' prices, stops not simulated."""
        return sorted(self._unpriced)

    @property
    def stops_simulated(self) -> bool:
        """False when some symbol traded had no bars (its stops and targets were not simulated)."""
        return not self._unpriced

    @property
    def open_positions(self) -> list[OpenPosition]:
        """The positions open where the book stands, by ticket, valued at their last price."""
        out = []
        for p in self._positions:
            spec = self._table[p.symbol]
            last = self._prices.last(p.symbol)
            price = None if last is None else last[0] if p.side == "buy" else last[1]
            tick_value = self._market.tick_value(spec)
            profit = (None if price is None or tick_value is None
                      else profit_of(spec, tick_value, _plain(p), price, p.volume))
            out.append(OpenPosition(p, price, profit))
        return out

    @property
    def pending_orders(self) -> list[PendingOrder]:
        """The limit and stop orders still waiting for their price, by ticket."""
        return self._pending.waiting

    def cancelled(self, ticket: int) -> bool:
        """Whether ``ticket`` was a pending order, cancelled (a close by its ticket)."""
        return ticket in self._pending.cancelled

    # -- what scripts and the default execution read (as the paper broker answers) -----------------

    def account(self) -> dict[str, Any]:
        """Balance, equity (floating profit at the last prices), margin (hedged volume at
        ``[paper] hedged_margin``), as ``PaperBroker.account``, by the same function: the positions
        of one symbol and side as one, at their volume-weighted open price."""
        return figures(self._market, self._table, self.balance, ((symbol, side, *leg) for (symbol, side), leg
                                                                 in exposure(self._positions).items()),
                       self.config.currency)

    def _legs(self, symbol: str) -> dict[str, Leg]:
        """The open positions of ``symbol``: each side's volume and volume x open price."""
        return {side: leg for (_, side), leg in exposure(p for p in self._positions if p.symbol == symbol).items()}

    def symbol(self, symbol: str) -> dict[str, Any] | None:
        spec = self._table.get(symbol)
        return None if spec is None else {"name": spec.name, **spec.to_plain(self.config.currency, self._prices.mid),
                                          "commission": self._market.round_trip()}

    def price(self, symbol: str) -> dict[str, Any] | None:
        row = self._prices.get(symbol)
        return {"bid": row[0], "ask": row[1], "time": row[2]} if row else None

    def positions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """The open positions as ``PaperBroker.positions`` lists them, by ticket."""
        out = []
        for p in self._positions:
            if symbol is not None and p.symbol != symbol:
                continue
            profit = self._market.floating(self._table[p.symbol], {**_plain(p), "volume": p.volume})
            out.append({"ticket": p.ticket, "symbol": p.symbol, "side": p.side, "volume": p.volume,
                        "price_open": p.price_open, "sl": p.sl, "tp": p.tp, "profit": profit, "plugin": p.plugin,
                        "comment": p.comment, "opened_at": p.opened_at})
        return out

    def orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """The pending orders as ``PaperBroker.orders`` lists them, by ticket."""
        return self._pending.rows(symbol)

    def late(self, symbol: str, fired: float | None) -> bool:
        """Whether an alert of ``symbol`` fired then (its timenow) was fired before the last one that says."""
        return self._prices.late(symbol, fired)

    def see(self, symbol: str, price: float, at: float, fired: float | None = None) -> None:
        """An alert's price at ``at``: the symbol's last price (the bid), as the paper broker
        takes a quote. Bars walked later replace it."""
        spec = self._table.get(symbol)
        if spec is not None:
            try:
                bid, ask = self._market.bid_ask(spec, price)
            except Refused:   # not a price of this symbol: its orders are refused for it
                return
            self._prices.record(spec.name, bid, ask, at, fired)
            self._quoted.add(spec.name)
            self._trigger(spec, bid, ask, at, inside=False)
            self._stop_out.look(at)

    # -- driving it -----------------------------------------------------------------------------

    def advance(self, to_time: float, ended: bool = False) -> None:
        """Walks every bar that opens before ``to_time`` (``ended``: only those ended by then, so
        a timer inside a bar does not read its close), all symbols in time order (a tie by
        symbol name), closing the positions whose stops or targets they reach; then removes the
        pending orders whose expiry came by ``to_time``, a price or not, as the paper broker does."""
        while True:
            due = [(self._bars[s][i].time, s) for s, i in self._walked.items()
                   if i < len(self._bars[s]) and (self._end(s, i) <= to_time if ended
                                                  else self._bars[s][i].time < to_time)]
            if not due:
                if to_time != math.inf:   # the end of the data is no time: what waits there still waits
                    self._expire(to_time)
                return
            _, symbol = min(due)
            bar = self._bars[symbol][self._walked[symbol]]
            self._walked[symbol] += 1
            self._walk(symbol, bar)

    def _expire(self, at: float) -> None:
        """Removes the pending orders whose expiry came by ``at``, but not past a bar of their
        symbol still to walk (a timer's advance): its prices, before the expiry, may fill them."""
        if self._pending.expiring:   # most alerts meet none: the horizon is not worked out for them
            ahead = {s: bars[i].time for s, i in self._walked.items() if i < len(bars := self._bars[s])}
            self.events += self._pending.expire(at, horizon=ahead)

    def _end(self, symbol: str, i: int) -> float:
        """When bar ``i`` ends: where the next opens; the last lasts as long as the one before it."""
        bars = self._bars[symbol]
        if i + 1 < len(bars):
            return bars[i + 1].time
        return bars[i].time + (bars[i].time - bars[i - 1].time) if i else math.inf

    @property
    def prices_end(self) -> float | None:
        """When the last bar of all ends (None: no bars, or a symbol's single bar of no length)."""
        ends = [self._end(s, len(bars) - 1) for s, bars in self._bars.items()]
        return max(ends) if ends and math.inf not in ends else None

    def finish(self) -> None:
        """Walks the bars left, to the end of the price data."""
        self.advance(math.inf)

    def execute(self, order: OrderRequest, at_time: float, alert_price: float | None = None,
                ended: bool = False) -> OrderResult:
        """Executes ``order`` at ``at_time`` (after walking the bars before it; ``ended``, a
        timer's: only those ended by then for an order that sets levels, a modify or a pending
        order, so that it acts on the prices its script read), at ``alert_price`` (the order's
        own ``price`` when None) or the next bar's open. Market
        orders open positions; pending orders wait for their price (``_trigger``); closes (by
        ticket, or by symbol with an optional side, or all symbols when neither) close them, a
        close by ticket of a pending order cancels it; modify changes a position's sl and tp,
        or a pending order's price, sl and tp. A refusal is an ``OrderResult`` with its reason,
        as the paper broker answers."""
        self.advance(at_time, ended and order.kind in ("modify", "pending"))
        try:
            if order.kind == "market":
                return self._open(order, at_time, alert_price)
            if order.kind == "close":
                return self._close(order, at_time, alert_price)
            if order.kind == "modify":
                return self._modify(order)
            if order.kind == "pending":
                return self._place(order, at_time)
            raise Refused(f"kind: expected market, pending, close or modify, got {order.kind!r}")
        except Refused as refusal:
            return OrderResult.refused(str(refusal))

    # -- orders ---------------------------------------------------------------------------------

    def _open(self, r: OrderRequest, at: float, alert_price: float | None) -> OrderResult:
        spec, side = self._market.spec(r.symbol), side_of(r.side)
        volume = volume_of(spec, r.volume)
        bid, ask, when = self._quote(spec, at, self._given(spec, alert_price, r.price))
        price = ask if side == "buy" else bid
        sl, tp = stop_of(spec, "sl", r.sl), stop_of(spec, "tp", r.tp)
        # Against where the position closes (a buy's bid, a sell's ask), as MetaTrader checks them.
        closes, what = (bid, "the bid") if side == "buy" else (ask, "the ask")
        check_stops(side, closes, sl, tp, what, **spec.stops())
        self._market.rate(spec)   # a position whose profit cannot be booked is not opened
        self._market.check_margin(spec, side, volume, price, self.account()["margin_free"],
                                  self._legs(spec.name))
        commission = self._market.commission(volume)
        p = Position(self._ticket(), spec.name, side, volume, price, when, sl, tp, commission, r.plugin,
                     r.alert_id, r.client_id, r.comment)
        self._book_open(p, "market")
        return OrderResult(True, p.ticket, price, volume)

    def _close(self, r: OrderRequest, at: float, alert_price: float | None) -> OrderResult:
        if r.ticket is not None:
            ticket = ticket_of(r.ticket)
            p = next((p for p in self._positions if p.ticket == ticket), None)
            if p is not None and r.type is not None:   # a removal: the order's fill opened this since
                raise filled_meanwhile(ticket)
            if p is None:
                cancelled = self._pending.cancel(ticket)
                if cancelled is None:
                    raise Refused(f"ticket: no open position or pending order {ticket}")
                return OrderResult(True, ticket, cancelled.price, cancelled.volume)
            spec = self._market.spec(p.symbol)
            volume = p.volume if r.volume is None else volume_of(spec, r.volume)
            left = lots(p.volume) - lots(volume)
            if left < 0:
                raise Refused(f"volume {volume}: position {ticket} has only {p.volume} lots")
            if 0 < left < lots(spec.volume_min):
                raise Refused(f"volume {volume}: would leave {float(left)} lots of position {ticket}, "
                              f"below {spec.name}'s minimum {spec.volume_min}")
            bid, ask, when = self._quote(spec, at, self._given(spec, alert_price, r.price))
            price = bid if p.side == "buy" else ask
            self._book_close(spec, p, volume, price, "close", when, r)
            return OrderResult(True, ticket, price, volume, closed=[ticket] if left == 0 else [])
        close_by_symbol(r.symbol, r.volume)   # as both live brokers
        spec = self._market.spec(r.symbol)
        side = side_of(r.side) if r.side is not None else None
        chosen = sorted((p for p in self._positions if p.symbol == spec.name and (side is None or p.side == side)),
                        key=lambda p: p.ticket)
        if not chosen:
            raise Refused(f"no open {side + ' ' if side else ''}position on {spec.name}")
        bid, ask, when = self._quote(spec, at, self._given(spec, alert_price, r.price))
        prices, total = set(), Decimal(0)
        for p in chosen:
            price = bid if p.side == "buy" else ask
            self._book_close(spec, p, p.volume, price, "close", when, r)
            prices.add(price)
            total += lots(p.volume)
        return OrderResult(True, None, prices.pop() if len(prices) == 1 else None, float(total),
                           closed=[p.ticket for p in chosen])

    def _place(self, r: OrderRequest, at: float) -> OrderResult:
        o = self._pending.place(r, at, self._ticket)
        return OrderResult(True, o.ticket, o.price, o.volume)

    def _trigger(self, spec: SymbolSpec, bid: float, ask: float, at: float, inside: bool) -> None:
        """Opens the positions of the pending orders this price fills (``Pending.due``), once
        those whose expiry came are gone."""
        self.events += self._pending.expire(at, spec.name)
        if self._market.tick_value(spec) is None:   # no rate: cannot book it, as the broker
            return
        for o, price in self._pending.due(spec, bid, ask, inside):
            try:   # as the paper broker: rejected when its price comes without the margin for it
                self._market.check_margin(spec, o.side, o.volume, price, self.account()["margin_free"],
                                          self._legs(spec.name))
            except Refused as refusal:
                self.events.append(Dropped(o.ticket, o.symbol, o.side, o.type, o.volume, price, "rejected",
                                           str(refusal), at, o.plugin, o.alert_id))
                continue
            self._book_open(Position(o.ticket, o.symbol, o.side, o.volume, price, at, o.sl, o.tp,
                                     self._market.commission(o.volume), o.plugin, o.alert_id, o.client_id, o.comment),
                            "pending")

    def _modify(self, r: OrderRequest) -> OrderResult:
        ticket = ticket_of(r.ticket)
        if r.sl is None and r.tp is None and r.price is None:
            raise Refused("modify: give sl, tp (0 removes one) or, for a pending order, price")
        p = next((p for p in self._positions if p.ticket == ticket), None)
        o = self._pending.modify(ticket, r)
        if o is not None:
            return OrderResult(True, ticket, o.price, o.volume)
        if p is None:
            raise Refused(f"ticket: no open position or pending order {ticket}")
        if r.price is not None:
            raise Refused(f"price: position {ticket} is open; only a pending order's price can change")
        spec = self._market.spec(p.symbol)
        sl, tp = stop_of(spec, "sl", r.sl, keep=p.sl), stop_of(spec, "tp", r.tp, keep=p.tp)
        last = self._prices.last(p.symbol)
        current = p.price_open if last is None else last[0] if p.side == "buy" else last[1]
        check_stops(p.side, current, *measured_stops(r, (p.sl, p.tp), (sl, tp)), "the open price" if last is None
                    else "the current " + ("bid" if p.side == "buy" else "ask"), **spec.stops())
        p.sl, p.tp = sl, tp
        return OrderResult(True, ticket, None, p.volume)

    def _given(self, spec: SymbolSpec, alert_price: float | None, own: float | None) -> float | None:
        """The price a market order or a close is given: its alert's; its own (an on_order change, a
        timer's) only while the symbol has no bars and no alert's price was seen, as the paper broker
        takes it before any quote (``at_market``)."""
        if alert_price is not None or self._bars.get(spec.name) or spec.name in self._quoted:
            return alert_price
        return own

    def _quote(self, spec: SymbolSpec, at: float, given: float | None) -> tuple[float, float, float]:
        """(bid, ask, time) of a fill at ``at``: the alert's price as the bid, else the open of
        the next bar (without bars: the last price filled at); records it as the symbol's last
        price. Reports a time outside the bars; Refused without any price."""
        bars = self._bars.get(spec.name)
        if not bars:
            self._unpriced.add(spec.name)
            if given is None:   # the last price filled at, as the paper broker takes it
                last = self._prices.last(spec.name)
                if last is None:
                    raise Refused(f"no price for {spec.name}: the alert has none and replay has no bars for it")
                return last[0], last[1], at
        else:
            self._check_inside(spec.name, bars, at)
        if given is not None:
            bid, ask = self._market.bid_ask(spec, given)
            when = at
        else:
            assert bars
            i = self._walked[spec.name]
            if i >= len(bars):
                raise Refused(f"no price for {spec.name}: the alert has none and no bar opens after it")
            bid, ask = self._market.bid_ask(spec, bars[i].open)
            when = bars[i].time
        self._prices.record(spec.name, bid, ask, when)
        return bid, ask, when

    def check_inside(self, symbol: str, at: float) -> bool | None:
        """Reports in ``outside`` a time outside ``symbol``'s bars (an alert's; an order's is
        checked as it fills), once for one time and symbol. Whether ``at`` is inside them;
        None when the symbol has no bars."""
        bars = self._bars.get(symbol)
        return self._check_inside(symbol, bars, at) if bars else None

    def _check_inside(self, symbol: str, bars: list[Bar], at: float) -> bool:
        end = self._end(symbol, len(bars) - 1)
        before, after = at < bars[0].time, (at >= end) if end != math.inf else (at > bars[-1].time)
        said = bool(self.outside) and (self.outside[-1].time, self.outside[-1].symbol) == (at, symbol)
        if (before or after) and not said:
            edge = bars[0].time if before else (end if end != math.inf else None)
            self.outside.append(Outside(at, symbol, "before the first bar" if before else "after the last bar", edge))
        return not (before or after)

    # -- bars and money ----------------------------------------------------------------------------

    def _walk(self, symbol: str, bar: Bar) -> None:
        """One bar: its open (a gap), its adverse extreme (stops), its favourable one (targets);
        then the stop-out (``stopout.py``)."""
        spec = self._table.get(symbol)
        if spec is None:   # bars of a symbol nobody trades or converts with: the last price only
            self._prices.record(symbol, bar.close, bar.close, bar.time)
            return
        spread = self._market.spread(spec)
        held = [p for p in self._positions if p.symbol == symbol]   # a fill in this bar is checked from the next
        for step, level in enumerate((bar.open, bar.low, bar.high)):
            bid = round(level, spec.digits)
            self._trigger(spec, bid, round(bid + spread, spec.digits), bar.time, inside=step > 0)
        for p in held:
            adverse, favourable = (bar.low, bar.high) if p.side == "buy" else (bar.high, bar.low)
            for step, level in enumerate((bar.open, adverse, favourable)):
                bid = round(level, spec.digits)
                ask = round(bid + spread, spec.digits)
                hit = stop_hit(_plain(p), bid, ask)
                if hit is None:
                    continue
                # At the open the price jumped there: a gap fills at the open (the paper
                # broker's rule); inside the bar the price passed through the level itself.
                price = hit[1] if step == 0 else (p.sl if hit[0] == "sl" else p.tp)
                assert price is not None
                self._prices.record(symbol, price if p.side == "buy" else round(price - spread, spec.digits),
                                    price if p.side == "sell" else round(price + spread, spec.digits), bar.time)
                if self._market.tick_value(spec) is not None:   # no rate: cannot book it, as the broker
                    self._book_close(spec, p, p.volume, round(price, spec.digits), hit[0], bar.time, None)
                break
        self._stop_out.walk(spec, bar)
        close = round(bar.close, spec.digits)
        self._prices.record(symbol, close, round(close + spread, spec.digits), bar.time)

    def _book_open(self, p: Position, reason: str) -> None:
        """Opens ``p`` (filled by a market or a pending order): its "in" deal."""
        self._start_equity(p.opened_at)
        bisect.insort(self._positions, p, key=lambda q: q.ticket)   # by ticket, as the paper broker lists them
        self.balance = round(self.balance + p.commission, 2)
        self.events.append(Fill(self._deal(), p.ticket, p.ticket, p.symbol, p.side, p.volume, p.price_open, "in",
                                reason, p.opened_at, 0.0, p.commission, p.plugin, p.client_id, p.alert_id))

    def _book_close(self, spec: SymbolSpec, p: Position, volume: float, price: float, reason: str,
                    at: float, request: OrderRequest | None) -> None:
        """Closes ``volume`` of ``p`` at ``price`` for ``request`` (None: its stop or target):
        its trade, its "out" deal (and the position's Closed once none is left), the balance."""
        profit = profit_of(spec, self._market.rate(spec), _plain(p), price, volume)
        commission = self._market.commission(volume)
        trade_commission = round(commission + p.commission, 2) + 0.0
        p.commission = 0.0
        order = self._ticket()   # the closing order takes a number, as at the paper broker
        self.closed_trades.append(ClosedTrade(p.ticket, p.symbol, p.side, volume, p.opened_at, p.price_open, at,
                                              price, profit, trade_commission, reason, p.plugin, p.alert_id))
        # A stop's or target's deal is the position's plugin's and alert's, as at the paper broker.
        plugin, client_id, alert_id = ((request.plugin, request.client_id, request.alert_id) if request
                                       else (p.plugin, None, p.alert_id))
        left = lots(p.volume) - lots(volume)
        self.events.append(Fill(self._deal(), order, p.ticket, p.symbol, OPPOSITE[p.side], volume, price, "out",
                                reason, at, profit, commission, plugin, client_id, alert_id, left=float(left)))
        p.outs.append((volume, profit, trade_commission))
        if left > 0:
            p.volume = float(left)
        else:
            self._positions.remove(p)
            self.events.append(Closed(p.ticket, p.symbol, p.side, round(sum(o[0] for o in p.outs), 8), p.price_open,
                                      price, round(sum(o[1] for o in p.outs), 2) + 0.0, reason, at, p.plugin, p.sl,
                                      p.tp, round(sum(o[2] for o in p.outs), 2) + 0.0, 0.0, self.config.currency))
        self.balance = round(self.balance + profit + commission, 2)
        self.equity.append(EquityPoint(at, self.balance))

    def _deal(self) -> int:
        self._deals += 1
        return self._deals

    def _start_equity(self, at: float) -> None:
        if not self.equity:
            self.equity.append(EquityPoint(at, self.balance))

    def _ticket(self) -> int:
        ticket, self._next_ticket = self._next_ticket, self._next_ticket + 1
        return ticket


def _plain(p: Position) -> dict[str, Any]:
    """The fields the paper broker's rules read of a position row."""
    return {"side": p.side, "price_open": p.price_open, "sl": p.sl, "tp": p.tp}
