"""What a plugin's ``on_alert`` or ``on_order`` answer means, read in one place.

The hook chains (``hooks.py``) act on it and ``moonhook check`` reports it, so a script is
judged the same way before it goes live as after. Pure functions of the answer: nothing
here calls the sandbox.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from engine.domain.alerts import AlertError, SymbolMap, parse_json
from engine.domain.config import MAX_BODY
from engine.domain.luatext import lua_type
from engine.domain.rules import is_number

# What an on_order change may touch, and how it is checked.
ORDER_CHANGES = {"volume": "positive", "price": "positive", "sl": "price", "tp": "price", "comment": "text"}
_DERIVED = ("side", "raw_symbol", "source", "alert_id")
_REMOVABLE = {"price", "volume", "risk", "risk_amount", "units", "sl", "tp", "sl_pips", "tp_pips", "comment",
              "expiry"}
_SAME = SymbolMap()  # changed alerts are checked again without mapping symbols twice
# The most an on_alert's changes may take, in characters of JSON: what a webhook's alert may in bytes
# (by default). They are kept in the alert's journal row: a megabyte of fields a plugin added to
# each alert was a megabyte of journal an alert.
MAX_CHANGES_BYTES = MAX_BODY

PASS, REJECT, CHANGE, INVALID = "pass", "rejected", "changed", "invalid"


@dataclass
class Answer:
    """``kind`` is pass, rejected (with ``reason``), changed (``data`` is the alert or order
    with ``changes`` applied; ``handled``: the plugin placed its own orders) or invalid
    (``problem`` says why; the answer is ignored and counted as the plugin's error)."""

    kind: str
    reason: str | None = None
    changes: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    handled: bool = False
    problem: str | None = None


def reason_of(values: list) -> str:
    """The reason of a ``false, "reason"`` answer, at most 500 characters; none, or one of whitespace only
    (a notice of it said nothing after its colon), is "no reason given"."""
    reason = values[1] if len(values) > 1 else None
    return (str(reason)[:500].strip() if reason is not None else "") or "no reason given"


def _table(values: list, table: str) -> tuple[dict[str, Any], Answer | None]:
    """The answer when it is a pass, a rejection or not a table; else the table, to read."""
    value = values[0] if values else None
    if value is None or value is True:
        return {}, Answer(PASS)
    if value is False:
        return {}, Answer(REJECT, reason=reason_of(values))
    if not isinstance(value, dict):
        return {}, Answer(INVALID, problem=f"returned {_lua_kind(value)}; expected nil, {table} or false")
    return value, None


def _lua_kind(value: Any) -> str:
    """What a hook returned, in Lua's words, for its author (the codec gives Python's values)."""
    return "an array (a table of values without field names)" if isinstance(value, list) else f"a {lua_type(value)}"


def alert_answer(values: list, data: dict[str, Any]) -> Answer:
    """Reads ``on_alert``'s return ``values`` for the alert ``data`` it was given: nil or
    true passes, ``false, "reason"`` rejects, a table changes (``field = false`` removes an
    optional field, ``handled = true`` says the plugin placed its own orders).

    The changed alert is the one its check reads, as an alert sent so is: the next plugins and
    the execution see its ``side`` follow a changed action, an alias as its command, a number
    sent as text as a number. Its symbol stays: the plugins of another symbol would not see it."""
    value, answer = _table(values, "a table")
    if answer is not None:
        return answer
    changes = dict(value)
    handled = changes.pop("handled", None) is True
    merged = {**data, **changes}
    for key in [k for k, v in changes.items() if v is False and k in _REMOVABLE]:
        del merged[key]  # `field = false` removes a field (nil cannot be sent)
    if not changes:
        return Answer(CHANGE, data=merged, handled=handled)
    if (size := _size(changes)) > MAX_CHANGES_BYTES:
        return Answer(INVALID, problem=f"changes refused: they take {size} characters as JSON, at most "
                                       f"{MAX_CHANGES_BYTES} (what an alert may)")
    try:
        alert = parse_json({k: v for k, v in merged.items() if k not in _DERIVED}, _SAME)
    except AlertError as e:
        return Answer(INVALID, problem=f"changes refused: {e}")
    if alert.symbol != data.get("symbol"):
        return Answer(INVALID, problem=f"cannot change the symbol ({data.get('symbol')} to {alert.symbol}): the "
                                       f"plugins of {alert.symbol} would not see it; place the order with "
                                       "orders.market or orders.pending and return handled = true")
    read = {**alert.to_plain(), **{k: data[k] for k in _DERIVED if k in data and k != "side"}}
    if "side" in changes and changes["side"] not in (data.get("side"), read.get("side")):  # kept, or as it follows
        return Answer(INVALID, problem=f"cannot change side to {changes['side']!r}: it follows the action "
                                       f"({read.get('action')})")
    return Answer(CHANGE, changes=changes, data=read, handled=handled)


def order_answer(values: list, order: dict[str, Any]) -> Answer:
    """Reads ``on_order``'s return ``values`` for ``order``: nil or true passes, ``false,
    "reason"`` vetoes, a table changes only what ``ORDER_CHANGES`` allows."""
    value, answer = _table(values, "a table of changes")
    if answer is not None:
        return answer
    for key, v in value.items():
        rule = ORDER_CHANGES.get(key)
        if rule is None:
            return Answer(INVALID, problem=f"cannot change {key!r} (only {', '.join(ORDER_CHANGES)})")
        if rule == "text":
            if not isinstance(v, str) or len(v) > 64:
                return Answer(INVALID, problem=f"{key} must be a string of at most 64 characters")
        elif not is_number(v) or v < 0 or (rule == "positive" and v == 0):   # NaN and inf too, as on_alert's
            kind = "positive number" if rule == "positive" else "price (0 removes it)"
            return Answer(INVALID, problem=f"{key} must be a {kind}, got {v!r}")
    return Answer(CHANGE, changes=dict(value), data={**order, **value})


def _size(changes: dict[str, Any]) -> int:
    """About the characters ``changes`` take as JSON: summed when they are scalars (the usual few), else
    measured."""
    size = 0
    for key, value in changes.items():
        kind = type(value)
        if kind is str:
            size += len(key) + len(value) + 6
        elif kind in (int, float, bool) or value is None:
            size += len(key) + 24
        else:
            return len(json.dumps(changes, separators=(",", ":"), ensure_ascii=False))
    return size
