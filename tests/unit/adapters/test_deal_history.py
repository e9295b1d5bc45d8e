"""``Broker.history``: the deals each broker keeps, in one shape, for the dashboard's trades;
and the journal's filtered list and the ledger's reads, found through their indexes."""

from __future__ import annotations

import json
from contextlib import nullcontext
from functools import partial

import pytest


import trio

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage.activity import OrderActivity
from engine.adapters.storage.database import Database
from engine.adapters.storage.journal import AlertJournal
from engine.adapters.storage.ledger import OrderLedger
from engine.domain.alerts import parse_body
from engine.domain.alerts.symbols import SymbolMap
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest

from support.mt5_support import mt5
from support.waits import HANG, until

KEYS = {"ticket", "position", "symbol", "side", "entry", "volume", "price", "profit", "commission", "swap", "time",
        "comment", "magic"}
T0 = 1_700_000_000.0


async def test_the_paper_broker_tells_its_deals_in_and_out_oldest_first(tmp_path):
    now = [T0]
    database = Database(tmp_path / "moonhook.db")
    broker = PaperBroker(database, PaperConfig(spread_points=0, commission_per_lot=7.0), clock=lambda: now[0])
    await broker.quote("EURUSD", 1.1000, T0)
    opened = await broker.execute(OrderRequest("market", "a1-trend-1", plugin="trend", symbol="EURUSD", side="buy",
                                               volume=1.0, comment="first"))
    now[0] = T0 + 60
    await broker.quote("EURUSD", 1.1010, T0 + 60)
    await broker.execute(OrderRequest("close", "a2-trend-1", plugin="trend", ticket=opened.ticket, comment="out"))
    deals = await broker.history()
    later = await broker.history(since=T0 + 30)
    database.close()
    assert [set(d) for d in deals] == [KEYS, KEYS]
    inn, out = deals
    assert (inn["entry"], inn["side"], inn["position"], inn["profit"], inn["comment"]) == ("in", "buy", opened.ticket,
                                                                                          0.0, "first")
    assert (out["entry"], out["side"], out["position"], out["comment"]) == ("out", "sell", opened.ticket, "out")
    assert out["profit"] == pytest.approx(100.0) and out["commission"] == pytest.approx(-7.0)
    assert inn["time"] < out["time"] and inn["magic"] is None
    assert later == [out]


async def test_the_mt5_broker_reads_history_deals_get_in_the_same_shape(tmp_path):
    async with mt5(tmp_path) as broker:
        result = await broker.execute(OrderRequest("market", "a7-trend-1", symbol="EURUSD", side="buy", volume=0.1,
                                                   plugin="trend", alert_id=7, sl=1.07, tp=1.09))
        broker.terminal.set_price("EURUSD", 1.0700, 1.0701)  # the stop is hit at the broker
        await until(lambda: not broker.terminal.positions())
        paid, *deals = await broker.history()
        assert await broker.history(since=deals[-1]["time"] + 1) == []
    assert [set(d) for d in deals] == [KEYS, KEYS]
    # The account's opening deposit: money paid in, no trade of any position.
    assert (paid["entry"], paid["amount"], paid["profit"], paid["position"]) == ("balance", 10_000.0, 0.0, 0)
    inn, out = deals
    assert (inn["entry"], inn["side"], inn["position"], inn["symbol"]) == ("in", "buy", result.ticket, "EURUSD")
    assert (out["entry"], out["side"], out["position"]) == ("out", "sell", result.ticket)
    assert out["profit"] == pytest.approx((1.07 - 1.0801) * 0.1 * 100_000, abs=0.01)
    assert inn["magic"] == 7_770_001 and inn["comment"].startswith("mh:a7:")


def _traced(database: Database) -> list[str]:
    """The statements ``database``'s connection runs from now on (their parameters bound)."""
    statements: list[str] = []
    database.db.conn.set_trace_callback(statements.append)
    return statements


