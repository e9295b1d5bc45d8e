"""The poll's look at the entries whose answer was lost (engine/adapters/brokers/mt5/late.py), made at
every poll for up to an hour each: one window of MetaTrader's reads for all of them, not four reads an
entry, and each still found (the stand-in terminal counts the calls it answers)."""

from __future__ import annotations

from engine.adapters.brokers.mt5 import MT5Broker, late
from engine.adapters.storage import Database
from engine.domain.orders import OrderRequest

from support.mt5_standin import Terminal
from support.mt5_support import config, lost_answer, mt5, until

READS = ("positions_get", "orders_get", "history_deals_get", "history_orders_get")


def market(n: int) -> OrderRequest:
    return OrderRequest("market", f"a{n}-trend-1", symbol="EURUSD", side="buy", volume=0.1, plugin="trend",
                        alert_id=n)


async def test_the_look_at_three_lost_entries_reads_each_list_once_and_finds_all_three(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        for n in (1, 2, 3):
            await until(lambda: broker.connected)
            terminal.script("order_send", "late")
            assert (await lost_answer(broker, market(n))).unknown
        assert [s["state"] for s in broker.book.in_doubt()] == ["lost"] * 3
    rejected = terminal.reject_late()   # the trade server had them, and rejected them
    database = Database(tmp_path / "moonhook.db")
    broker = MT5Broker(database, config(tmp_path))   # started, not run: no poll of its own counts
    try:
        await broker.start()
        before = {fn: terminal.calls(fn) for fn in READS}
        assert await late.arrived(broker, {}) == set()
        assert {fn: terminal.calls(fn) - before[fn] for fn in READS} == dict.fromkeys(READS, 1)
        for n, order in zip((1, 2, 3), rejected):
            found = await broker.first_result(f"a{n}-trend-1")
            assert (found.ok, found.unknown) == (False, False) and f"(order {order}," in found.error, found
        assert broker.book.in_doubt() == [] and terminal.sent() == 0
    finally:
        await broker.stop()
        database.close()
