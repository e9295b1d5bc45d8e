"""The MetaTrader 5 broker when the link to the terminal fails at the worst moment of an order's
life, against the stand-in terminal in the broker's real worker process: the order is never sent
twice, an alert nothing of which executed waits for the terminal rather than being lost, and what
is not known is said. ``terminal.sent()`` counts the orders that really executed."""

from __future__ import annotations

import logging
import os
import signal
import time

import pytest
import trio

from engine.adapters.brokers.mt5.session import Session
from engine.adapters.storage import OrderLedger
from engine.core.events import Events
from engine.core.unsettled import settled
from engine.domain.orders import BrokerError, Connection, Dropped, Notice, OrderRequest

from support.mt5_standin import ORDER_STATE_REJECTED, Terminal
from support.mt5_support import cancelled_mid_call, config, mt5, short, until
from support.waits import HANG

RESTARTS = 3.0   # a hung call's deadline, which the worker's restart and login must fit after (test_mt5_broker.py)


def market(cid: str, side: str = "buy", volume: float = 0.1, symbol: str = "EURUSD", **more) -> OrderRequest:
    return OrderRequest("market", cid, symbol=symbol, side=side, volume=volume, plugin="trend", alert_id=7, **more)


async def test_a_requote_then_the_terminal_lost_before_the_next_try_waits_and_is_sent_once_back(tmp_path):
    # A requote executes nothing; the fresh tick for the next try found the terminal gone. The send
    # stayed "sending", was looked for in vain and called "not known": the entry was never sent,
    # and the trader was told to look at the positions for an order that had surely not gone.
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.script("order_send", "requote")
        broker.terminal.script("symbol_info_tick", "normal", "ipc_down")   # the entry's tick, then the fresh one
        with pytest.raises(BrokerError, match="Nothing was sent"):          # the alert waits for the terminal
            await broker.execute(market("a3-p-1"))
        assert broker.book.unresolved() == [] and broker.terminal.sent() == 0
        broker.terminal.reconnect()
        await until(lambda: broker.connected)
        result = await broker.execute(market("a3-p-1"))                     # its alert, run once it is back
        assert result.ok and not result.duplicate and broker.terminal.sent() == 1


async def test_the_terminal_lost_while_a_send_waits_for_its_write_waits_and_is_sent_once_back(tmp_path):
    # The send is written down before it goes, in the engine's turn to write (the journal's commit
    # may hold it through an fsync). The terminal was lost meanwhile, so order_send was never
    # called; yet the send was left "unknown", looked for in vain and called "not known": never sent.
    async with mt5(tmp_path, poll_seconds=3600) as broker:                 # no poll waits for the turn but the send
        assert (await broker.execute(market("a2-p-1"))).ok                  # the plugin's magic number given
        turn = broker._database.turn
        await turn.take()                                                   # the journal writer commits ...
        outcome = []

        async def send() -> None:
            try:
                outcome.append(await broker.execute(market("a3-p-1")))
            except BrokerError as e:
                outcome.append(e)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            await until(lambda: turn._waiting == 1)                         # ... while the send waits to be written
            broker.terminal.disconnect()
            with pytest.raises(BrokerError):                                # a read finds the terminal gone
                await broker.positions()
            turn.give()
        (waits,) = outcome
        assert isinstance(waits, BrokerError) and "Nothing was sent" in str(waits), waits   # the alert waits
        assert broker.book.unresolved() == [] and broker.terminal.sent() == 1
        broker.terminal.reconnect()
        await until(lambda: broker.connected)
        result = await broker.execute(market("a3-p-1"))                     # its alert, run once it is back
        assert result.ok and not result.duplicate and broker.terminal.sent() == 2


async def test_a_removal_whose_answer_is_lost_while_the_history_trails_is_not_called_unchanged(tmp_path):
    # A terminal's history trails order_send by a second or more. A removal executed, its answer
    # lost, was looked for in the history while it did not have the order yet: "not executed: MetaTrader
    # shows the order unchanged", for good, though the order was gone; then the order was told
    # "cancelled: deleted in the terminal or by the broker", as if someone else had removed it.
    async with mt5(tmp_path, **short(RESTARTS)) as broker:
        placed = await broker.execute(OrderRequest("pending", "a12-p-1", symbol="EURUSD", side="buy", type="limit",
                                                   price=1.075, volume=0.1, plugin="p", alert_id=12))
        broker.terminal.lag_history()
        broker.terminal.script("order_send", "hang_after")                  # removed, the answer never comes
        cancel = OrderRequest("close", "a13-p-1", ticket=placed.ticket, plugin="p", alert_id=13)
        first = await broker.execute(cancel)
        assert not first.ok and first.unknown and "removed, most likely" in first.error, first
        assert broker.terminal.orders() == [] and broker.terminal.sent() == 2
        broker.terminal.lag_history(False)                                  # the history catches up
        again = await broker.execute(cancel)                                # a repeat looks again
        assert again.ok and again.ticket == placed.ticket and broker.terminal.sent() == 2, again
        await until(lambda: broker.book.get_state("pending_orders_known") == "[]")   # its end read ...
        assert not [e for e in broker.events if isinstance(e, Dropped)]     # ... and not told as someone else's