def _plans(database: Database, statements: list[str], table: str) -> dict[str, str]:
    """The query plan of each SELECT of ``statements`` that reads ``table``, by statement."""
    database.db.conn.set_trace_callback(None)
    return {sql: " | ".join(str(row[-1]) for row in database.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
            for sql in statements if sql.startswith("SELECT") and f" {table} " in f"{sql} "}


async def test_a_close_and_the_history_since_a_time_find_their_deals_by_index(tmp_path):
    # Both are on the trader's path whatever the size of the books: every close sums its
    # position's deals out, and the overview reads the month's deals after each fill.
    database = Database(tmp_path / "moonhook.db")
    broker = PaperBroker(database, PaperConfig(spread_points=0), clock=lambda: T0)
    await broker.quote("EURUSD", 1.1000, T0)
    opened = await broker.execute(OrderRequest("market", "a1-t-1", plugin="t", symbol="EURUSD", side="buy", volume=1.0))
    statements = _traced(database)
    closed = await broker.execute(OrderRequest("close", "a2-t-1", plugin="t", ticket=opened.ticket))
    since = await broker.history(since=T0)
    plans = _plans(database, statements, "paper_deals")
    database.close()
    assert closed.ok and [d["entry"] for d in since] == ["in", "out"]
    assert len(plans) == 2 and not [p for p in plans.values() if "SCAN" in p], plans


async def _meanwhile(read) -> tuple[list, bool]:
    """What ``read()`` answers, and whether another task of the event loop ran while it was awaited."""
    ran: list[bool] = []

    async def other() -> None:
        ran.append(True)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(other)
        answer = await read()
        return answer, bool(ran)


async def test_the_whole_history_is_read_off_the_event_loop_the_days_on_it(tmp_path):
    # The trades page reads every deal ever booked: a year's (300,000) held every alert, fill
    # and timer back for over a second on the loop. The day's, the daily loss limit's on each
    # entry's path, stays on the loop, read with the account with no deal booked in between.
    database = Database(tmp_path / "moonhook.db")
    broker = PaperBroker(database, PaperConfig(spread_points=0), clock=lambda: T0)
    await broker.quote("EURUSD", 1.1000, T0)
    await broker.execute(OrderRequest("market", "a1-t-1", plugin="t", symbol="EURUSD", side="buy", volume=1.0))
    everything, apart = await _meanwhile(broker.history)
    year, year_apart = await _meanwhile(partial(broker.history, since=T0 - 365 * 86_400))
    today, today_apart = await _meanwhile(partial(broker.history, since=T0 - 3_600))
    database.close()
    assert [d["entry"] for d in everything] == ["in"] and everything == year == today
    assert (apart, year_apart, today_apart) == (True, True, False)


def _journal_of(tmp_path, count: int) -> tuple[Database, AlertJournal]:
    """``count`` alerts, every 100th on GBPUSD and rejected by "guard", the rest done by "trend"."""
    database = Database(tmp_path / "moonhook.db")
    journal = AlertJournal(database)
    symbols = SymbolMap()
    with journal.transaction() as db:
        for n in range(count):
            rare = n % 100 == 0
            alert = parse_body(f"{'sell GBPUSD' if rare else 'buy EURUSD'} volume=0.1 price=1.{n:05d}", symbols)
            recorded = journal.insert(db, alert, now=T0 + n)
            steps = [{"plugin": "guard", "result": "reject", "reason": "no"}] if rare else \
                [{"plugin": "trend", "result": "pass"}]
            journal.update(db, recorded.id, "rejected" if rare else "done", {"plugins": steps, "orders": []})
    return database, journal


def test_the_filtered_list_of_ten_thousand_alerts_goes_through_the_indexes(tmp_path, monkeypatch):
    database, journal = _journal_of(tmp_path, 10_000)
    statements: list[str] = []
    # The searches read through a connection of their own: here the traced one, for their plans.
    monkeypatch.setattr(database, "reader", lambda: nullcontext(database.db.conn))
    database.db.conn.set_trace_callback(statements.append)
    rejected = journal.search(20, status="rejected")
    pounds = journal.search(20, symbol="GBPUSD")
    guarded = journal.search(500, plugin="guard")
    both = journal.search(5, status="done", symbol="EURUSD", plugin="trend")
    database.db.conn.set_trace_callback(None)
    plans = {sql: " ".join(str(row[-1]) for row in database.db.execute(f"EXPLAIN QUERY PLAN {sql}"))
             for sql in statements if sql.startswith("SELECT")}
    assert len(rejected) == 20 and {r["status"] for r in rejected} == {"rejected"}
    assert [r["id"] for r in rejected] == sorted((r["id"] for r in rejected), reverse=True)  # newest first
    assert {r["alert"]["symbol"] for r in pounds} == {"GBPUSD"} and len(pounds) == 20
    assert len(guarded) == 100 and all(r["outcome"]["plugins"][0]["plugin"] == "guard" for r in guarded)
    assert len(both) == 5 and all(r["status"] == "done" and r["symbol"] == "EURUSD" for r in both)
    assert journal.search(5, plugin="nobody") == []
    with pytest.raises(ValueError, match="unknown alert status 'lost'"):
        journal.search(5, status="lost")
    status_plan = next(p for sql, p in plans.items() if "status = 'rejected'" in sql)
    symbol_plan = next(p for sql, p in plans.items() if "symbol = 'GBPUSD'" in sql)
    assert "alerts_status" in status_plan and "alerts_symbol" in symbol_plan
    assert journal.counts_since(T0 + 9_000) == {"alerts": 1_000, "rejected": 10, "failed": 0}
    database.close()


async def test_a_search_through_the_whole_journal_never_holds_up_its_writer(tmp_path):
    # The list by plugin reads every outcome back to the first alert (a year's: 170 ms and more);
    # under the lock the journal writer commits under, each alert acknowledged meanwhile waited.
    database, journal = _journal_of(tmp_path, 1_000)
    with journal.lock:  # as the journal writer holds it through a commit
        with trio.fail_after(HANG):  # bounds a hang
            found = await trio.to_thread.run_sync(partial(journal.search, 500, plugin="guard"), abandon_on_cancel=True)
    assert len(found) == 10 and all(r["outcome"]["plugins"][0]["plugin"] == "guard" for r in found)
    database.close()


def test_the_orders_left_unknown_are_found_at_the_start_without_a_walk_through_the_journal(tmp_path):
    # Read at each start: it walked every alert ever journaled to find the few orders whose answer
    # is unknown (a year's journal: half a second of every start, growing with it).
    database, journal = _journal_of(tmp_path, 2_000)
    with journal.transaction() as db:
        journal.update(db, 2, "received")   # runs again at the start: its orders are met by it
        journal.update(db, 3, "paused")     # a resume may run it
        rows = [("a1-t-1", 1, "unknown"), ("a2-t-1", 2, "unknown"), ("a3-t-1", 3, "unknown"),
                ("timer-t-1", None, "unknown"), ("a4-t-1", 4, "done"), ("a9999-t-1", 9999, "unknown")]
        for cid, alert, status in rows:
            db.execute("INSERT INTO orders (client_id, alert_id, plugin, kind, request, status, created_at) "
                       "VALUES (?, ?, 't', 'market', '{}', ?, ?)", [cid, alert, status, T0 + len(cid)])
    statements = _traced(database)
    left = OrderLedger(database).unknown_not_run_again()
    (plan,) = _plans(database, statements, "orders").values()
    database.close()
    assert left == ["a1-t-1", "timer-t-1"]   # oldest first; none of an alert that runs again, nor of none known
    assert "orders_unknown" in plan and "SCAN alerts" not in plan and "SCAN orders " not in f"{plan} ", plan


def test_the_ledger_tells_the_days_orders_latencies_refusals_and_who_opened_a_ticket(tmp_path):
    database = Database(tmp_path / "moonhook.db")
    with database.transaction() as db:
        rows = [("a1-trend-1", 1, "trend", "market", "done", {"ok": True, "ticket": 1001}, T0, 12.5),
                ("a2-guard-1", 2, "guard", "market", "refused", {"ok": False, "error": "no money"}, T0 + 10, 8.0),
                ("a3-engine-1", 3, "engine", "close", "done", {"ok": True, "ticket": 1001}, T0 + 20, 3.0),
                ("a4-trend-1", 4, "trend", "market", "vetoed", {"ok": False, "error": "vetoed by x: no"}, T0 + 30,
                 None),
                ("a0-old-1", 0, "old", "pending", "done", {"ok": True, "ticket": 999}, T0 - 86_400, 1.0)]
        for cid, alert, plugin, kind, status, result, at, ms in rows:
            db.execute("INSERT INTO orders (client_id, alert_id, plugin, kind, request, status, result, created_at, "
                       "done_at, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [cid, alert, plugin, kind, json.dumps({"symbol": "EURUSD"}), status, json.dumps(result), at,
                        at, ms])
    activity = OrderActivity(database)
    assert activity.counts_since(T0) == {"sent": 3, "refused": 2}
    assert activity.latencies_since(T0) == [(T0, 12.5), (T0 + 10, 8.0), (T0 + 20, 3.0)]
    statements = _traced(database)
    assert [(r["alert_id"], r["error"], r["symbol"]) for r in activity.refused(10)] == [
        (4, "vetoed by x: no", "EURUSD"), (2, "no money", "EURUSD")]
    assert activity.openers([1001, 999, 5]) == {1001: "trend", 999: "old"}
    # Both are read on every refresh of the overview: through an index of just those orders
    # (the refused ones; those that opened a position, by ticket), whatever the ledger's size.
    plans = sorted(_plans(database, statements, "orders").values())
    assert plans == ["SCAN orders USING INDEX orders_refused", "SEARCH orders USING INDEX orders_opened (<expr>=?)"]
    database.close()


def test_an_order_whose_result_is_no_valid_json_is_written_and_read_all_the_same(tmp_path):
    # The index of the openers reads the ticket out of the result: a result SQLite cannot read as
    # JSON (Python writes NaN as a bare word) must not fail the order's write, nor the reads.
    database = Database(tmp_path / "moonhook.db")
    with database.transaction() as db:
        db.execute("INSERT INTO orders (client_id, alert_id, plugin, kind, request, status, result, created_at) "
                   "VALUES ('a1-trend-1', 1, 'trend', 'market', '{}', 'done', ?, ?)",
                   [json.dumps({"ok": True, "ticket": 7, "price": float("nan")}), T0])
    assert OrderActivity(database).openers([7]) == {}
    database.close()
