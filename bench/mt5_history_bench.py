"""The Trades page on MetaTrader 5 at a year of deals (``python -m bench.mt5_history_bench``).

The journal is seeded as bench/history_bench.py seeds it (the real engine's trade copied N times
over the year before: its alerts, the ledger's orders that opened each position), and a terminal's
history is made of its deals: each paper deal a MetaTrader deal of the same position, time, side,
volume, price, profit and commission. The real ``MT5Broker`` reads it through its own seam
(``query``, the link's call) from memory: what is timed is moonhook's side, the rows made of the
terminal's deals and the page made of them (``TradeReads.trades``, as ``GET /api/trades`` reads
it), not the link nor a terminal's search (the stand-in's reads every row it keeps at each call).
Timed: the first read (the whole history), then reads each after a fill (a position opened and
closed, two deals, as the page asks after every fill).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import tempfile
import time
from bisect import bisect_left, bisect_right
from contextlib import closing
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import trio

from bench.history_bench import _template, seed
from engine.adapters.brokers.mt5 import MT5Broker
from engine.adapters.storage import Database
from engine.app.trade_reads import TradeReads
from engine.domain.config import EngineConfig
from engine.domain.config.mt5 import MT5Config


class Terminal:
    """The history a terminal keeps, by time, and its account, answered as the link answers."""

    def __init__(self, deals: list[dict[str, Any]]):
        self.deals = sorted(deals, key=lambda d: (d["time_msc"], d["ticket"]))
        self.times = [d["time"] for d in self.deals]

    def add(self, deal: dict[str, Any]) -> None:
        """A deal newer than every other (the history is searched by time)."""
        self.deals.append(deal)
        self.times.append(deal["time"])

    async def query(self, fn: str, *args: Any, deadline: float | None = None, **kwargs: Any) -> Any:
        if fn == "history_deals_get":
            low, high = args
            return self.deals[bisect_left(self.times, low):bisect_right(self.times, high)]
        if fn == "account_info":
            return {"balance": 10_000.0, "equity": 10_000.0, "margin": 0.0, "margin_free": 10_000.0,
                    "currency": "USD", "login": 1, "server": "Bench"}
        raise AssertionError(f"the bench's terminal is not asked {fn}")


def _deal(ticket: int, position: int, at: float, side: int, entry: int, profit: float) -> dict[str, Any]:
    return {"ticket": ticket, "order": position if entry == 0 else ticket, "time": int(at),
            "time_msc": int(at * 1000), "type": side, "entry": entry, "magic": 0, "position_id": position,
            "reason": 3, "volume": 1.0, "price": 1.1, "commission": -3.5, "swap": 0.0, "profit": profit, "fee": 0.0,
            "symbol": "EURUSD", "comment": "mh:bench"}


def terminal_deals(database: Path) -> list[dict[str, Any]]:
    """The seeded paper deals as a terminal's: each of the same position, time, side, entry and profit."""
    with closing(sqlite3.connect(database)) as db:
        rows = db.execute("SELECT deal, position, time, side, entry, profit FROM paper_deals ORDER BY time, deal")
        return [_deal(ticket, position, at, 0 if side == "buy" else 1, 0 if entry == "in" else 1, profit or 0.0)
                for ticket, position, at, side, entry, profit in rows]


async def measure(trades: int, runs: int) -> dict[str, Any]:
    """The first read's time and each read's after a fill (ms, median and least of ``runs``)."""
    with tempfile.TemporaryDirectory() as tmp:
        scripts = Path(tmp) / "scripts"
        scripts.mkdir()
        config = EngineConfig(scripts=scripts, data=Path(tmp) / "data", dedup_window=0)
        await _template(config)
        now = time.time()
        seed(config.database, trades, now - 3600)
        terminal = Terminal(terminal_deals(config.database))
        database = Database(config.database)
        try:
            broker = MT5Broker(database, MT5Config(server_clock="UTC"))
            broker.query = terminal.query  # type: ignore[method-assign]
            engine = SimpleNamespace(broker=broker, database=database, clock=time.time)  # what TradeReads reads of it
            reads = TradeReads(engine)  # type: ignore[arg-type]
            t0 = time.perf_counter()
            first = await reads.trades(100, None, None)
            whole = (time.perf_counter() - t0) * 1000
            times, ticket = [], max(max(d["ticket"], d["position_id"]) for d in terminal.deals)
            for k in range(runs):
                at = terminal.times[-1] + 1   # the newest deals, as a fill's are
                terminal.add(_deal(ticket + 1, ticket + 1, at, 0, 0, 0.0))
                terminal.add(_deal(ticket + 2, ticket + 1, at + 0.5, 1, 1, 12.5))
                ticket += 2
                t0 = time.perf_counter()
                view = await reads.trades(100, None, None)
                times.append((time.perf_counter() - t0) * 1000)
            assert view["closed"] == first["closed"] + runs, (view["closed"], first["closed"])
        finally:
            database.close()
        return {"trades": trades, "deals": len(terminal.deals), "first read (whole) ms": round(whole, 1),
                "read after a fill ms": {"median": round(statistics.median(times), 1), "least": round(min(times), 1)},
                "by_plugin": view["by_plugin"]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.mt5_history_bench")
    p.add_argument("--trades", type=int, default=10_000, help="trades seeded (two deals each)")
    p.add_argument("--runs", type=int, default=5, help="reads timed, each after a fill")
    a = p.parse_args(argv)
    print(json.dumps(trio.run(measure, a.trades, a.runs), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
