"""A stop change or a pending order's modify whose answer was lost, judged not executed (MetaTrader
showed the stops unchanged when it was looked for), that the trade server applied a moment later (the
far side of a bridge going on with it): the poll looks at it again, and overturns its refusal once the
terminal shows the asked stops in effect, once, never sending it again (the stand-in terminal, in the
broker's real worker process)."""

from __future__ import annotations

from engine.domain.orders import OrderRequest, OrderResult, Overturned

from support.mt5_support import lost_answer, mt5, until


def market(cid: str) -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side="buy", volume=0.1, plugin="p", alert_id=1)


def change(cid: str, ticket: int, **stops) -> OrderRequest:
    return OrderRequest("modify", cid, ticket=ticket, plugin="p", alert_id=2, **stops)


def overturned(events: list) -> list[Overturned]:
    return [e for e in events if isinstance(e, Overturned)]


async def test_a_stop_change_judged_unchanged_that_the_server_applied_late_is_done_after_all(tmp_path):
    # It said "not executed ... unchanged" for good: the ledger, the alert and the plugin's answer said refused
    # while the position's sl was the one asked.
    async with mt5(tmp_path, resolve_seconds=0.3) as broker:
        ticket = (await broker.execute(market("a1-p-1"))).ticket
        broker.terminal.script("order_send", "late")
        refused = await lost_answer(broker, change("a2-p-1", ticket, sl=1.07))
        assert not refused.ok and not refused.unknown and "unchanged" in refused.error, refused
        assert broker.terminal.deliver_late() == [10009]
        await until(lambda: overturned(broker.events))
        assert overturned(broker.events) == [Overturned("a2-p-1")]
        assert [p["sl"] for p in broker.terminal.positions()] == [1.07]
        assert await broker.first_result("a2-p-1") == OrderResult(ok=True, ticket=ticket)
        sent = broker.terminal.sent()
        assert (await broker.execute(change("a2-p-1", ticket, sl=1.07))).ok and broker.terminal.sent() == sent


async def test_a_pending_modify_judged_unchanged_that_the_server_applied_late_is_done_after_all(tmp_path):
    async with mt5(tmp_path, resolve_seconds=0.3) as broker:
        placed = OrderRequest("pending", "a1-p-1", symbol="EURUSD", side="buy", type="limit", price=1.07,
                              volume=0.1, plugin="p", alert_id=1)
        ticket = (await broker.execute(placed)).ticket
        broker.terminal.script("order_send", "late")
        refused = await lost_answer(broker, change("a2-p-1", ticket, price=1.069, sl=1.06))
        assert not refused.ok and "unchanged" in refused.error, refused
        assert broker.terminal.deliver_late() == [10009]
        await until(lambda: overturned(broker.events))
        assert overturned(broker.events) == [Overturned("a2-p-1")]
        assert await broker.first_result("a2-p-1") == OrderResult(ok=True, ticket=ticket)


async def test_a_late_stop_change_that_another_change_of_moonhooks_followed_is_not_overturned(tmp_path):
    # The later request is the trader's word on the stops: the late one's refusal stands, and nothing is said.
    async with mt5(tmp_path, resolve_seconds=0.3) as broker:
        ticket = (await broker.execute(market("a1-p-1"))).ticket
        broker.terminal.script("order_send", "late")
        assert "unchanged" in (await lost_answer(broker, change("a2-p-1", ticket, sl=1.07))).error
        assert (await broker.execute(change("a3-p-1", ticket, sl=1.071))).ok
        assert broker.terminal.deliver_late() == [10009]              # the first one lands last: sl 1.07
        assert [p["sl"] for p in broker.terminal.positions()] == [1.07]
        await _polled(broker, 3)
        assert overturned(broker.events) == []
        assert not (await broker.first_result("a2-p-1")).ok


async def test_a_stop_change_overturned_and_not_told_before_a_crash_is_told_once_at_the_next_start(tmp_path):
    async with mt5(tmp_path, resolve_seconds=0.3, tell=False) as broker:
        ticket = (await broker.execute(market("a1-p-1"))).ticket
        broker.terminal.script("order_send", "late")
        await lost_answer(broker, change("a2-p-1", ticket, sl=1.07))
        broker.terminal.deliver_late()
        await until(lambda: overturned(broker.events))
    async with mt5(tmp_path, resolve_seconds=0.3) as again:
        await until(lambda: overturned(again.events))
        await _polled(again, 3)
        assert overturned(again.events) == [Overturned("a2-p-1", again=True)]
    async with mt5(tmp_path, resolve_seconds=0.3) as later:
        await _polled(later, 3)
        assert overturned(later.events) == []


async def _polled(broker, n: int) -> None:
    """``n`` more polls of the pending orders done (each reads the orders once)."""
    start = broker.terminal.calls("orders_get")
    await until(lambda: broker.terminal.calls("orders_get") >= start + n)


async def test_metatrader_lost_midway_through_the_look_tells_those_settled_before_and_the_rest_once_back(tmp_path):
    # The first change overturned, MetaTrader lost at the look at the second: raising then dropped the first's
    # event, kept already, with the poll's (told only at the next start).
    async with mt5(tmp_path, resolve_seconds=0.3) as broker:
        first, second = [(await broker.execute(market(f"a{n}-p-1"))).ticket for n in (1, 2)]
        for cid, ticket in (("a3-p-1", first), ("a4-p-1", second)):
            broker.terminal.script("order_send", "late")
            assert "unchanged" in (await lost_answer(broker, change(cid, ticket, sl=1.07))).error
        broker.terminal.script("positions_get", "hang", ticket=first)       # the poll's look at the first, held
        broker.terminal.script("positions_get", "ipc_down", ticket=second)  # and MetaTrader lost at the second's
        await until(lambda: broker.terminal.hung("positions_get") == 1)
        assert broker.terminal.deliver_late() == [10009, 10009]
        broker.terminal.release("positions_get")
        await until(lambda: not broker.connected)
        broker.terminal.reconnect()
        await until(lambda: Overturned("a4-p-1") in broker.events)
        assert overturned(broker.events) == [Overturned("a3-p-1"), Overturned("a4-p-1")]
        assert [p["sl"] for p in broker.terminal.positions()] == [1.07, 1.07] and broker.terminal.sent() == 4