async def test_a_terminal_without_its_trade_server_is_told_lost_once_and_an_alert_waits_for_it(tmp_path):
    # The terminal answers while its own link to the trade server is down (a weekend's maintenance):
    # nothing watched terminal_info().connected, so the loss went untold until an order met 10031,
    # and the session was then "connected again" at once, told so to the admins at each try of each
    # waiting alert, a fresh worker each time, /health ok in between, for as long as the server was away.
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.set_server_link(False)
        await until(lambda: not broker.connected)                           # seen by the poll, no order needed
        with pytest.raises(BrokerError, match="Nothing was sent"):
            await broker.execute(market("a3-p-1"))                          # the alert waits for it
        await until(lambda: broker.state == "disconnected: the terminal has no connection with its trade server")
        assert not broker.connected and broker.terminal.sent() == 0
        broker.terminal.set_server_link(True)
        await until(lambda: broker.connected)
        result = await broker.execute(market("a3-p-1"))                     # its alert, run once it is back
        assert result.ok and broker.terminal.sent() == 1
        told = [(e.connected, e.detail) for e in broker.events if isinstance(e, Connection)]
        assert told == [(False, "the terminal has no connection with its trade server"), (True, "on Standin-Demo")]


async def test_an_entry_the_trade_server_rejected_while_the_engine_was_down_is_refused_not_opened(tmp_path):
    # The engine died mid-send; meanwhile the trade server took the order and rejected it (an exchange's
    # refusal; or a FOK order nothing filled, cancelled): in the order history, no deal, no position. Found
    # there by its tag, it was answered "done", ticket and price, to the plugin and the trader: a
    # position that does not exist. It is refused as its answer would have said, and never sent again.
    terminal = Terminal(tmp_path / "terminal.db")
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        terminal.script("order_send", "hang")                              # the answer never comes ...
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, market("a12-p-1"))
            await until(lambda: terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()                                   # ... the engine gone meanwhile
        (send,) = broker.book.unresolved()
    rejected = terminal.end_request(send["request"], ORDER_STATE_REJECTED)
    async with mt5(tmp_path) as broker:                                     # the restart, and its alert run again
        result = await broker.execute(market("a12-p-1"))
        assert not result.ok and not result.unknown and f"rejected by the trade server, nothing filled (order " \
            f"{rejected}, MetaTrader order state 5)" in result.error, result
        assert terminal.positions() == [] and terminal.sent() == 0        # nothing opened, nothing sent again
        assert (await broker.execute(market("a12-p-1"))).error == result.error



async def test_an_entry_the_trade_server_rejected_while_its_answer_was_lost_is_known_refused_by_its_client_id(tmp_path):
    # A timer's or a fill's entry (no alert runs it again) is settled in the order ledger by what
    # first_result says of its client id (core/unsettled.py). Found rejected in the history, it
    # was settled "refused" in the broker's book, yet first_result said "not executed, nothing
    # known": the ledger kept it "unknown", the trader was told at every start to look for it.
    terminal = Terminal(tmp_path / "terminal.db")
    entry = OrderRequest("market", "t12-p-1", symbol="EURUSD", side="buy", volume=0.1, plugin="trend")
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        terminal.script("order_send", "hang")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, entry)
            await until(lambda: terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()
        (send,) = broker.book.unresolved()
    terminal.end_request(send["request"], ORDER_STATE_REJECTED)
    async with mt5(tmp_path) as broker:                                     # the start looks for it
        await until(lambda: broker.book.unresolved() == [])
        first = await broker.first_result("t12-p-1")
        assert first is not None and not first.ok and not first.unknown, first
        assert "rejected by the trade server, nothing filled" in first.error, first
        ledger = OrderLedger(broker._database)                              # as the engine's ledger had it
        ledger.sending(entry)
        assert await settled(broker._database, ledger, broker, Events(time.time), "t12-p-1")
        assert ledger.refusal("t12-p-1") == first.error                   # refused, no longer "unknown"


async def test_algo_trading_switched_off_while_idle_is_told_before_an_order_meets_it(tmp_path):
    # Looked at only while it was off: switched off while moonhook ran, it was said at the first order
    # refused with 10027, the alert already lost to it.
    async with mt5(tmp_path) as broker:
        broker.terminal.set_trade_allowed(False)
        await until(lambda: "Algo Trading is off in the terminal" in broker.warnings)
        assert any(isinstance(e, Notice) and e.key == "broker:Algo Trading is off in the terminal"
                   for e in broker.events)
        broker.terminal.set_trade_allowed(True)
        await until(lambda: "Algo Trading is off in the terminal" not in broker.warnings)


async def test_a_close_by_symbol_run_again_while_the_history_trails_its_lost_send_is_not_called_nothing(tmp_path):
    # The engine died while a close by symbol's answer was on its way; at the restart the history
    # still trailed: its send was "not known", the position gone. Run again, the close answered
    # done, closed=[]: nothing to close, though its own send had closed the position; its deal,
    # read later, left the send not known.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(market("a7-trend-1"))
        broker.terminal.lag_history()
        broker.terminal.script("order_send", "hang_after")                   # closed, the answer never comes
        close = OrderRequest("close", "a8-trend-1", symbol="EURUSD", plugin="trend", alert_id=8)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, close)
            await until(lambda: broker.terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()                                   # the engine gone
    async with mt5(tmp_path) as broker:                                     # the restart looks for it, in vain
        assert broker.book.unresolved() == [] and broker.terminal.positions() == []
        again = await broker.execute(close)                                 # its alert, run again by recovery
        assert not again.ok and again.unknown and again.closed == [], again
        assert again.error.startswith("not known: the answer was lost"), again
        broker.terminal.lag_history(False)                                  # the history catches up
        await until(lambda: broker.book.executed("a8-trend-1"))             # the poll's deal settles it
        found = await broker.execute(close)                                 # a repeat answers it
        assert found.ok and found.closed == [opened.ticket] and broker.terminal.sent() == 2, found


async def test_a_send_waiting_its_turn_on_the_link_as_the_worker_dies_waits_and_is_sent_once_back(tmp_path):
    # order_send waited for the link behind a read that found the worker dead: the link, its turn come,
    # called nothing ("not running"), yet the session took that for a call whose outcome is unknown. The
    # send was looked for in vain and called "not known, not sent again": its alert's order never went.
    async with mt5(tmp_path, poll_seconds=3600, timeout=HANG) as broker:   # the hung read outlasts the test
        assert (await broker.execute(market("a2-p-1"))).ok                  # the plugin's magic number given
        turn, lock = broker._database.turn, broker._link._lock
        await turn.take()                                                   # the send held before it is written
        broker.terminal.script("positions_get", "hang")
        outcome = []

        async def send() -> None:
            try:
                outcome.append(await broker.execute(market("a3-p-1")))
            except BrokerError as e:
                outcome.append(e)

        async def read() -> None:
            with pytest.raises(BrokerError, match="died during positions_get"):
                await broker.positions()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            await until(lambda: turn._waiting == 1)
            nursery.start_soon(read)
            await until(lambda: broker.terminal.hung("positions_get") == 1)   # the read holds the link
            turn.give()
            await until(lambda: lock.statistics().tasks_waiting == 1)         # order_send waits its turn
            os.kill(broker.helper_pids()[0], signal.SIGKILL)
        (waits,) = outcome
        assert isinstance(waits, BrokerError) and "Nothing was sent" in str(waits), waits   # the alert waits
        assert broker.book.unresolved() == [] and broker.terminal.sent() == 1
        await until(lambda: broker.connected)
        result = await broker.execute(market("a3-p-1"))                     # its alert, run once it is back
        assert result.ok and not result.duplicate and broker.terminal.sent() == 2


async def test_a_send_cancelled_as_it_waits_its_turn_on_the_link_is_sent_once_when_its_alert_runs_again(tmp_path):
    # The engine stopped (its alerts cancelled past stop_timeout) while order_send waited for the link behind a
    # hung read. Nothing of it went, yet it was left "sending": its alert, run again at the next start, found it
    # open, looked for it in vain and answered "not known, not sent again": the order never went.
    async with mt5(tmp_path, poll_seconds=3600, timeout=HANG) as broker:   # the hung read outlasts the test
        assert (await broker.execute(market("a2-p-1"))).ok                  # the plugin's magic number given
        turn, lock = broker._database.turn, broker._link._lock
        await turn.take()                                                   # the send held before it is written
        broker.terminal.script("positions_get", "hang")
        stop = trio.CancelScope()

        async def send() -> None:
            with stop:
                await broker.execute(market("a3-p-1"))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send)
            await until(lambda: turn._waiting == 1)
            nursery.start_soon(broker.positions)
            await until(lambda: broker.terminal.hung("positions_get") == 1)   # the read holds the link
            turn.give()
            await until(lambda: lock.statistics().tasks_waiting == 1)         # order_send waits its turn
            stop.cancel()                                                     # the engine stops
            await until(lambda: lock.statistics().tasks_waiting == 0)
            broker.terminal.release("positions_get")
        assert stop.cancelled_caught and broker.book.unresolved() == [] and broker.terminal.sent() == 1
        result = await broker.execute(market("a3-p-1"))                     # its alert, run at the next start
        assert result.ok and not result.duplicate and broker.terminal.sent() == 2, result


