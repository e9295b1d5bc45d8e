"""``--compare`` (issue 22): two replays of the same alerts side by side. It lists each alert
where the plugins' decisions or the orders differ, or the trades it opened closed otherwise
(another exit, time, price or net: a stop a script moved, which places no order of the
alert's), both sides shown, and the difference in profit (b less a: what the other version
would have made more). Rendered as text and JSON
here, as HTML in ``report_html``; deterministic like the report.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

from engine.domain.words import counted

from engine.app.replay.records import ClosedTrade
from engine.app.replay.report import (Decision, Order, Outcome, Report, cash, decision_text, money, net, notes, num,
                                      open_count, order_text, plain, stopped_text, when)
from engine.app.replay.report_json import SUMMARY_ITEMS, as_dict, decision_json, dumps, order_json, trade_json

NO_ALERT = "no alert"   # the trades of positions a timer or a hook opened
_LINE = re.compile(r"(\.lua):\d+")   # a script's line in an error's wording


@dataclass(frozen=True)
class AlertDifference:
    """One alert both replays answered differently: each side's decisions and orders, and the
    trades of the positions it opened, in replay order."""
    alert: str
    a_decisions: tuple[Decision, ...]
    b_decisions: tuple[Decision, ...]
    a_orders: tuple[Order, ...]
    b_orders: tuple[Order, ...]
    a_trades: tuple[ClosedTrade, ...] = ()
    b_trades: tuple[ClosedTrade, ...] = ()


@dataclass(frozen=True)
class Comparison:
    """Report ``a`` (the one replayed first, usually the live scripts) against ``b``."""
    a: Report
    b: Report
    differences: list[AlertDifference]

    @property
    def profit_difference(self) -> float:
        return money(self.b.profit - self.a.profit)


def _by_alert(items: list[Any]) -> dict[str, tuple[Any, ...]]:
    out: dict[str, list[Any]] = {}
    for item in items:
        out.setdefault(item.alert, []).append(item)
    return {k: tuple(v) for k, v in out.items()}


def _trades_by_alert(o: Outcome) -> dict[str, tuple[ClosedTrade, ...]]:
    out: dict[str, list[ClosedTrade]] = {}
    for t in o.trades:
        out.setdefault(o.alert_names.get(t.alert_id, NO_ALERT) if t.alert_id is not None else NO_ALERT, []).append(t)
    return {k: tuple(v) for k, v in out.items()}


def _exits(trades: tuple[ClosedTrade, ...]) -> list[tuple[Any, ...]]:
    """How the trades closed: what, how much, when, where, why, for what net."""
    return [(t.symbol, t.side, t.volume, t.close_time, t.close_price, t.reason, money(net(t))) for t in trades]


def _decided(decisions: tuple[Decision, ...]) -> list[tuple[str, str, str]]:
    """What of the decisions is compared: an error's wording without the line it names, which
    moves with every line added above it (the same error on the same alert is no difference)."""
    return [(d.plugin, d.result, _LINE.sub(r"\1", d.detail) if d.result == "error" else d.detail)
            for d in decisions]


def compare(a: Report, b: Report) -> Comparison:
    """The alerts where ``a`` and ``b`` differ, in ``a``'s order of the alerts (then those only
    ``b`` has decided on, in its order); not the order an alert's orders came in. Raises ValueError when
    the two did not replay the same alerts (their count or span differ)."""
    oa, ob = a.outcome, b.outcome
    if (oa.alerts, oa.start, oa.end) != (ob.alerts, ob.start, ob.end):
        raise ValueError(f"compare: the two replays did not cover the same alerts "
                         f"({oa.alerts} from {oa.start} to {oa.end}, "
                         f"{ob.alerts} from {ob.start} to {ob.end})")
    da, db = _by_alert(oa.decisions), _by_alert(ob.decisions)
    xa, xb = _by_alert(oa.orders), _by_alert(ob.orders)
    ta, tb = _trades_by_alert(oa), _trades_by_alert(ob)
    alerts = list(dict.fromkeys([*da, *xa, *db, *xb, *ta, *tb]))
    differences = []
    for alert in alerts:
        sides = (da.get(alert, ()), db.get(alert, ()), xa.get(alert, ()), xb.get(alert, ()),
                 ta.get(alert, ()), tb.get(alert, ()))
        # The same orders or exits in another order are not a difference: a script walking a table
        # with next (or keyed by tables) gets an order of each Lua state's own.
        if _decided(sides[0]) != _decided(sides[1]) or Counter(sides[2]) != Counter(sides[3]) or \
                Counter(_exits(sides[4])) != Counter(_exits(sides[5])):
            differences.append(AlertDifference(alert, *sides))
    return Comparison(a, b, differences)


def side_text(decisions: tuple[Decision, ...], orders: tuple[Order, ...],
              trades: tuple[ClosedTrade, ...] | None = None) -> str:
    """One side of a difference: "plugin: result (detail); ... -> order; ...", then, given
    ``trades`` (when either side closed one), " -> closed sl at 1.0802 (time), net -40.00; ..."."""
    said = "; ".join(decision_text(x) for x in decisions) or "no decision"
    said = f"{said} -> " + ("; ".join(order_text(x) for x in orders) or "no order")
    if trades is None:
        return said
    return f"{said} -> " + ("; ".join(f"closed {t.reason} at {num(t.close_price)} ({when(t.close_time)}), "
                                      f"net {cash(net(t))}" for t in trades) or "nothing closed")


def trades_shown(d: AlertDifference, side: str) -> tuple[ClosedTrade, ...] | None:
    """``side``'s trades of ``d`` to show: None when neither side closed one."""
    return (d.a_trades if side == "a" else d.b_trades) if d.a_trades or d.b_trades else None


