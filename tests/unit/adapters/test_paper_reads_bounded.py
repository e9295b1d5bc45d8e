"""The paper broker's reads that every view makes (the pending orders: the overview after each
alert, GET /api/orders, /status) cost the orders pending, not every order the books ever kept.
The pending orders were found by a scan of every order ever placed, on the event loop under
the engine's connection lock: 100 ms there for a busy year's 300,000 (bench/history_bench.py).
Counted in SQLite's virtual-machine steps, which do not depend on the machine's speed."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage import Database
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest

T0 = 1_700_000_000.0


def _past_orders(path, count: int) -> None:
    """``count`` filled orders before the pending one, as a long history leaves them."""
    with closing(sqlite3.connect(path)) as db, db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(paper_orders)")]
        (order,) = [dict(zip(columns, row)) for row in db.execute("SELECT * FROM paper_orders")]
        rows = [{**order, "ticket": -(n + 1), "client_id": f"past{n}", "state": "filled"} for n in range(count)]
        db.executemany(f"INSERT INTO paper_orders VALUES ({', '.join('?' * len(columns))})",
                       [[r[c] for c in columns] for r in rows])


async def _steps_to_read_pending(tmp_path, history: int) -> int:
    folder = tmp_path / str(history)
    folder.mkdir()
    db = Database(folder / "moonhook.db")
    broker = PaperBroker(db, PaperConfig(), clock=lambda: T0)
    placed = await broker.execute(OrderRequest("pending", f"p{history}", plugin="t", symbol="EURUSD", side="buy",
                                               type="limit", price=1.0, volume=0.1))
    assert placed.ok, placed
    db.close()
    _past_orders(folder / "moonhook.db", history)
    db = Database(folder / "moonhook.db")
    broker = PaperBroker(db, PaperConfig(), clock=lambda: T0)
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0
    db.db.conn.set_progress_handler(step, 1)
    pending = await broker.orders()
    db.db.conn.set_progress_handler(None, 1)
    db.close()
    assert [o["ticket"] for o in pending] == [placed.ticket]
    return steps[0]


async def test_the_pending_orders_are_read_without_the_orders_of_the_past(tmp_path):
    few, many = await _steps_to_read_pending(tmp_path, 10), await _steps_to_read_pending(tmp_path, 5_000)
    assert many < few + 50, (few, many)   # it was a step or more for each order ever placed