async def test_a_call_moonhook_cancels_mid_way_ends_the_session_without_telling_a_lost_terminal(tmp_path, caplog):
    # A stop cancels the poll's terminal_info mid-call (2 stops in 3, seen walking `moonhook run`): its worker
    # killed, the session was logged an ERROR "connection lost" and told to the admins as a lost terminal; a
    # look at the terminal afterwards was told "connected again". Nothing was lost: moonhook stopped it.
    async with mt5(tmp_path, timeout=HANG) as broker:   # the cancel, not the read's deadline, ends the hung read
        await cancelled_mid_call(broker)
        await until(lambda: broker.connected)                                # linked again by the run loop
        told = [e.connected for e in broker.events if isinstance(e, Connection)]
        assert told == [True], told   # only found again: the account compared before an alert runs there
        assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text


async def test_a_call_cancelled_as_it_waits_its_turn_leaves_a_lost_worker_told_by_the_call_that_found_it(tmp_path):
    # A read found the worker dead (its link let it go) and was yet to say so when a call parked behind it was
    # cancelled: that call, never made, took the link without a worker for its own doing and ended the session
    # as "stopped"; the read's loss, said next, was no news, and the terminal's death was told to no one.
    class DeadAsItWaits:
        pid = None   # the read's doing: it says so once it is back in the session

        async def call(self, fn, *args, begun=None, **kwargs):
            await trio.sleep_forever()   # waits its turn behind the read: begun never

    events: list = []
    session = Session(DeadAsItWaits(), config(tmp_path), events.append)
    session.connected = True
    with trio.move_on_after(0) as scope:
        await session.call("positions_get")
    assert scope.cancelled_caught
    session.lose("the MetaTrader 5 worker died during positions_get (exit code -9)")   # the read, back
    assert session.state.startswith("lost: ") and [e.connected for e in events] == [False], (session.state, events)


