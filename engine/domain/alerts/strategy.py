"""A Pine strategy's order, read with the position it leaves.

TradingView fires a strategy's alert for every order it fills, and ``{{strategy.order.action}}``
is only the order's side: the sell that takes a long back to flat is a "sell", as is the one
that opens a short. Sent as an entry, an exit would open a position the other way (or be
refused by a filter that wants a stop on entries) and leave the long open. With the position
the order leaves (``{{strategy.market_position}}``, and its size,
``{{strategy.market_position_size}}``, or the signed ``{{strategy.position_size}}``), the alert
says what it is:

- the position flat: an exit of the whole position (``closelong`` after a sell), whatever
  size the order carries: the strategy holds nothing, so neither may the account (an earlier
  partial exit rounded down to the lot step leaves more lots than the order's units);
- still on the side the order reduces (a sell leaving a smaller long): a partial exit, of the
  order's size;
- on the order's side: an entry; the execution first closes any position the other way (a
  reversal), and opens only the new position: the order's contracts count the position it
  closes too, so with ``units`` the size opened is at most ``position_size``.
"""

from __future__ import annotations

from typing import Any

from engine.domain.alerts.model import POSITIONS, Action, AlertError

TEMPLATE = "{{strategy.market_position_size}}"


def read_strategy_order(action: Action | None, v: dict[str, Any]) -> Action | None:
    """The command a buy or sell means given ``v["position"]`` (checked and lowered in ``v``);
    other commands are kept as they are, but a pending entry's is refused: it would be read as a
    reversal that never happens. Raises AlertError naming the field."""
    position = str(v["position"]).strip().lower()
    if position not in POSITIONS:
        raise AlertError("position", f"must be one of {', '.join(POSITIONS)} (TradingView's "
                                     f"{{{{strategy.market_position}}}}), got {v['position']!r}")
    v["position"] = position
    size = v.get("position_size")
    if size is not None and size < 0:  # {{strategy.position_size}}: signed, below 0 for a short
        if position != "short":
            raise AlertError("position_size", f"{size:g} is a short's size (below 0), but position is {position}")
        size = v["position_size"] = -size
    if position == "flat" and size:
        raise AlertError("position_size", f"must be 0 when position is flat, got {size:g}")
    if position != "flat" and size == 0:
        raise AlertError("position_size", f"must be above 0 when position is {position}")
    if action is not None and action.is_pending:  # taken as it came, it left the other way's position open
        raise AlertError("position", f"not taken with {action.value}: a pending order closes nothing, and fills "
                                     "later; send closelong or closeshort with it, or buy or sell with position")
    if action not in (Action.BUY, Action.SELL):
        return action
    if position == "flat":  # every position on that side: the order's size would leave what rounding kept
        v.pop("units", None)
        v.pop("volume", None)
        return Action.CLOSE_SHORT if action is Action.BUY else Action.CLOSE_LONG
    if (action is Action.BUY) != (position == "long"):  # the order reduces the position: a partial exit
        return Action.CLOSE_LONG if position == "long" else Action.CLOSE_SHORT
    if "units" in v:
        if size is None:
            raise AlertError("position_size", f"missing: with position and units, give position_size ({TEMPLATE}): "
                                              "the order's contracts also count a position it reverses")
        v["units"] = min(v["units"], size)
    return action


def check_size_without_position(action: Action | None, v: dict[str, Any]) -> None:
    """Refuses ``position_size`` without ``position`` where it would be misread: a buy or sell
    without a position always opens one, so ``sell ... position_size=0`` (the strategy left
    flat: an exit) would open a short; and an unsigned size cannot tell a long from a short."""
    size = v.get("position_size")
    if size is None:
        return
    if action in (Action.BUY, Action.SELL):
        raise AlertError("position_size", f"given without position: add position ({{{{strategy.market_position}}}}) "
                                          f"so that an exit is read as one; without it, {action.value} opens a "
                                          "position whatever size the strategy is left with")
    if size < 0:
        raise AlertError("position_size", f"must be a non-negative number without position, got {size:g}")
