"""``--compare`` (issue 22): two replays of the same alerts side by side. It lists each alert
where the plugins' decisions or the orders differ, both sides shown, and the difference in
profit (b less a: what the other version would have made more). Rendered as text and JSON
here, as HTML in ``report_html``; deterministic like the report.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.app.replay.report import (SUMMARY_ITEMS, Decision, Order, Report, as_dict, cash, decision_json,
                                      decision_text, dumps, money, order_json, order_text, plain)


@dataclass(frozen=True)
class AlertDifference:
    """One alert both replays answered differently: each side's decisions and orders, in
    replay order."""
    alert: str
    a_decisions: tuple[Decision, ...]
    b_decisions: tuple[Decision, ...]
    a_orders: tuple[Order, ...]
    b_orders: tuple[Order, ...]


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


def compare(a: Report, b: Report) -> Comparison:
    """The alerts where ``a`` and ``b`` differ, in ``a``'s order of the alerts (then those only
    ``b`` has decided on, in its order). Raises ValueError when the two did not replay the same
    alerts (their count or span differ)."""
    oa, ob = a.outcome, b.outcome
    if (oa.alerts, oa.start, oa.end) != (ob.alerts, ob.start, ob.end):
        raise ValueError(f"compare: the two replays did not cover the same alerts "
                         f"({oa.alerts} from {oa.start} to {oa.end}, "
                         f"{ob.alerts} from {ob.start} to {ob.end})")
    da, db = _by_alert(oa.decisions), _by_alert(ob.decisions)
    xa, xb = _by_alert(oa.orders), _by_alert(ob.orders)
    alerts = list(dict.fromkeys([*da, *xa, *db, *xb]))
    differences = []
    for alert in alerts:
        sides = (da.get(alert, ()), db.get(alert, ()), xa.get(alert, ()), xb.get(alert, ()))
        if sides[0] != sides[1] or sides[2] != sides[3]:
            differences.append(AlertDifference(alert, *sides))
    return Comparison(a, b, differences)


def side_text(decisions: tuple[Decision, ...], orders: tuple[Order, ...]) -> str:
    """One side of a difference: "plugin: result (detail); ... -> order; ..."."""
    said = "; ".join(decision_text(x) for x in decisions) or "no decision"
    return f"{said} -> " + ("; ".join(order_text(x) for x in orders) or "no order")


def _label(report: Report, fallback: str) -> str:
    return report.outcome.scripts or fallback


def compare_text(comparison: Comparison) -> str:
    """The comparison as a terminal summary, ending with a newline."""
    a, b = comparison.a, comparison.b
    la, lb = _label(a, "a"), _label(b, "b")
    lines = [f"compare {la} (a) with {lb} (b) over {a.outcome.alerts} alerts",
             f"profit  a {cash(a.profit)}  b {cash(b.profit)}  b-a {cash(comparison.profit_difference)}",
             f"trades  a {a.trades}  b {b.trades}",
             f"alerts that differ: {len(comparison.differences)}"]
    for d in comparison.differences:
        lines.append(f"alert {d.alert}")
        for side, decisions, orders in (("a", d.a_decisions, d.a_orders), ("b", d.b_decisions, d.b_orders)):
            lines.append(f"  {side}: {side_text(decisions, orders)}")
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
                  "orders": [order_json(x) for x in d.a_orders]},
            "b": {"decisions": [decision_json(x) for x in d.b_decisions],
                  "orders": [order_json(x) for x in d.b_orders]},
        } for d in shown],
    }


def compare_json(comparison: Comparison, summary: bool = False) -> str:
    """The comparison as JSON text (``--compare --json``; ``--summary``: see ``compare_dict``)."""
    return dumps(compare_dict(comparison, summary))
