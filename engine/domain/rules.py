"""The checks every broker makes of a request, as pure functions (the paper broker, replay's
book and the MetaTrader 5 broker all use them): a side, a ticket, a volume on the symbol's
step, stops on the right side of the price; and ``Refused``, what a broker raises for a
request it will not execute."""

from __future__ import annotations

import math
import re
from decimal import ROUND_DOWN, Decimal
from typing import Any, Callable

from engine.domain.orders import SIDES


class Refused(Exception):
    """A request the broker will not execute; the message is the answer."""


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# Bitcoin in Vietnamese dong is 2.5e12; past 1e15, a typo (1e30) the paper broker took for its market broke its sums
MAX_PRICE = 1e15


def in_price_range(value: Any) -> bool:
    """``value`` a number from 1 / MAX_PRICE to MAX_PRICE: a price or a conversion rate a market could give
    (a rate below the inverse converts as a price past the bound)."""
    return is_number(value) and 1 / MAX_PRICE <= value <= MAX_PRICE


def positive_price(name: str, value: Any, on_grid: Callable[[float], float], symbol: str) -> float:
    """``value`` (an order's price, a stop, a target) put on ``symbol``'s price grid by ``on_grid``.
    Raises Refused for one that is not a positive number, or that the grid makes 0 (1e-308 on
    EURUSD): taken as 0 it was a buy limit resting at nothing, or a stop loss that was none; and
    for one past MAX_PRICE (1e30 from a plugin's order), as an alert's is refused."""
    if not (is_number(value) and value > 0):
        raise Refused(f"{name}: must be a positive price, got {value!r}")
    if value > MAX_PRICE:
        raise Refused(f"{name}: must be at most 1e15 (no market's price is near it), got {value!r}")
    price = on_grid(value)
    if not price > 0:
        raise Refused(f"{name} {value!r} is 0 on {symbol}'s price grid ({price!r}): give a price above 0")
    return price


def check_stops(side: str, price: float, sl: float | None, tp: float | None, what: str, level: int = 0,
                point: float = 0.0, symbol: str = "", key: str = "its stops_level") -> None:
    """Refuses ``sl``/``tp`` on the wrong side of ``price`` (``what``: the bid a buy closes at, an
    order's price) and, given the symbol's stops ``level`` (in points of ``point``: MetaTrader's
    ``trade_stops_level``, the paper broker's ``stops_level``), nearer it than that, which a trade
    server refuses (10016)."""
    below, above = ("below", "above") if side == "buy" else ("above", "below")
    if sl is not None and (sl >= price if side == "buy" else sl <= price):
        raise Refused(f"sl {sl}: a {side}'s stop loss must be {below} {what} {price}")
    if tp is not None and (tp <= price if side == "buy" else tp >= price):
        raise Refused(f"tp {tp}: a {side}'s take profit must be {above} {what} {price}")
    for name, value in (("sl", sl), ("tp", tp)):
        check_level(name, value, price, what, level, point, symbol, key)


def check_level(name: str, value: float | None, price: float, what: str, level: int = 0, point: float = 0.0,
                symbol: str = "", key: str = "its stops_level") -> None:
    """Refuses ``value`` (a stop, a target, a pending order's price) nearer ``price`` than the
    symbol's stops ``level``, in points of ``point``; exactly the level away is taken, as
    MetaTrader takes it. Counted in whole points: at 65,108.41 a stop 0.05 away is
    0.049999999995634425 away in floats."""
    points = round(abs(price - value) / point, 6) if level and value and point else None
    if points is not None and points < level:
        raise Refused(f"{name} {value} is {round(points)} points from {what} {price}; "
                      f"{symbol} needs at least {level} ({key})")


def measured_stops(r: Any, kept: tuple[float | None, float | None],
                   new: tuple[float | None, float | None]) -> tuple[float | None, float | None]:
    """Which of a position's stops ``new`` (sl, tp), asked by the modify ``r`` of those ``kept``,
    are measured against the market, as the MT5 broker measures them (``mt5/orders.check_change``):
    none when nothing changes (done, as the trade server's "no changes" is), else those ``r``
    gives; one left as it is was taken before, and the market may have come near it since."""
    if new == kept:
        return None, None
    return new[0] if r.sl is not None else None, new[1] if r.tp is not None else None


