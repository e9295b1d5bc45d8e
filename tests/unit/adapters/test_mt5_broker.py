"""The MetaTrader 5 broker against the stand-in terminal (tests/support/mt5_standin.py), loaded in the
broker's real worker process: orders, retcodes, filling types, volumes, lost answers, a hung
and a dead worker, reconnection and reconciliation. ``terminal.sent()`` counts the orders
that really executed: the proof that nothing was sent twice."""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import replace

import pytest
import trio

from engine.domain.orders import Closed, Connection, Fill, OrderRequest
from engine.adapters.brokers.mt5 import MT5Broker
from engine.domain.config.mt5 import MT5Config
from engine.adapters.storage import Database

from support.mt5_standin import Terminal


def config(tmp_path, **changes) -> MT5Config:
    return replace(MT5Config(module="support.mt5_standin", path=str(tmp_path / "terminal.db"), timeout=3.0,
                             init_timeout=5.0, poll_seconds=0.05, resolve_seconds=0.5), **changes)


@asynccontextmanager
async def mt5(tmp_path, **changes):
    """A started MT5 broker on a fresh terminal (kept across uses in one test) and a database."""
    terminal = Terminal(tmp_path / "terminal.db")
    database = Database(tmp_path / "moonhook.db")
    broker = MT5Broker(database, config(tmp_path, **changes))
    events: list = []
    broker.listen(events.append)
    try:
        await broker.start()
        async with trio.open_nursery() as nursery:
            await nursery.start(broker.run)
            broker.events, broker.terminal = events, terminal
            yield broker
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await broker.stop()
        database.close()


def market(cid: str, side: str = "buy", volume: float = 0.1, symbol: str = "EURUSD", **more) -> OrderRequest:
    return OrderRequest("market", cid, symbol=symbol, side=side, volume=volume, plugin="trend", alert_id=7, **more)


