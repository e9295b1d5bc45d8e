"""A close whose answer was lost and whose deal was not in the history yet ("not known"), settled by the
poll as a lost entry is (engine/adapters/brokers/mt5/late.py): done by its deal, or refused for good once
the terminal shows it did not execute (the trade server ended its order unfilled, or something else closed
the position); a restart between included, and never sent again (the stand-in counts the sends)."""

from __future__ import annotations

from dataclasses import replace

from engine.adapters.brokers.mt5 import MT5Broker, late
from engine.adapters.storage import Database
from engine.domain.orders import Closed, OrderRequest

from support.mt5_standin import Terminal
from support.mt5_support import config, lost_answer, mt5, until


def entry(volume: float = 0.2, **changes) -> OrderRequest:
    return OrderRequest("market", "a8-trend-open", symbol="EURUSD", side="buy", volume=volume, plugin="trend",
                        alert_id=8, **changes)


def half(ticket: int) -> OrderRequest:
    return OrderRequest("close", "a9-trend-half", ticket=ticket, volume=0.1, plugin="trend", alert_id=9)


def whole(ticket: int) -> OrderRequest:
    return OrderRequest("close", "a9-trend-close", ticket=ticket, plugin="trend", alert_id=9)


def _settled(broker, client_id: str) -> bool:
    return not (broker.book.first_result(client_id) or {"unknown": True}).get("unknown")


async def test_a_lost_close_of_part_that_the_trade_server_rejects_later_is_refused_by_the_poll(tmp_path):
    # A part of a position, not found within resolve_seconds: "not known"; the trade server then rejects it.
    # Only a repeat of the close looked again: the record said "not known" for good.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(entry())
        broker.terminal.script("order_send", "late")
        lost = await lost_answer(broker, half(opened.ticket))
        assert (lost.ok, lost.unknown) == (False, True), lost
        (order,) = broker.terminal.reject_late()
        await until(lambda: _settled(broker, "a9-trend-half"))
        found = await broker.first_result("a9-trend-half")
        assert (found.ok, found.unknown) == (False, False) and f"(order {order}," in found.error, found
        assert [p["volume"] for p in broker.terminal.positions()] == [0.2] and broker.terminal.sent() == 1


async def test_a_lost_close_of_part_that_arrives_later_is_done_by_its_deal_once(tmp_path):
    # Done before this change too (the deals' poll reads its deal): kept so that the poll's look does not undo it.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(entry())
        broker.terminal.script("order_send", "late")
        assert (await lost_answer(broker, half(opened.ticket))).unknown
        assert broker.terminal.deliver_late() == [10009]
        await until(lambda: _settled(broker, "a9-trend-half"))
        found = await broker.first_result("a9-trend-half")
        assert (found.ok, found.closed) == (True, [opened.ticket]), found
        assert [p["volume"] for p in broker.terminal.positions()] == [0.1] and broker.terminal.sent() == 2


async def test_a_lost_close_whose_position_its_stop_loss_closed_while_the_history_trailed_is_refused_by_the_poll(
        tmp_path):
    # The close lost; its position closed by its sl just then, the history trailing: gone, no deal of it, "not
    # known". The history then has the sl's deal, the close's never can come: refused for good, saying so.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(entry(0.1, sl=1.07))
        broker.terminal.script("order_send", "late")

        def sl_hit_unseen() -> None:
            broker.terminal.lag_history()
            broker.terminal.set_price("EURUSD", 1.0695, 1.0696)
        lost = await lost_answer(broker, whole(opened.ticket), sl_hit_unseen)
        assert (lost.ok, lost.unknown) == (False, True), lost
        broker.terminal.lag_history(False)
        await until(lambda: _settled(broker, "a9-trend-close"))
        (deal,) = [d for d in broker.terminal.deals() if d["position_id"] == opened.ticket and d["entry"] == 1]
        found = await broker.first_result("a9-trend-close")
        assert (found.ok, found.unknown, found.error) == (False, False, (
            f"not executed: position {opened.ticket} was closed before it, by its sl (deal {deal['ticket']} at "
            f"{deal['price']:g})")), found
        assert broker.terminal.deliver_late() == [10036] and broker.terminal.sent() == 1   # never closed twice
        await until(lambda: any(isinstance(e, Closed) for e in broker.events))   # the sl's, told as any close
        assert [e.reason for e in broker.events if isinstance(e, Closed)] == ["sl"]


