"""An entry run again (TradingView's repeat after an unknown outcome, or the recovery run of an
alert after a restart) whose first send executed: answered by that send, found by its tag,
before the request is built again. Built again, it is checked against the market of now, and
a price moved since, or a stops level widened, would answer refused while its position is open.
One whose first send is still not known answers that, never refused by a limit, never sent again;
so does a close by symbol whose position went meanwhile."""

from __future__ import annotations

import trio

from engine.core.limits import Limits
from engine.domain.orders import Fill, OrderRequest

from support.engine_support import process, running
from support.mt5_standin import Terminal
from support.mt5_support import GONE_PAST, config as mt5_config, lost_answer, mt5, short, until


def market(cid: str, **more) -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side="buy", volume=0.1, plugin="trend", alert_id=7, **more)


def pending(cid: str) -> OrderRequest:
    return OrderRequest("pending", cid, symbol="EURUSD", side="buy", type="limit", price=1.075, sl=1.07, volume=0.1,
                        plugin="trend", alert_id=8)


async def test_an_entry_left_unknown_and_repeated_after_the_price_moved_answers_its_execution(tmp_path):
    async with mt5(tmp_path, **short(GONE_PAST)) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.script("order_send", "hang_after")       # executed, the answer never comes ...
        first = await lost_answer(broker, market("a7-trend-1", sl=1.0798),   # 20 points under the bid
                                  broker.terminal.disconnect)    # ... and the terminal gone meanwhile
        assert first.unknown
        broker.terminal.reconnect()
        await until(lambda: broker.connected and not broker.book.unresolved())
        broker.terminal.set_price("EURUSD", 1.07985, 1.07995)   # the sl 5 points away now: a new check refuses
        again = await broker.execute(market("a7-trend-1", sl=1.0798))
        (position,) = broker.terminal.positions()
        assert again.ok and again.ticket == position["ticket"], again.error
        assert broker.terminal.sent() == 1
        assert (await broker.first_result("a7-trend-1")).ticket == position["ticket"]


async def test_a_pending_order_placed_before_a_restart_is_answered_placed_by_the_recovery_run(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        terminal.script("order_send", "hang_after")              # placed, then the engine gone before the answer
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, pending("a8-trend-1"))
            await until(lambda: terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()
    terminal.set_symbol("EURUSD", trade_stops_level=1000)       # the sl 500 points away: a new check refuses
    async with mt5(tmp_path) as broker:                         # the restart; the alert run again
        again = await broker.execute(pending("a8-trend-1"))
        (order,) = terminal.orders()
        assert again.ok and again.ticket == order["ticket"], again.error
        assert terminal.sent() == 1


async def test_an_entry_lost_and_run_again_is_not_held_back_by_its_own_place_under_the_position_limit(tmp_path):
    # With max_open_positions = 1, an entry whose answer was lost holds the one place while it may
    # arrive; its own alert, run again by recovery after a restart, met that place as taken and
    # was refused over the limit, never looked for: the ledger had it refused, and it arrived.
    limits, other = Limits(max_positions=1), market("a8-trend-1")
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.script("order_send", "late")              # no answer, nothing done yet ...
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, market("a7-trend-1"))
            await until(lambda: broker.terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()                        # ... and the engine gone
    async with mt5(tmp_path) as broker:                          # the restart looks for it, in vain
        await until(lambda: [s["state"] for s in broker.book.in_doubt()] == ["lost"])
        assert await limits.breach(market("a7-trend-1"), broker) is None
        assert await limits.breach(other, broker) == (
            "over engine.max_open_positions: 0 positions and pending orders are open, and 1 entry whose answer was "
            "lost may still arrive (buy 0.1 EURUSD), at most 1")
        again = await broker.execute(market("a7-trend-1"))
        assert again.unknown and broker.terminal.sent() == 0     # looked for once more, never sent again


async def test_a_close_by_symbol_lost_and_run_again_while_the_history_trails_is_not_known_not_nothing_to_close(
        tmp_path):
    # The close's answer was lost with its position gone while the terminal's history trailed, and
    # the engine died before its alert's status was written. Run again at the restart, it found no
    # position, took its close for never sent, and answered "done: no open buy position to close".
    terminal = Terminal(tmp_path / "terminal.db")
    on_mt5 = dict(broker="mt5", mt5=mt5_config(tmp_path))
    async with running(tmp_path, **on_mt5) as engine:
        await process(engine, "buy EURUSD volume=0.1 id=open")
        terminal.lag_history()
        terminal.script("order_send", "crash_after_send")            # closed, the answer never comes
        row = await process(engine, "closelong EURUSD id=close")
        engine.journal.set_status(row["id"], "received")             # as if the engine died before the status
    async with running(tmp_path, **on_mt5) as engine:
        await engine.drain()
        again = engine.journal.get(row["id"])
        (close,) = again["outcome"]["orders"]
        assert close["unknown"] is True and close["error"].startswith("not known: the answer was lost"), again
        assert terminal.positions() == [] and terminal.sent() == 2


async def test_an_entry_lost_that_the_trade_server_rejected_later_is_refused_for_good_at_the_next_poll(tmp_path):
    # Not found in time ("not known"), the terminal linked all along; then the trade server rejected it. Only a
    # reconnection looked for it again: its answer stayed "not known", and its place held in doubt, for an hour.
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.script("order_send", "late")
        lost = await lost_answer(broker, market("a7-trend-1"))
        assert lost.unknown, lost
        (order,) = broker.terminal.reject_late()
        await until(lambda: not broker.book.first_result("a7-trend-1").get("unknown"))
        found = await broker.first_result("a7-trend-1")
        assert (found.ok, found.unknown) == (False, False) and f"(order {order}," in found.error, found
        assert broker.book.in_doubt() == []
        again = await broker.execute(market("a7-trend-1"))
        assert (again.ok, again.duplicate, again.error) == (False, True, found.error)
        assert broker.terminal.sent() == 0 and broker.terminal.positions() == []   # never sent again
        opened = await broker.execute(market("a8-trend-1"))
        assert opened.ok and broker.terminal.sent() == 1


async def test_an_entry_whose_deal_a_poll_told_just_before_it_was_written_lost_is_settled_at_the_next_poll(tmp_path):
    # Its answer lost, not found in time; its deal came just then, and a poll told it while the send was still
    # being looked for, before "lost" was written: no later deal settles it, and its request stayed "not known".
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        settle = broker.settle

        async def deal_told_meanwhile(tag, result, stands=False):
            if result.unknown:   # the look's end: its deal arrives, and a poll tells it, before this is written
                assert broker.terminal.deliver_late() == [10009]
                await until(lambda: any(isinstance(e, Fill) and e.client_id == "a7-trend-1" for e in broker.events))
            return await settle(tag, result, stands)
        broker.settle = deal_told_meanwhile
        broker.terminal.script("order_send", "late")
        lost = await lost_answer(broker, market("a7-trend-1"))
        assert lost.unknown, lost
        (position,) = broker.terminal.positions()
        await until(lambda: broker.book.first_result("a7-trend-1").get("ok"))
        found = await broker.first_result("a7-trend-1")
        assert (found.ok, found.ticket) == (True, position["ticket"]) and broker.book.in_doubt() == [], found
        assert len([e for e in broker.events if isinstance(e, Fill)]) == 1 and broker.terminal.sent() == 1
