"""The MT5 broker tells each deal of the history once: a fill or a close reaches the plugins'
hooks and the trades chat once, whatever the seconds the deals fall in, across a restart, and
when the terminal learns of a deal late. The terminal's clock is held (``Terminal.set_time``),
and the broker's own poll is slowed to an hour, so each poll is one the test makes."""

from __future__ import annotations

import time

import trio

from engine.adapters.brokers.mt5.history import TOLD
from engine.domain.orders import Closed, Fill, OrderRequest

from support.mt5_standin import Terminal
from support.mt5_support import mt5

HOUR = 3_600.0


def market(cid: str, side: str = "buy") -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side=side, volume=0.1, plugin="trend", alert_id=7)


def fills(broker) -> list[int]:
    return [e.deal for e in broker.events if isinstance(e, Fill)]


async def test_deals_a_second_apart_are_each_told_once(tmp_path):
    now = int(time.time())
    async with mt5(tmp_path, poll_seconds=HOUR) as broker:
        broker.terminal.set_time(now)
        assert (await broker.execute(market("a7-trend-1"))).ok
        broker.terminal.set_time(now + 1)
        assert (await broker.execute(market("a7-trend-2"))).ok
        assert await broker.deals.poll() == []
        assert len(fills(broker)) == 2 and len(set(fills(broker))) == 2, broker.events


async def test_a_restart_tells_no_deal_again(tmp_path):
    now = int(time.time())
    async with mt5(tmp_path, poll_seconds=HOUR) as broker:
        broker.terminal.set_time(now)
        (await broker.execute(market("a7-trend-1"))).ok
        position = broker.terminal.positions()[0]["ticket"]
        assert (await broker.execute(OrderRequest("close", "a8-trend-1", ticket=position, plugin="trend"))).ok
        assert len(fills(broker)) == 2 and any(isinstance(e, Closed) for e in broker.events)
    async with mt5(tmp_path, poll_seconds=HOUR) as again:
        assert await again.deals.poll() == []
        assert not [e for e in again.events if isinstance(e, (Fill, Closed))], again.events


async def test_a_deal_the_terminal_learns_of_late_is_told(tmp_path):
    """A deal whose time is before the last one told (the terminal synchronised its history
    late) is told all the same, once."""
    now = int(time.time())
    async with mt5(tmp_path, poll_seconds=HOUR) as broker:
        broker.terminal.set_time(now + 5)
        assert (await broker.execute(market("a7-trend-1"))).ok
        broker.terminal.set_time(now + 2)
        assert (await broker.execute(market("a7-trend-2"))).ok
        assert len(fills(broker)) == 2 and len(set(fills(broker))) == 2, broker.events
        assert await broker.deals.poll() == []


async def test_a_book_that_kept_only_its_watermark_tells_nothing_again(tmp_path):
    """The journal of a version that kept only how far it had read: the deals up to there were
    told; the first poll after the upgrade tells only newer ones."""
    now = int(time.time())
    async with mt5(tmp_path, poll_seconds=HOUR) as broker:
        broker.terminal.set_time(now)
        assert (await broker.execute(market("a7-trend-1"))).ok
        with broker.book._d.transaction() as db:
            db.execute("DELETE FROM mt5_state WHERE key = ?", [TOLD])
    async with mt5(tmp_path, poll_seconds=HOUR) as again:
        again.terminal.set_time(now + 1)
        assert (await again.execute(market("a7-trend-2"))).ok
        assert len(fills(again)) == 1, again.events
        assert await again.deals.poll() == []


async def test_a_deal_tells_all_it_cost_its_fee_and_the_swap_its_close_books(tmp_path):
    """What a plugin adds up of its fills (profit, commission and swap, as daily_loss_limit.lua
    does) is what the balance moved by: the deal's fee counts in its commission, and the swap
    a close books comes with it."""
    terminal = Terminal(tmp_path / "terminal.db", commission_per_lot=7.0, fee_per_deal=0.5)
    async with mt5(tmp_path) as broker:
        assert (await broker.execute(market("a7-trend-1"))).ok            # 0.1 lot: 0.70 and a fee of 0.50
        (position,) = terminal.positions()
        terminal.charge_swap(position["ticket"], -1.25)
        assert (await broker.execute(OrderRequest("close", "a8-trend-1", ticket=position["ticket"], plugin="trend"))).ok
        deals = [e for e in broker.events if isinstance(e, Fill)]
        (closed,) = [e for e in broker.events if isinstance(e, Closed)]
    assert [(f.entry, f.commission, f.swap) for f in deals] == [("in", -1.2, 0.0), ("out", -1.2, -1.25)]
    moved = sum(f.profit + f.commission + f.swap for f in deals)
    assert round(moved, 2) == round(terminal.account()["balance"] - 10_000.0, 2)
    assert (closed.commission, closed.swap, closed.currency) == (-2.4, -1.25, "USD")
    assert closed.net == round(moved, 2)


async def test_a_stop_hit_and_two_orders_answered_at_once_are_each_told_once(tmp_path):
    # Two symbols' orders answered together each read the deal history after their fill: both
    # polls told the deals neither had marked yet, so a stop hit at the broker was said closed
    # twice (on_close twice: a day's loss counted double) and each fill twice.
    async with mt5(tmp_path, poll_seconds=HOUR) as broker:
        assert (await broker.execute(OrderRequest("market", "a7-trend-1", symbol="EURUSD", side="buy", volume=0.1,
                                                  sl=1.07, plugin="trend", alert_id=7))).ok
        broker.terminal.set_price("EURUSD", 1.0700, 1.0701)   # the stop is hit at the broker
        async with trio.open_nursery() as nursery:
            for symbol in ("GBPUSD", "XAUUSD"):
                nursery.start_soon(broker.execute, OrderRequest("market", f"a8-trend-{symbol}", symbol=symbol,
                                                                side="buy", volume=0.1, plugin="trend", alert_id=8))
        assert sorted(fills(broker)) == sorted(set(fills(broker))) and len(fills(broker)) == 4, broker.events
        assert len([e for e in broker.events if isinstance(e, Closed)]) == 1


async def test_a_stop_out_at_the_broker_is_told_as_one_to_on_close_too(tmp_path):
    # The deal said stop_out (its reason SO), and the position's close said "close", as if the
    # trader or a script had closed it: on_close and the trades chat hid the stop-out, which
    # paper and replay tell.
    async with mt5(tmp_path, poll_seconds=HOUR) as broker:   # the poll below is the only one
        assert (await broker.execute(market("a7-trend-1"))).ok
        (position,) = broker.terminal.positions()
        broker.terminal.stop_out(position["ticket"])
        told = await broker.deals.poll()
        out = [e for e in told if isinstance(e, Fill) and e.entry == "out"]
        closed = [e for e in told if isinstance(e, Closed)]
    assert [e.reason for e in out] == ["stop_out"] and [c.reason for c in closed] == ["stop_out"]