async def until(check, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not check():
            await trio.sleep(0.02)


async def test_a_market_order_fills_once_and_is_told_and_a_repeat_answers_its_first_result(tmp_path):
    async with mt5(tmp_path) as broker:
        result = await broker.execute(market("a7-trend-1", sl=1.07, tp=1.09))
        assert result.ok and result.price == 1.0801 and result.volume == 0.1
        (position,) = broker.terminal.positions()
        assert position["ticket"] == result.ticket and position["comment"].startswith("mh:a7:")
        assert position["magic"] == 7_770_001 and (position["sl"], position["tp"]) == (1.07, 1.09)
        again = await broker.execute(market("a7-trend-1", sl=1.07, tp=1.09))
        assert again.duplicate and again.ticket == result.ticket and broker.terminal.sent() == 1
        await until(lambda: any(isinstance(e, Fill) for e in broker.events))
        fill = next(e for e in broker.events if isinstance(e, Fill))
        assert (fill.entry, fill.side, fill.symbol, fill.plugin, fill.alert_id) == ("in", "buy", "EURUSD", "trend", 7)
        (mine,) = await broker.positions()
        assert mine["plugin"] == "trend" and not mine["external"] and mine["side"] == "buy"

        broker.terminal.set_price("EURUSD", 1.0700, 1.0701)  # the stop is hit at the broker
        await until(lambda: any(isinstance(e, Closed) for e in broker.events))
        closed = next(e for e in broker.events if isinstance(e, Closed))
        assert (closed.ticket, closed.reason, closed.side) == (result.ticket, "sl", "buy")
        assert closed.profit == pytest.approx((1.07 - 1.0801) * 0.1 * 100_000, abs=0.01)


@pytest.mark.parametrize("symbol, filling", [("EURUSD", 0), ("GBPUSD", 1), ("XAUUSD", 0), ("US500", 2)])
async def test_the_filling_type_is_the_one_the_symbol_allows(tmp_path, symbol, filling):
    async with mt5(tmp_path) as broker:
        volume = 0.1 if symbol != "US500" else 0.2
        result = await broker.execute(market(f"a7-trend-{symbol}", symbol=symbol, volume=volume))
        assert result.ok, result.error
        assert broker.terminal.history_orders()[-1]["type_filling"] == filling


async def test_a_wrong_filling_type_10030_is_retried_with_the_next_allowed(tmp_path):
    async with mt5(tmp_path) as broker:
        await broker.symbol("XAUUSD")                      # selected; its spec read (FOK and IOC)
        broker.terminal.set_symbol("XAUUSD", filling_mode=2)  # the broker changed it: FOK now refused
        result = await broker.execute(market("a7-trend-x", symbol="XAUUSD"))
        assert result.ok and broker.terminal.history_orders()[-1]["type_filling"] == 1
        assert broker.terminal.sent() == 1


async def test_volumes_are_rounded_to_the_step_and_a_volume_under_the_minimum_is_refused(tmp_path):
    async with mt5(tmp_path) as broker:
        assert (await broker.execute(market("a1-p-1", volume=0.129))).volume == 0.12
        refused = await broker.execute(market("a1-p-2", volume=0.004))
        assert not refused.ok and "below EURUSD's minimum 0.01" in refused.error
        near = await broker.execute(market("a1-p-3", sl=1.07995))   # 5 points under the bid, where a buy closes
        assert not near.ok and near.error == ("sl 1.07995 is 5 points from the price 1.08; EURUSD needs at least 10 "
                                              "(its trade_stops_level)")
        assert broker.terminal.sent() == 1


@pytest.mark.parametrize("outcomes, ok, sends, message", [
    (("requote",), True, 1, None),
    (("price_changed", "price_off"), True, 1, None),
    (("requote", "requote", "requote", "requote"), False, 0, "MetaTrader 10004: requote"),
    (("no_money",), False, 0, "MetaTrader 10019: not enough money"),
    (("reject",), False, 0, "MetaTrader 10006: request rejected"),
    (("timeout",), False, 0, "MetaTrader 10012: request canceled by timeout"),
    (("connection",), False, 0, "MetaTrader 10031: no connection with the trade server"),
])
async def test_each_retcode_path(tmp_path, outcomes, ok, sends, message):
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.script("order_send", *outcomes)
        result = await broker.execute(market("a3-p-1"))
        assert result.ok is ok and broker.terminal.sent() == sends
        if message:
            assert result.error.startswith(message), result.error
            assert (await broker.execute(market("a3-p-1"))).duplicate   # refused once, for good
        if "10031" in (message or ""):  # the link to the trade server is down: reconnected
            assert any(isinstance(e, Connection) and not e.connected for e in broker.events)
            await until(lambda: broker.connected)


async def test_autotrading_off_and_a_closed_market_are_said_plainly(tmp_path):
    async with mt5(tmp_path) as broker:
        broker.terminal.set_trade_allowed(False)
        off = await broker.execute(market("a4-p-1"))
        assert "10027: autotrading disabled in the terminal (press the AutoTrading button)" in off.error
        broker.terminal.set_trade_allowed(True)
        broker.terminal.set_market_closed("EURUSD", True)
        assert "10018: the market is closed" in (await broker.execute(market("a4-p-2"))).error


async def test_an_answer_lost_after_the_send_is_found_at_the_broker_and_never_sent_again(tmp_path):
    async with mt5(tmp_path, timeout=0.5) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.script("order_send", {"slow_after": 3})   # executes, then the answer is late
        result = await broker.execute(market("a5-p-1"))
        assert result.ok and broker.terminal.sent() == 1          # found by its tag, after the worker was killed
        assert result.ticket == broker.terminal.positions()[0]["ticket"]
        assert (await broker.execute(market("a5-p-1"))).duplicate and broker.terminal.sent() == 1


async def test_a_worker_that_dies_mid_call_is_restarted_and_its_order_found(tmp_path):
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.script("order_send", "crash_after_send")
        first = await broker.execute(market("a6-p-1"))  # the worker restarted, the order found by its tag
        assert first.ok and first.ticket == broker.terminal.positions()[0]["ticket"]
        again = await broker.execute(market("a6-p-1"))  # the alert replayed: its first result, no new order
        assert again.duplicate and again.ticket == first.ticket
        assert broker.terminal.sent() == 1 and len(broker.terminal.positions()) == 1
        assert any(isinstance(e, Connection) and not e.connected for e in broker.events)
        assert any(isinstance(e, Connection) and e.connected for e in broker.events)


async def test_an_order_left_unknown_is_not_failed_and_a_replay_finds_it(tmp_path):
    async with mt5(tmp_path, timeout=0.5) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.script("order_send", {"slow_after": 3})  # executed, the answer late ...

        async def cut() -> None:
            await trio.sleep(0.2)
            broker.terminal.disconnect()                         # ... and the terminal gone meanwhile
        async with trio.open_nursery() as nursery:
            nursery.start_soon(cut)
            first = await broker.execute(market("a13-p-1"))
        assert not first.ok and first.error.startswith("not done: ") and "nothing is sent again" in first.error
        assert [s["state"] for s in broker.book.unresolved()] == ["unknown"]   # unknown, never failed
        broker.terminal.reconnect()
        await until(lambda: broker.connected and not broker.book.unresolved())
        again = await broker.execute(market("a13-p-1"))         # TradingView's repeat, or a recovery
        assert again.ok and again.ticket == broker.terminal.positions()[0]["ticket"]
        assert broker.terminal.sent() == 1


async def test_a_crash_before_the_send_is_resolved_as_not_executed(tmp_path):
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.script("order_send", "crash_before_send")
        assert not (await broker.execute(market("a8-p-1"))).ok
        await until(lambda: broker.connected and not broker.book.unresolved())
        final = await broker.execute(market("a8-p-1"))
        assert not final.ok and "MetaTrader shows no trace of the order" in final.error
        assert broker.terminal.sent() == 0


async def test_a_lost_connection_is_told_and_found_again(tmp_path):
    async with mt5(tmp_path) as broker:
        broker.terminal.disconnect()
        refused = await broker.execute(market("a9-p-1"))
        assert not refused.ok and not broker.connected
        assert broker.state.startswith("lost: ") and "No IPC connection" in broker.state
        broker.terminal.reconnect()
        await until(lambda: broker.connected)
        assert (await broker.execute(market("a9-p-2"))).ok
        kinds = [e.connected for e in broker.events if isinstance(e, Connection)]
        assert kinds == [False, True]


async def test_reconciliation_at_start_finds_what_the_last_run_left_unknown(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        # as if the engine died mid-send: written down as sending, executed at the broker
        broker.terminal.script("order_send", {"slow_after": 2})
        with trio.move_on_after(0.3):
            await broker.execute(market("a10-p-1"))
    assert terminal.sent() == 1
    terminal.open_external("EURUSD", "sell", 0.5)
    async with mt5(tmp_path) as broker:  # the restart
        assert broker.book.unresolved() == []
        assert (await broker.execute(market("a10-p-1"))).ticket == terminal.positions()[0]["ticket"]
        assert terminal.sent() == 1
        positions = await broker.positions()
        assert sorted(p["external"] for p in positions) == [False, True]
        closed = await broker.execute(OrderRequest("close", "a11-p-1", symbol="EURUSD", plugin="p"))
        assert closed.ok and len(closed.closed) == 1          # ours only: the trader's own stays
        assert [p["comment"] for p in terminal.positions()] == ["manual"]


async def test_pending_orders_modify_and_cancel(tmp_path):
    async with mt5(tmp_path) as broker:
        placed = await broker.execute(OrderRequest("pending", "a12-p-1", symbol="EURUSD", side="buy", type="limit",
                                                   price=1.075, volume=0.1, plugin="p"))
        assert placed.ok and (await broker.orders())[0]["price"] == 1.075
        moved = await broker.execute(OrderRequest("modify", "a12-p-2", ticket=placed.ticket, price=1.074, plugin="p"))
        assert moved.ok and (await broker.orders())[0]["price"] == 1.074
        cancelled = await broker.execute(OrderRequest("close", "a12-p-3", ticket=placed.ticket, plugin="p"))
        assert cancelled.ok and await broker.orders() == []
        opened = await broker.execute(market("a12-p-4"))
        changed = await broker.execute(OrderRequest("modify", "a12-p-5", ticket=opened.ticket, sl=1.07, plugin="p"))
        assert changed.ok and terminal_sl(broker) == 1.07


def terminal_sl(broker) -> float:
    return broker.terminal.positions()[0]["sl"]
