"""How the shadow's decision on an alert differs from the live one, as readable lines.

What a trader cares about is compared: the status; each plugin's ``on_alert`` result (pass,
change with its changes, reject with its reason, error); the orders (plugin, kind, side,
symbol, volume, stops set or not, other plugins' ``on_order`` changes, placed or refused, and
a veto's reason); the default execution's error, note, trend and who handled the alert. What
only says which broker answered (tickets, fill prices, stop levels from a quote, client ids,
a broker's own wording of a refusal, latency) is not a difference, nor is the order in which a
plugin placed the same orders, nor a comment's wording (only whether a plugin set one).

Pure functions of two outcomes as the journal keeps them (``decide.py``).
"""

from __future__ import annotations

import json
from itertools import zip_longest
from typing import Any

from engine.domain.orders import OPENING

ABSENT = "absent"
_NOTES = ("error", "note", "trend", "handled_by")


def differences(live_status: str, live: dict[str, Any], status: str, shadow: dict[str, Any]) -> list[str]:
    """The differences from the live outcome to the shadow's, one line each, like
    ``trend: reject (no stop) → pass`` or ``order engine market: 0.1 → absent``; [] when the
    decisions are the same."""
    out: list[str] = []
    if live_status != status:
        out.append(f"status: {live_status} → {status}")
    out += _keyed(_steps(live), _steps(shadow), "")
    sent = _records_sent(live)
    out += _orders_differ(_orders(live, sent), _orders(shadow, sent))
    for key in _NOTES:
        a, b = live.get(key), shadow.get(key)
        if a != b:
            out.append(f"{key}: {_text(a)} → {_text(b)}")
    return out


def _keyed(live: dict[str, tuple[Any, str]], shadow: dict[str, tuple[Any, str]], prefix: str) -> list[str]:
    """``name: before → after`` for each name whose compared value differs (a missing one is
    absent); live's order first, then the names only the shadow has."""
    out = []
    for name in [*live, *(n for n in shadow if n not in live)]:
        a, b = live.get(name), shadow.get(name)
        if (a and a[0]) != (b and b[0]):
            out.append(f"{prefix}{name}: {a[1] if a else ABSENT} → {b[1] if b else ABSENT}")
    return out


def _steps(outcome: dict[str, Any]) -> dict[str, tuple[Any, str]]:
    """Each plugin's on_alert step: plugin -> (what is compared, how it reads)."""
    out = {}
    for step in outcome.get("plugins") or ():
        if not isinstance(step, dict) or not isinstance(step.get("plugin"), str):
            continue
        result = step.get("result")
        if result == "rejected":
            key, text = (result, step.get("reason")), f"reject ({step.get('reason')})"
        elif result == "changed":
            changes = step.get("changes") or {}
            key = (result, _compared(changes), bool(step.get("handled")))
            text = "change (" + ", ".join(f"{k}={_text(v)}" for k, v in sorted(changes.items())) + ")"
            text += " handled" if step.get("handled") else ""
        else:  # pass, error (an error's wording carries file and line: not compared)
            key, text = (result,), str(result)
        out[step["plugin"]] = (key, text)
    return out


def _records_sent(live: dict[str, Any]) -> bool:
    """Whether the live outcome's orders keep what was sent (``desk.SENT``): one journaled
    before they did (decided before an upgrade, shadowed after it) has volumes only, and what
    was sent is then not compared, as it cannot differ from nothing recorded."""
    placed = [o for o in live.get("orders") or () if isinstance(o, dict) and o.get("ok")]
    return not placed or any("symbol" in o for o in placed)


def _orders(outcome: dict[str, Any], sent: bool = True) -> dict[str, list[tuple[Any, str]]]:
    """The orders by "plugin kind", in the outcome's order: (what is compared, how it reads)
    each; ``sent``: with what was sent (``_placed``)."""
    out: dict[str, list[tuple[Any, str]]] = {}
    for order in outcome.get("orders") or ():
        if not isinstance(order, dict):
            continue
        error = order.get("error")
        if order.get("ok"):
            key, text = _placed(order, sent)
        elif isinstance(error, str) and error.startswith("vetoed by "):
            key, text = ("vetoed", error), error
        else:  # the broker's refusal: its wording is the broker's own
            key, text = ("refused",), f"refused ({error})" if error else "refused"
        out.setdefault(f"{order.get('plugin')} {order.get('kind')}", []).append((key, text))
    return out


def _orders_differ(live: dict[str, list[tuple[Any, str]]], shadow: dict[str, list[tuple[Any, str]]]) -> list[str]:
    """``order plugin kind: before → after`` (#2, #3 for a plugin's next of that kind) for the
    orders of a kind one side placed and the other did not. The same orders in another order
    are not a difference: a script walking a table with ``next`` (or keyed by tables) gets an
    order of each Lua state's own, so the same script places them in one order live and in another in the shadow."""
    out = []
    for name in [*live, *(n for n in shadow if n not in live)]:
        a, b = list(enumerate(live.get(name, []))), list(enumerate(shadow.get(name, [])))
        for item in list(a):
            match = next((other for other in b if other[1][0] == item[1][0]), None)
            if match is not None:
                a.remove(item)
                b.remove(match)
        for x, y in zip_longest(a, b):
            n = (x or y)[0]   # named by its place on live's side (on the shadow's, one only it placed)
            out.append(f"order {name}{f' #{n + 1}' if n else ''}: {x[1][1] if x else ABSENT} → "
                       f"{y[1][1] if y else ABSENT}")
    return out


def _placed(order: dict[str, Any], sent: bool = True) -> tuple[Any, str]:
    """A placed order's side, symbol, pending type and volume, whether it carries a stop and
    a target (their levels come from each broker's quote: not compared), and what the other
    plugins' ``on_order`` changed in it; without ``sent``, its volume and those changes only."""
    words = [str(order[k]) for k in ("side", "symbol", "type") if sent and order.get(k) is not None]
    volume = order.get("volume")
    words.append(_text(volume) if volume is not None else "placed")
    if sent and order.get("kind") in OPENING:
        words += [k for k in ("sl", "tp") if order.get(k) is not None] or ["no stops"]
    changed = [(s.get("plugin"), s.get("changes")) for s in order.get("on_order") or ()
               if isinstance(s, dict) and s.get("result") == "changed"]
    text = " ".join(words) + "".join(f", {p} changed {_canonical(c)}" for p, c in changed)
    return ("ok", *words, *((p, _compared(c)) for p, c in changed)), text


def _compared(changes: Any) -> str:
    """What of a plugin's changes is compared: all, but a comment's wording, only that it set
    one (it often carries a ticket or a time, each broker's or each run's own)."""
    if isinstance(changes, dict) and "comment" in changes:
        changes = {**changes, "comment": changes["comment"] is not None}
    return _canonical(changes)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _text(value: Any) -> str:
    if value is None:
        return ABSENT
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, (dict, list)):
        return _canonical(value)
    return str(value)