async def test_a_call_cancelled_mid_way_is_warned_of_but_at_the_engines_stop(tmp_path, caplog):
    # Every stop cancels the poll's call in flight, and the link warned "cancelled before its answer; worker killed"
    # as for a fault. Said at INFO once the engine stops (Broker.stopping); a cancel before it is still warned of.
    caplog.set_level(logging.INFO)

    async def cut_short() -> None:   # a read no poll or catching up makes, held, then cancelled
        hung = broker.terminal.hung("symbol_info_tick")
        broker.terminal.script("symbol_info_tick", "hang")
        with trio.CancelScope() as scope:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(broker.query, "symbol_info_tick", "EURUSD")
                await until(lambda: broker.terminal.hung("symbol_info_tick") == hung + 1)
                scope.cancel()
        await until(lambda: broker.connected)                               # linked again by the run loop

    def said() -> list[str]:
        return [r.levelname for r in caplog.records
                if r.getMessage().startswith("MetaTrader 5 symbol_info_tick was cancelled before its answer")]
    async with mt5(tmp_path, timeout=HANG) as broker:   # the cancel, not the read's deadline, ends the hung read
        await cut_short()
        assert said() == ["WARNING"]
        broker.stopping()
        await cut_short()
        assert said() == ["WARNING", "INFO"]
