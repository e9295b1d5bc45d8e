"""The facade's history views on a year of journal (``python -m bench.history_bench``).

A year is seeded fast in the real schema: the real engine on paper takes one trade (a buy, then
its close: two alerts, their orders in the ledger, the paper books' orders and deals), and its
rows are copied over the year before, each copy a position of its own, its profit varied. Then
each view an interface reads is timed through ``Operations`` on the real engine: the Trades page
at its defaults and a late page, Telegram's /trades (today and a week), the overview, the alerts
list (plain and by status), the orders list and the metrics scrape.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from contextlib import closing
from pathlib import Path
from typing import Any, Awaitable, Callable

import trio

from engine.app import open_engine
from engine.app.operations import Operations
from engine.domain.alerts import parse_body
from engine.domain.config import EngineConfig

YEAR = 365 * 86_400.0


async def _template(config: EngineConfig) -> None:
    """One trade taken by the real engine: the rows every copy is made of."""
    async with open_engine(config) as engine:
        for body in ("buy EURUSD volume=1 price=1.1 sl=1.09", "close EURUSD price=1.1001"):
            await engine.submit(parse_body(body))
            await engine.drain()


def _copies(db: sqlite3.Connection, table: str) -> tuple[list[str], list[dict[str, Any]]]:
    columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
    return columns, [dict(zip(columns, row)) for row in db.execute(f"SELECT * FROM {table}")]


def seed(database: Path, trades: int, now: float) -> None:
    """``trades`` copies of the journal's one trade (two alerts each), spread over the year
    before ``now``, oldest first; every copy a position, alert, order and deal of its own."""
    with closing(sqlite3.connect(database)) as db, db:
        tables = {t: _copies(db, t) for t in ("alerts", "orders", "paper_orders", "paper_deals")}
        base = max(r["id"] for r in tables["alerts"][1])
        ticket = max(r["ticket"] for r in tables["paper_orders"][1])
        deal = max(r["deal"] for r in tables["paper_deals"][1])
        start, step = now - YEAR, YEAR / (trades + 1)
        first = min(r["received_at"] for r in tables["alerts"][1])
        rows: dict[str, list[list[Any]]] = {t: [] for t in tables}
        for k in range(trades):
            shift = start + k * step - first
            alert_of = {r["id"]: base + 2 * k + i + 1 for i, r in enumerate(sorted(tables["alerts"][1],
                                                                                   key=lambda r: r["id"]))}
            position = ticket + 2 * k + 1
            ticket_of = {r["ticket"]: ticket + 2 * k + i + 1 for i, r in enumerate(sorted(
                tables["paper_orders"][1], key=lambda r: r["ticket"]))}
            profit = ((k * 7919) % 2001 - 1000) / 10.0  # -100.0 .. +100.0, a varied curve
            for r in tables["alerts"][1]:
                rows["alerts"].append({**r, "id": alert_of[r["id"]], "received_at": r["received_at"] + shift,
                                       "updated_at": r["updated_at"] + shift, "source_id": None,
                                       "content_hash": f"{r['content_hash']}-{k}"})
            for r in tables["orders"][1]:
                result = json.loads(r["result"]) if r["result"] else None
                if result and result.get("ticket") is not None:
                    result["ticket"] = ticket_of.get(result["ticket"], position)
                rows["orders"].append({**r, "client_id": f"{r['client_id']}-{k}", "alert_id": alert_of[r["alert_id"]],
                                       "result": json.dumps(result), "created_at": r["created_at"] + shift,
                                       "done_at": r["done_at"] + shift if r["done_at"] else None})
            for r in tables["paper_orders"][1]:
                rows["paper_orders"].append({**r, "ticket": ticket_of[r["ticket"]],
                                             "client_id": f"{r['client_id']}-{k}",
                                             "alert_id": alert_of.get(r["alert_id"]),
                                             "created_at": r["created_at"] + shift,
                                             "done_at": r["done_at"] + shift if r["done_at"] else None})
            for i, r in enumerate(sorted(tables["paper_deals"][1], key=lambda r: r["deal"])):
                rows["paper_deals"].append({**r, "deal": deal + 2 * k + i + 1, "position": position,
                                            "order_ticket": ticket_of.get(r["order_ticket"]),
                                            "alert_id": alert_of.get(r["alert_id"]), "time": r["time"] + shift,
                                            "client_id": f"{r['client_id']}-{k}",
                                            "profit": profit if r["entry"] != "in" else 0.0})
        for table, (columns, _) in tables.items():
            db.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                           [[r[c] for c in columns] for r in rows[table]])


async def _timed(read: Callable[[], Awaitable[Any]], runs: int) -> dict[str, float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await read()
        times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": round(statistics.median(times), 1), "min_ms": round(min(times), 1)}


async def measure(trades: int, runs: int = 5) -> dict[str, Any]:
    """Each view's time (ms, median and least of ``runs``) on a journal of ``trades`` seeded trades."""
    with tempfile.TemporaryDirectory() as tmp:
        scripts = Path(tmp) / "scripts"
        scripts.mkdir()
        config = EngineConfig(scripts=scripts, data=Path(tmp) / "data", dedup_window=0)
        await _template(config)
        seed(config.database, trades, time.time() - 3600)
        async with open_engine(config) as engine:
            ops = Operations(engine)
            views: dict[str, Callable[[], Awaitable[Any]]] = {
                "trades (limit 100)": lambda: ops.trades(),
                "trades (offset 5000)": lambda: ops.trades(100, offset=5_000),
                "telegram /trades (today)": lambda: ops.closed_since(None, 10),
                "telegram /trades 7 (a week)": lambda: ops.closed_since(7, 10),
                "overview": lambda: ops.overview(),
                "alerts (limit 100)": lambda: ops.alerts(100),
                "alerts (status done)": lambda: ops.alerts(100, status="done"),
                "orders (limit 100)": lambda: ops.orders(100),
                "metrics": lambda: ops.metrics(),
            }
            out = {"trades": trades, "alerts": 2 * trades}
            for name, read in views.items():
                # The overview's trades of today are read, not the last read's (before and since 2026-12-06).
                _forget_today(ops)
                out[name] = await _timed(read, runs)
            return out


def _forget_today(ops: Operations) -> None:
    if hasattr(ops, "_today"):
        ops._today = None
    else:
        ops._trades.today = None


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.history_bench")
    p.add_argument("--trades", type=int, default=10_000, help="trades seeded (two alerts each)")
    p.add_argument("--runs", type=int, default=5)
    a = p.parse_args(argv)
    print(json.dumps(trio.run(measure, a.trades, a.runs), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