def down_to_step(raw: float, step: float) -> float:
    """``raw`` lots rounded down to a whole number of ``step``, in decimal and to 9 places (0.3 /
    0.01 is 30, and so is the 1.0 - 0.8 of a float, 0.19999999999999996 / 0.01)."""
    d = Decimal(str(step))
    return float((Decimal(repr(round(raw, 9))) / d).to_integral_value(rounding=ROUND_DOWN) * d)


def volume_on_step(value: Any, name: str, step: float, low: float, high: float) -> float:
    """``value`` lots as the symbol ``name`` takes them: rounded down to its ``step`` (a size
    worked out on a chart, 0.129, is 0.12); refused below its minimum ``low`` (rounding up would
    risk more than was asked) and above its maximum ``high`` (a fat finger is refused, not cut
    down to the largest order the symbol allows). Raises Refused."""
    if not (is_number(value) and value > 0):
        raise Refused(f"volume: must be a positive number of lots, got {value!r}")
    if value > high + 1e-12:
        raise Refused(f"volume {value:g} is above {name}'s maximum {high:g}")
    volume = down_to_step(value, step)
    if volume < low - 1e-12:
        raise Refused(f"volume {value:g} is below {name}'s minimum {low:g} (step {step:g})")
    return volume


UNCLOSABLE = "no close of {lots:g} lots meets them"   # the words by which a report knows such a remainder


def closable_whole(lots: float, name: str, step: float, low: float) -> tuple[float, str | None]:
    """Of a position of ``lots`` to close whole, the lots a close may send on the symbol ``name``'s
    ``step`` and minimum ``low`` now, and what is left open and why (None: nothing is). A broker raising
    the step (or the minimum) under an open position leaves a remainder (0.05 of 0.15 at a step of 0.1)
    that no close it takes can close: it is said, never sent to be refused."""
    whole = down_to_step(lots, step)
    whole = whole if whole >= low - 1e-12 else 0.0
    rest = round(lots - whole, 8)
    if rest <= 1e-9:
        return whole, None
    return whole, (f"{rest:g} lots of {{what}} stay open: {name}'s volume_step is {step:g} and its volume_min "
                   f"{low:g} now, and " + UNCLOSABLE.format(lots=rest))


def is_unclosable(error: str | None) -> bool:
    """Whether ``error`` says a remainder no close can close is left open (``closable_whole``)."""
    return bool(error) and "volume_step is" in error and "lots meets them" in error


def is_malformed(error: str | None) -> bool:
    """Whether ``error`` refuses a request for its own values, before it was sent (a volume off the symbol's
    bounds, a price or stop not a positive price or on the wrong side of the market), so that the same
    request is refused again however often it is sent; not a level the market's moves may meet later
    (``needs at least``: the stops or freeze level), nor a broker's refusal ("MetaTrader 10018: ...")."""
    return bool(error) and re.match(r"(volume|sl|tp|price|side|ticket|expiry)\b", error) is not None \
        and "needs at least" not in error and "freeze_level" not in error


def side_of(value: Any) -> str:
    if value not in SIDES:
        raise Refused(f"side: expected buy or sell, got {value!r}")
    return value


def ticket_of(value: Any) -> int:
    if not (is_number(value) and value == int(value)):   # 1001.0 from a script is ticket 1001
        raise Refused(f"ticket: expected a ticket number, got {value!r}")
    return int(value)


def close_by_symbol(symbol: str | None, volume: float | None) -> None:
    """Refuses a close that names neither a ticket nor a symbol (no request closes everything),
    and a close by symbol with a volume: it closes whole positions, and which part of which
    position a volume meant is for the caller to say, by ticket."""
    if symbol is None:
        raise Refused("close: give a ticket, or a symbol (and optionally a side)")
    if volume is not None:
        raise Refused("volume: a close by symbol closes whole positions; close part of one by its ticket")


def filled_meanwhile(ticket: int, doing: str = "removed") -> Refused:
    """The removal of pending order ``ticket`` (a close by its ticket, of its ``type``) that
    found it filled: a cancel never closes the position the fill opened; or with ``doing``
    "changed", its modify (MetaTrader's answer, "invalid request", says nothing of the fill)."""
    return Refused(f"ticket {ticket}: the pending order was filled before it could be {doing}: position {ticket} "
                   "is open")


def position_price(ticket: int) -> Refused:
    """A modify asking a new price of ``ticket``, an open position (a pending order filled
    meanwhile, whose position takes its ticket): only a pending order's price can change, and
    its stops are not moved either (the change was asked for an entry that is no longer waiting)."""
    return Refused(f"price: position {ticket} is open; only a pending order's price can change")
