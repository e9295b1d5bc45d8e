"""The report of a replay as JSON (``--json``, ``--summary``; the dashboard editor's replay reads
the summary): plain values, keys sorted, money in cents, so the same outcome gives the same bytes."""

from __future__ import annotations

import json
from typing import Any

from engine.app.replay.pending import PendingOrder
from engine.app.replay.records import ClosedTrade, OpenPosition
from engine.app.replay.report import Decision, Fault, Order, Report, money, net, unexecuted_counts


def open_json(p: OpenPosition) -> dict[str, Any]:
    x = p.position
    return {"ticket": x.ticket, "symbol": x.symbol, "side": x.side, "volume": x.volume, "open_time": x.opened_at,
            "open_price": x.price_open, "sl": x.sl, "tp": x.tp, "last_price": p.price_last,
            "profit": None if p.profit is None else money(p.profit), "plugin": x.plugin}


def waiting_json(o: PendingOrder) -> dict[str, Any]:
    return {"ticket": o.ticket, "symbol": o.symbol, "side": o.side, "type": o.type, "volume": o.volume,
            "price": o.price, "sl": o.sl, "tp": o.tp, "placed_time": o.placed_at, "plugin": o.plugin}


def trade_json(t: ClosedTrade) -> dict[str, Any]:
    return {"symbol": t.symbol, "side": t.side, "volume": t.volume, "open_time": t.open_time,
            "open_price": t.open_price, "close_time": t.close_time, "close_price": t.close_price,
            "profit": money(t.profit), "commission": money(t.commission), "net": money(net(t)),
            "reason": t.reason, "plugin": t.plugin}


def order_json(o: Order) -> dict[str, Any]:
    return {"alert": o.alert, "symbol": o.symbol, "side": o.side, "volume": o.volume,
            "price": o.price, "sl": o.sl, "tp": o.tp, "plugin": o.plugin, "error": o.error}


def decision_json(d: Decision) -> dict[str, Any]:
    return {"alert": d.alert, "plugin": d.plugin, "result": d.result, "detail": d.detail}


def fault_json(f: Fault) -> dict[str, Any]:
    return {"where": f.where, "plugin": f.plugin, "what": f.what, "kind": f.kind, "alert": f.alert}


PER_ALERT = ("closed_trades", "equity", "decisions", "orders")   # what ``summary`` leaves out
SUMMARY_ITEMS = 100   # and the most it lists of anything else that can grow with the alerts


def as_dict(report: Report, summary: bool = False) -> dict[str, Any]:
    """The report as plain JSON values; with ``summary``, without the lists that grow with
    the alerts (PER_ALERT) and at most SUMMARY_ITEMS of each other list (``fault_count``,
    ``problem_count``, ``failed_count`` and ``expired_count`` say how many there are)."""
    o, dd = report.outcome, report.drawdown

    def cut(items: list) -> list:
        return items[:SUMMARY_ITEMS] if summary else items

    out = {
        "scripts": o.scripts, "alerts": o.alerts, "start": o.start, "end": o.end,
        "prices_simulated": o.prices_simulated, "timer_every": o.timer_every,
        "trades": report.trades, "wins": report.wins, "profit": report.profit,
        "gross_profit": report.gross_profit, "gross_loss": report.gross_loss,
        "commission": report.commission, "win_rate": report.win_rate,
        "profit_factor": report.profit_factor,
        "stopped_out": {"positions": report.stopped_out, "net": report.stopped_out_net},
        "drawdown": {"money": dd.money, "percent": dd.percent, "peak": dd.peak, "trough": dd.trough,
                     "peak_time": dd.peak_time, "trough_time": dd.trough_time},
        "plugins": {p.plugin: {"results": p.results,
                               "rejections": [{"reason": r, "count": n} for r, n in cut(p.rejections)],
                               "changes": [{"change": c, "count": n} for c, n in cut(p.changes)],
                               "faults": [fault_json(f) for f in cut(p.faults)], "fault_count": len(p.faults)}
                    for p in report.plugins},
        "closed_trades": [trade_json(t) for t in o.trades],
        "equity": [[t, money(v)] for t, v in o.equity],
        "decisions": [decision_json(d) for d in o.decisions],
        "orders": [order_json(x) for x in o.orders],
        "open_positions": [open_json(p) for p in o.open],
        "pending_orders": [waiting_json(x) for x in o.waiting],
        "problems": [{"where": p.where, "what": p.what} for p in cut(o.problems)],
        "problem_count": len(o.problems),
        "not_executed": [{"alert": x.alert, "status": x.status, "reason": x.reason} for x in cut(o.unexecuted)],
        "failed_count": unexecuted_counts(o)[0], "expired_count": unexecuted_counts(o)[1],
    }
    return {k: v for k, v in out.items() if k not in PER_ALERT} if summary else out


def dumps(value: Any) -> str:
    """Stable JSON: sorted keys, two-space indent, no NaN, a final newline."""
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def to_json(report: Report, summary: bool = False) -> str:
    """The report as JSON text (``--json``; ``--summary``: see ``as_dict``)."""
    return dumps(as_dict(report, summary))