def _label(report: Report, fallback: str) -> str:
    return report.outcome.scripts or fallback


def compare_text(comparison: Comparison) -> str:
    """The comparison as a terminal summary, ending with a newline."""
    a, b = comparison.a, comparison.b
    la, lb = _label(a, "a"), _label(b, "b")
    lines = [f"compare {la} (a) with {lb} (b) over {counted(a.outcome.alerts, 'alert')}",
             *(f"NOTE {note}" for note in notes(a.outcome, b.outcome)),
             f"profit  a {cash(a.profit)}  b {cash(b.profit)}  b-a {cash(comparison.profit_difference)}",
             f"trades  a {a.trades}  b {b.trades}"]
    if a.stopped_out or b.stopped_out:   # in the figures above: said as the report's text says it
        lines.append(f"stopped out  a {stopped_text(a)}  b {stopped_text(b)}")
    if a.outcome.open or b.outcome.open:   # a losing position left open is not in the profit: said beside it
        lines.append(f"open at the end, not in the profit  a {open_count(a.outcome)}  b {open_count(b.outcome)}")
    lines.append(f"alerts that differ: {len(comparison.differences)}")
    for d in comparison.differences:
        lines.append(f"alert {d.alert}")
        for side, decisions, orders in (("a", d.a_decisions, d.a_orders), ("b", d.b_decisions, d.b_orders)):
            lines.append(f"  {side}: {side_text(decisions, orders, trades_shown(d, side))}")
    return "\n".join(plain(line) for line in lines) + "\n"


def compare_dict(comparison: Comparison, summary: bool = False) -> dict[str, Any]:
    """The comparison as plain JSON values, both reports whole; with ``summary``, the reports'
    summaries (``as_dict``) and the first SUMMARY_ITEMS differing alerts. ``differing`` counts
    them all."""
    shown = comparison.differences[:SUMMARY_ITEMS] if summary else comparison.differences
    return {
        "a": as_dict(comparison.a, summary), "b": as_dict(comparison.b, summary),
        "profit_difference": comparison.profit_difference,
        "differing": len(comparison.differences),
        "differences": [{
            "alert": d.alert,
            "a": {"decisions": [decision_json(x) for x in d.a_decisions],
                  "orders": [order_json(x) for x in d.a_orders], "trades": [trade_json(x) for x in d.a_trades]},
            "b": {"decisions": [decision_json(x) for x in d.b_decisions],
                  "orders": [order_json(x) for x in d.b_orders], "trades": [trade_json(x) for x in d.b_trades]},
        } for d in shown],
    }


def compare_json(comparison: Comparison, summary: bool = False) -> str:
    """The comparison as JSON text (``--compare --json``; ``--summary``: see ``compare_dict``)."""
    return dumps(compare_dict(comparison, summary))
