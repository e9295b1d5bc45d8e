"""What each command takes, checked once an alert's fields are read (parse.py): a symbol or none,
a size or none and which, the stops it needs and where they may be. Raises AlertError naming the field."""

from __future__ import annotations

from typing import Any

from engine.domain.alerts.model import TREND_STATES, Action, AlertError

SIZES = ("volume", "risk", "risk_amount", "units")
_CLOSES = frozenset({Action.CLOSE_LONG, Action.CLOSE_SHORT, Action.CLOSE})
# The commands on every symbol: what each does, and the command for one symbol alone. Given a symbol
# they are refused: "closeall EURUSD" is EURUSD's alone to PineConnector's users, all to others.
_EVERY_SYMBOL = {Action.CLOSE_ALL: ("closes every symbol's positions", "close"),
                 Action.CANCEL_ALL: ("removes every symbol's pending orders", "cancel")}


def check_as_sent(action: Action, v: dict[str, Any]) -> None:
    """The sizes and stops ``action`` takes as sent (before a strategy's order is read: a sell that
    leaves the strategy flat is an exit whatever size it carries). A size no close reads would close
    more than it says: closeall every position, a close with risk= the whole position."""
    sizes = [k for k in SIZES if k in v]
    if sizes and action in (Action.CLOSE_ALL, Action.NEW_SLTP):
        does = ("closes every position whole" if action is Action.CLOSE_ALL else
                f"moves the stops of every {v.get('raw_symbol', 'symbol')} position")
        raise AlertError(sizes[0], f"{action.value} {does}: give no size")
    if sizes and action in _CLOSES and sizes[0] in ("risk", "risk_amount"):
        raise AlertError(sizes[0], f"{action.value} closes volume (lots) or units, not a risk: give one of "
                                   "them, or neither to close the whole position")
    if action is Action.NEW_SLTP and not any(k in v for k in ("sl", "tp", "sl_pips", "tp_pips")):
        raise AlertError("sl", "missing: newsltp needs sl, tp, sl_pips or tp_pips")


def check_command(action: Action, v: dict[str, Any]) -> None:
    """What ``action`` (a strategy's order read) takes: a symbol or none, one size, stops on the right
    side of its price, ``price`` for a pending entry, ``expiry`` for one alone."""
    if action in _EVERY_SYMBOL and "symbol" in v:
        does, one = _EVERY_SYMBOL[action]
        raise AlertError("symbol", f"{action.value} {does} and takes no symbol: send {one} {v['raw_symbol']} for "
                                   f"{v['raw_symbol']}'s alone, or {action.value} without a symbol")
    if action not in _EVERY_SYMBOL and "symbol" not in v:
        raise AlertError("symbol", f"missing: {action.value} needs a symbol")
    if action is Action.TREND:
        if "timeframe" not in v:
            raise AlertError("timeframe", "missing: trend needs a timeframe, e.g. trend EURUSD H1 up")
        state = v.get("state", "").lower()
        if not state:
            raise AlertError("state", f"missing: trend needs a state ({', '.join(TREND_STATES)})")
        if state not in TREND_STATES:
            raise AlertError("state", f"must be one of {', '.join(TREND_STATES)}, got {v.get('state')!r}")
        v["state"] = state
        return
    sizes = [k for k in SIZES if k in v]
    if action.is_cancel and sizes:  # read as "cancel this much" it would cancel all the same
        raise AlertError(sizes[0], f"{action.value} removes whole pending orders: give no size")
    if len(sizes) > 1:
        raise AlertError(sizes[0], "give one of volume (lots), risk (a percent), risk_amount (money) or units, "
                                   f"not {' and '.join(sizes)}")
    if "risk" in v and v["risk"] > 100:
        raise AlertError("risk", f"is a percent of the balance, at most 100, got {v['risk']}")
    for a, b in (("sl", "sl_pips"), ("tp", "tp_pips")):
        if a in v and b in v:
            raise AlertError(a, f"give {a} (a price) or {b} (a distance), not both")
    if action.is_pending and "price" not in v:
        raise AlertError("price", f"missing: {action.value} needs price=")
    if "expiry" in v and not action.is_pending:
        raise AlertError("expiry", f"only a pending order (buylimit, buystop, selllimit, sellstop) waits to expire; "
                                   f"{action.value} has nothing to wait for")
    side, price = action.side, v.get("price")
    if side and price is not None:
        below, above = ("sl", "tp") if side == "buy" else ("tp", "sl")
        if below in v and not v[below] < price:
            raise AlertError(below, f"{v[below]} must be below the entry price {price} for a {side}")
        if above in v and not v[above] > price:
            raise AlertError(above, f"{v[above]} must be above the entry price {price} for a {side}")
