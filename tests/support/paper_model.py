"""A deliberately simple model of the paper account, in exact decimals, written from
docs/configuration.md ([paper]), docs/replay.md (Fills, Money) and MetaTrader 5's documented
rules, not from the broker's code: ``tests/unit/adapters/test_paper_model.py`` drives it beside
the real paper broker and compares the two after every step.

A hedging account: every entry is a position of its own. A price is the bid, the ask is the
symbol's spread above it; a buy opens at the ask and closes at the bid, a sell the other way.
Commission is ``-commission_per_lot x volume`` on every deal. Profit is points x contract size x
volume, converted from the quote currency at the last mid price of the pair linking it to the
account's, to the cent. Margin is volume x contract size x open price / leverage, converted alike.
MetaTrader 5's triggers: a buy's stop loss at bid <= sl, its take profit at bid >= tp; a sell's
at ask >= sl and ask <= tp; a limit fills at its price or better, a stop at its price or worse; a
stop loss across a gap closes at the market, a take profit at its price (docs/replay.md). After a
quote's own triggers, MetaTrader 5's stop-out: while the margin level (equity / margin x 100) is below
``STOP_OUT`` percent, the position losing most (the oldest of equal losses) is closed at the market.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal as D
from typing import Callable

CENT = D("0.01")
# name: quote currency, digits, contract size, volume min, step, max, stops level (points)
SPECS = {
    "EURUSD": ("USD", 5, 100_000, "0.01", "0.01", 100, 0),
    "GBPUSD": ("USD", 5, 100_000, "0.01", "0.01", 100, 10),
    "USDJPY": ("JPY", 3, 100_000, "0.01", "0.01", 100, 0),
    "EURJPY": ("JPY", 3, 100_000, "0.01", "0.01", 100, 0),
    "EURGBP": ("GBP", 5, 100_000, "0.01", "0.01", 100, 0),
    "XAUUSD": ("USD", 2, 100, "0.01", "0.01", 50, 0),
    "BTCUSD": ("USD", 2, 1, "0.01", "0.01", 10, 5),   # half cents of profit; a stops level at a high price
}
SPREADS = {"XAUUSD": 30, "USDJPY": 20}   # points; the rest SPREAD
SPREAD, COMMISSION, LEVERAGE, BALANCE = 15, D("3.5"), D(100), D(10_000)   # 3.5 a lot: half cents
STOP_OUT = D(50)   # percent, [paper] stop_out_pct's default
HEDGED = D("0.5")   # of the contract, on hedged volume: [paper] hedged_margin's default


class No(Exception):
    """The model refuses the request."""


class Unsure(Exception):
    """The request sits within rounding of a limit (the free margin): either answer is right."""


@dataclass
class Item:
    """A position (``type`` None) or a pending order."""
    symbol: str
    side: str
    volume: D
    price: D
    sl: D | None
    tp: D | None
    type: str | None = None
    expires: float | None = None   # a pending order's: removed when it comes


def dec(x: float | None) -> D | None:
    return None if x is None else D(repr(x))


def point(symbol: str) -> D:
    return D(1).scaleb(-SPECS[symbol][1])


def on_digits(symbol: str, x: D) -> D:
    return x.quantize(point(symbol), rounding=ROUND_HALF_UP)


def cents(x: D) -> D:
    """Money to the cent, a half cent away from zero."""
    return x.quantize(CENT, rounding=ROUND_HALF_UP)


class PaperModel:
    def __init__(self, currency: str = "USD", balance: D = BALANCE, leverage: D = LEVERAGE) -> None:
        self.currency, self.balance, self.leverage = currency, balance, leverage
        self.prices: dict[str, tuple[D, D]] = {}
        self.positions: dict[int, Item] = {}
        self.orders: dict[int, Item] = {}
        self.deals: list[tuple] = []   # (position, entry, side, volume, price, profit, commission)
        self.halves: set[int] = set()  # the deals whose profit may round either way

    # -- money ------------------------------------------------------------------------------

    def bid_ask(self, symbol: str, bid: D | None = None) -> tuple[D, D]:
        if bid is None:
            if symbol not in self.prices:
                raise No("no price")
            return self.prices[symbol]
        bid = on_digits(symbol, bid)
        return bid, bid + SPREADS.get(symbol, SPREAD) * point(symbol)

    def rate(self, symbol: str) -> D | None:
        """The quote currency in the account's, at the linking pair's last mid price."""
        quote, account = SPECS[symbol][0], self.currency
        if quote == account:
            return D(1)
        for pair, inverse in ((quote + account, False), (account + quote, True)):
            if pair in self.prices:
                mid = sum(self.prices[pair]) / 2
                return 1 / mid if inverse else mid
        return None

    def raw_profit(self, p: Item, close: D, volume: D) -> D:
        direction = 1 if p.side == "buy" else -1
        return (close - p.price) * direction * SPECS[p.symbol][2] * volume * self.rate(p.symbol)

    def floating(self, p: Item) -> D:
        bid, ask = self.prices[p.symbol]
        return self.raw_profit(p, bid if p.side == "buy" else ask, p.volume)

    def margin_of(self, symbol: str, legs: dict[str, list[tuple[D, D]]]) -> D:
        """The margin of ``symbol``'s positions, ``legs`` each side's (volume, open price)."""
        volume = {side: sum((v for v, _ in legs[side]), D(0)) for side in ("buy", "sell")}
        at = {side: sum((v * p for v, p in legs[side]), D(0)) for side in ("buy", "sell")}
        hedged = min(volume.values())
        larger = max(("buy", "sell"), key=lambda side: volume[side])
        lots = (volume[larger] - hedged) * at[larger] / volume[larger] if volume[larger] > hedged else D(0)
        if hedged:
            lots += hedged * HEDGED * (at["buy"] + at["sell"]) / (volume["buy"] + volume["sell"])
        return lots * SPECS[symbol][2] / self.leverage * self.rate(symbol)

    def legs(self, symbol: str) -> dict[str, list[tuple[D, D]]]:
        legs: dict[str, list[tuple[D, D]]] = {"buy": [], "sell": []}
        for p in self.positions.values():
            if p.symbol == symbol:
                legs[p.side].append((p.volume, p.price))
        return legs

    def equity(self) -> D:
        return self.balance + sum((self.floating(p) for p in self.positions.values()), D(0))

    def margin(self) -> D:
        return sum((self.margin_of(s, self.legs(s)) for s in {p.symbol for p in self.positions.values()}), D(0))

    def check_margin(self, symbol: str, side: str, volume: D, price: D) -> None:
        legs, free = self.legs(symbol), self.equity() - self.margin()
        before = self.margin_of(symbol, legs)
        legs[side].append((volume, price))
        need = self.margin_of(symbol, legs) - before
        if need > 0 and abs(need - free) < D("0.05") * (len(self.positions) + 1):
            raise Unsure()
        if need > 0 and need > free:
            raise No("not enough money")

    @staticmethod
    def commission(volume: D) -> D:
        return cents(-COMMISSION * volume)

    # -- checks ------------------------------------------------------------------------------

    @staticmethod
    def volume(symbol: str, value: float) -> D:
        _, _, _, low, step, high, _ = SPECS[symbol]
        if D(repr(value)) > high:
            raise No("above the maximum")
        v = (D(repr(value)) / D(step)).to_integral_value(rounding=ROUND_DOWN) * D(step)
        if v < D(low):
            raise No("below the minimum")
        return v

    @staticmethod
    def stops(symbol: str, side: str, price: D, sl: D | None, tp: D | None) -> None:
        """sl/tp on the right side of ``price`` and at least the stops level from it."""
        buy = side == "buy"
        if sl is not None and (sl >= price if buy else sl <= price):
            raise No("sl side")
        if tp is not None and (tp <= price if buy else tp >= price):
            raise No("tp side")
        for x in (sl, tp):
            PaperModel.level(symbol, x, price)

    @staticmethod
    def level(symbol: str, x: D | None, price: D) -> None:
        if x is not None and abs(price - x) < SPECS[symbol][6] * point(symbol):
            raise No("stops level")

    def side_of_market(self, symbol: str, side: str, type_: str, price: D) -> None:
        if symbol not in self.prices:
            return
        bid, ask = self.prices[symbol]
        current = ask if side == "buy" else bid
        below = (side == "buy") == (type_ == "limit")
        if price > current if below else price < current:
            raise No("wrong side of the market")
        self.level(symbol, price, current)

    # -- requests ----------------------------------------------------------------------------

    def market(self, symbol: str, side: str, volume: float, sl: D | None, tp: D | None,
               bid: D | None) -> tuple[D, D]:
        """Checks a market entry: its (price, volume); then ``open`` books it."""
        v = self.volume(symbol, volume)
        b, a = self.bid_ask(symbol, bid)
        self.stops(symbol, side, b if side == "buy" else a, sl, tp)
        if self.rate(symbol) is None:
            raise No("no rate")
        price = a if side == "buy" else b
        self.check_margin(symbol, side, v, price)
        return price, v

    def open(self, ticket: int, p: Item) -> None:
        self.positions[ticket] = p
        c = self.commission(p.volume)
        self.balance += c
        self.deals.append((ticket, "in", p.side, p.volume, p.price, D(0), c))

    def pending(self, symbol: str, side: str, type_: str, price: D, volume: float, sl: D | None,
                tp: D | None) -> Item:
        v = self.volume(symbol, volume)
        price = on_digits(symbol, price)
        self.stops(symbol, side, price, sl, tp)
        self.side_of_market(symbol, side, type_, price)
        if self.rate(symbol) is None:
            raise No("no rate")
        return Item(symbol, side, v, price, sl, tp, type_)

    def close(self, ticket: int, volume: float | None, bid: D | None) -> tuple[D, D]:
        """Closes (part of) position ``ticket``: its price and volume."""
        p = self.positions.get(ticket)
        if p is None:
            raise No("no position")
        v = p.volume if volume is None else self.volume(p.symbol, volume)
        left = p.volume - v
        if left < 0 or 0 < left < D(SPECS[p.symbol][3]):
            raise No("volume")
        b, a = self.bid_ask(p.symbol, bid)
        price = b if p.side == "buy" else a
        self.book_close(ticket, v, price)
        return price, v

    def book_close(self, ticket: int, volume: D, price: D) -> None:
        """The "out" deal. A profit converted at a rate (an endless decimal) within float noise
        of half a cent is noted in ``halves``: rounded either way, it is right."""
        p = self.positions[ticket]
        raw = self.raw_profit(p, price, volume)
        profit = cents(raw)
        if self.rate(p.symbol) != 1 and abs(abs(raw - profit) - CENT / 2) < D("1e-7"):
            self.halves.add(len(self.deals))
        c = self.commission(volume)
        self.balance += profit + c
        self.deals.append((ticket, "out", "sell" if p.side == "buy" else "buy", volume, price, profit, c))
        p.volume -= volume
        if p.volume == 0:
            del self.positions[ticket]

    def modify_position(self, ticket: int, sl: D | None, tp: D | None) -> None:
        """``sl``/``tp`` None keep, 0 removes; only changed stops given are measured."""
        p = self.positions[ticket]
        new_sl = p.sl if sl is None else (None if sl == 0 else sl)
        new_tp = p.tp if tp is None else (None if tp == 0 else tp)
        if (new_sl, new_tp) == (p.sl, p.tp):
            return
        bid, ask = self.prices.get(p.symbol, (p.price, p.price))
        self.stops(p.symbol, p.side, bid if p.side == "buy" else ask,
                   new_sl if sl is not None else None, new_tp if tp is not None else None)
        p.sl, p.tp = new_sl, new_tp

    def modify_order(self, ticket: int, price: D | None, sl: D | None, tp: D | None) -> None:
        o = self.orders[ticket]
        new_sl = o.sl if sl is None else (None if sl == 0 else sl)
        new_tp = o.tp if tp is None else (None if tp == 0 else tp)
        new_price = o.price if price is None else on_digits(o.symbol, price)
        self.stops(o.symbol, o.side, new_price, new_sl, new_tp)
        if price is not None:
            self.side_of_market(o.symbol, o.side, o.type, new_price)
        o.price, o.sl, o.tp = new_price, new_sl, new_tp

    # -- the market moves --------------------------------------------------------------------

    def expire(self, now: float) -> None:
        """Removes the pending orders whose expiry has come."""
        for ticket in [t for t, o in self.orders.items() if o.expires is not None and o.expires <= now]:
            del self.orders[ticket]

    def quote(self, symbol: str, bid: D, filled: Callable[[int], bool], now: float,
              open_: Callable[[int], bool] = lambda ticket: False) -> None:
        """The new bid: pending orders it crosses fill, oldest first, if the margin is free
        (``filled(ticket)`` answers where that is within rounding), then stops and targets,
        then the stop-out (``open_(ticket)``, whether the broker left it open, answers where the
        margin level is within rounding of the level)."""
        bid, ask = self.bid_ask(symbol, bid)
        self.prices[symbol] = (bid, ask)
        for ticket in sorted(t for t, o in self.orders.items() if o.symbol == symbol):
            o = self.orders[ticket]
            current = ask if o.side == "buy" else bid
            below = (o.side == "buy") == (o.type == "limit")
            if not (current <= o.price if below else current >= o.price):
                continue
            price = min(o.price, current) if below else max(o.price, current)
            del self.orders[ticket]
            if o.expires is not None and o.expires <= now:   # its time came before this price
                continue
            try:
                self.check_margin(symbol, o.side, o.volume, price)
            except No:
                continue
            except Unsure:
                if not filled(ticket):
                    continue
            self.open(ticket, Item(symbol, o.side, o.volume, price, o.sl, o.tp))
        for ticket in sorted(t for t, p in self.positions.items() if p.symbol == symbol):
            hit = self.hit(self.positions[ticket], bid, ask)
            if hit is not None:
                self.book_close(ticket, self.positions[ticket].volume, hit)
        self.stop_out(open_)

    def stop_out(self, open_: Callable[[int], bool]) -> None:
        """Closes the position losing most, at the market, while the margin level is below
        ``STOP_OUT``; within the cents the broker rounds equity and margin to, it asks ``open_``."""
        while self.positions:
            margin, equity = self.margin(), self.equity()
            slack = D("0.01") * (len(self.positions) + 1) * (STOP_OUT + 100)   # cents of equity and margin
            if equity * 100 >= STOP_OUT * margin + slack:
                return
            ticket = min(self.positions, key=lambda t: (cents(self.floating(self.positions[t])), t))
            if equity * 100 > STOP_OUT * margin - slack and open_(ticket):
                return
            p = self.positions[ticket]
            bid, ask = self.prices[p.symbol]
            self.book_close(ticket, p.volume, bid if p.side == "buy" else ask)

    @staticmethod
    def hit(p: Item, bid: D, ask: D) -> D | None:
        """Where a stop loss (first) or take profit this quote crosses closes ``p``."""
        if p.side == "buy":
            if p.sl is not None and bid <= p.sl:
                return min(p.sl, bid)
            if p.tp is not None and bid >= p.tp:
                return p.tp
        else:
            if p.sl is not None and ask >= p.sl:
                return max(p.sl, ask)
            if p.tp is not None and ask <= p.tp:
                return p.tp
        return None