async def test_a_lost_close_settled_after_a_restart_by_the_terminals_truth(tmp_path):
    # Stopped with the close "not known"; the trade server rejected it meanwhile: the next start's poll settles it.
    terminal = Terminal(tmp_path / "terminal.db")
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(entry())
        terminal.script("order_send", "late")
        assert (await lost_answer(broker, half(opened.ticket))).unknown
    (order,) = terminal.reject_late()
    async with mt5(tmp_path) as broker:
        await until(lambda: _settled(broker, "a9-trend-half"))
        found = await broker.first_result("a9-trend-half")
        assert (found.ok, found.unknown) == (False, False) and f"(order {order}," in found.error, found
    assert terminal.sent() == 1


async def test_the_polls_look_at_lost_closes_and_entries_reads_each_list_once(tmp_path):
    # One window for every send in doubt, entries and closes alike: not four reads a send at each poll.
    terminal = Terminal(tmp_path / "terminal.db")
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(entry())
        terminal.script("order_send", "late")
        assert (await lost_answer(broker, half(opened.ticket))).unknown
        await until(lambda: broker.connected)
        terminal.script("order_send", "late")
        assert (await lost_answer(broker, OrderRequest("market", "a10-trend-1", symbol="EURUSD", side="buy",
                                                       volume=0.1, plugin="trend", alert_id=10))).unknown
    terminal.reject_late()
    database = Database(tmp_path / "moonhook.db")
    broker = MT5Broker(database, config(tmp_path))   # started, not run: no poll of its own counts
    reads = ("positions_get", "orders_get", "history_deals_get", "history_orders_get")
    try:
        await broker.start()
        before = {fn: terminal.calls(fn) for fn in reads}
        await late.arrived(broker, {})
        assert {fn: terminal.calls(fn) - before[fn] for fn in reads} == dict.fromkeys(reads, 1)
        assert _settled(broker, "a9-trend-half") and _settled(broker, "a10-trend-1")
    finally:
        await broker.stop()
        database.close()


async def test_a_close_by_symbol_whose_lost_part_the_poll_finds_closed_by_its_sl_is_done_as_the_direct_path_says(
        tmp_path):
    # The part's position closed by its sl as it went, the history trailing: "not known"; the poll then finds
    # it closed before it. Closed at once, the close by symbol answers done, saying so (``by_symbol.folded``);
    # settled by the poll, its record said it failed: "What it did not close stays open", of nothing open.
    async with mt5(tmp_path) as broker:
        first = await broker.execute(entry(0.1))
        second = await broker.execute(replace(entry(0.1, sl=1.07), client_id="a8-trend-open-2"))
        broker.terminal.script("order_send", "normal", "late")

        def sl_hit_unseen() -> None:
            broker.terminal.lag_history()
            broker.terminal.set_price("EURUSD", 1.0695, 1.0696)
        everything = OrderRequest("close", "a9-trend-all", symbol="EURUSD", plugin="trend", alert_id=9)
        lost = await lost_answer(broker, everything, sl_hit_unseen)
        assert (lost.ok, lost.unknown, lost.closed) == (False, True, [first.ticket]), lost
        broker.terminal.lag_history(False)
        await until(lambda: _settled(broker, "a9-trend-all"))
        (deal,) = [d for d in broker.terminal.deals() if d["position_id"] == second.ticket and d["entry"] == 1]
        found = await broker.first_result("a9-trend-all")
        assert (found.ok, found.closed, found.error, found.note) == (True, [first.ticket], None, (
            f"position {second.ticket} was closed before it, by its sl (deal {deal['ticket']} at "
            f"{deal['price']:g})")), found
        assert broker.terminal.sent() == 3   # the two entries, the first part: never closed twice
