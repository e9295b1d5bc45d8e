"""``GET /api/alerts/<id>``'s read (Operations.alert): the alert and its orders read as of one commit. They
were two reads, on the journal's connection then the ledger's, so a commit between them (a lost answer settled:
its order and its alert written together) showed an order done beside its alert still failed."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from engine.app import Operations

from support.engine_support import process, running
from support.waits import HANG

BUY = '{"symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.1}'


async def test_a_commit_between_reading_the_alert_and_its_orders_is_not_seen_half(tmp_path):
    async with running(tmp_path) as engine:
        row = await process(engine, BUY)
        assert row["status"] == "done"
        conn = engine.database.db.conn

        def commit_before_the_orders(statement: str) -> None:
            # Just as the orders are read: the alert and its order change in one commit, on another connection.
            if "FROM orders WHERE alert_id" in statement and not committed:
                committed.append(statement)
                with closing(sqlite3.connect(engine.database.path, timeout=HANG, isolation_level=None)) as other:
                    other.execute("BEGIN IMMEDIATE")
                    other.execute("UPDATE alerts SET status = 'failed' WHERE id = ?", [row["id"]])
                    other.execute("UPDATE orders SET status = 'refused' WHERE alert_id = ?", [row["id"]])
                    other.execute("COMMIT")

        committed: list[str] = []
        conn.set_trace_callback(commit_before_the_orders)
        try:
            detail = await Operations(engine).alert(row["id"])
        finally:
            conn.set_trace_callback(None)
        assert committed, "the orders were not read on the connection watched"
        seen = (detail["status"], [o["status"] for o in detail["orders"]])
        assert seen in [("done", ["done"]), ("failed", ["refused"])], seen
        assert (await Operations(engine).alert(row["id"]))["status"] == "failed"   # the commit was made
