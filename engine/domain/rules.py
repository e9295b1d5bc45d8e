"""The checks every broker makes of a request, as pure functions (the paper broker and the
MetaTrader 5 broker both use them): a side, a ticket, stops on the right side of the price;
and ``Refused``, what a broker raises for a request it will not execute."""

from __future__ import annotations

import math
from typing import Any

from engine.domain.orders import SIDES


class Refused(Exception):
    """A request the broker will not execute; the message is the answer."""


def is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def check_stops(side: str, price: float, sl: float | None, tp: float | None, what: str) -> None:
    below, above = ("below", "above") if side == "buy" else ("above", "below")
    if sl is not None and (sl >= price if side == "buy" else sl <= price):
        raise Refused(f"sl {sl}: a {side}'s stop loss must be {below} {what} {price}")
    if tp is not None and (tp <= price if side == "buy" else tp >= price):
        raise Refused(f"tp {tp}: a {side}'s take profit must be {above} {what} {price}")


def side_of(value: Any) -> str:
    if value not in SIDES:
        raise Refused(f"side: expected buy or sell, got {value!r}")
    return value


def ticket_of(value: Any) -> int:
    if not (is_number(value) and value == int(value)):   # 1001.0 from a script is ticket 1001
        raise Refused(f"ticket: expected a ticket number, got {value!r}")
    return int(value)


def filled_meanwhile(ticket: int) -> Refused:
    """The removal of pending order ``ticket`` (a close by its ticket, of its ``type``) that
    found it filled: a cancel never closes the position the fill opened."""
    return Refused(f"ticket {ticket}: the pending order was filled before it could be removed: position {ticket} "
                   "is open")
