"""Moonhook's pending orders on MetaTrader 5 (the stand-in terminal, in the broker's real worker
process) through their life: ended at the broker (cancelled in the terminal, expired, rejected)
before moonhook had told it, after a cancel of its own was refused, after part of it filled, or
while two orders were answered at once; and removed or moved just as their price came."""

from __future__ import annotations

import trio

from engine.adapters.brokers.mt5.pending import KNOWN
from engine.domain.orders import Dropped, Fill, OrderRequest, OrderResult, Overturned

from support.mt5_standin import ORDER_STATE_EXPIRED
from support.mt5_support import GONE_PAST, lost_answer, mt5, short, until


def limit(cid: str, price: float = 1.07, **more) -> OrderRequest:
    return OrderRequest("pending", cid, symbol="EURUSD", side="buy", type="limit", price=price, volume=0.1,
                        plugin="p", alert_id=12, **more)


def dropped(events: list) -> list[tuple[int, str, bool | None]]:
    return [(e.ticket, e.reason, e.again) for e in events if isinstance(e, Dropped)]


async def test_a_pending_order_ended_at_the_broker_and_not_yet_told_at_a_crash_is_told_at_the_next_start(tmp_path):
    # Read from the order history, then killed before the engine told it: the trades chat never
    # said the order was gone, and on_cancel never ran (a plugin waiting for its entry waits forever).
    async with mt5(tmp_path) as broker:
        ticket = (await broker.execute(limit("a12-p-1"))).ticket
    async with mt5(tmp_path, tell=False) as broker:
        broker.terminal.end_order(ticket)                               # deleted by hand in the terminal
        await until(lambda: dropped(broker.events))
    async with mt5(tmp_path) as again:
        await until(lambda: dropped(again.events))
        assert dropped(again.events) == [(ticket, "cancelled", True)]
    async with mt5(tmp_path) as later:   # told once at that start: not again at the next (told as it listens)
        assert dropped(later.events) == []


async def test_a_pending_order_whose_removal_was_refused_is_told_when_it_ends_at_the_broker(tmp_path):
    # A cancel refused (Algo Trading off) leaves the order live; it was taken for moonhook's own
    # removal when it later expired or was deleted by hand: never told, on_cancel never ran.
    async with mt5(tmp_path) as broker:
        by_hand, expired = [(await broker.execute(limit(f"a12-p-{n}", 1.07 - n / 1000))).ticket for n in range(2)]
        broker.terminal.set_trade_allowed(False)
        for n, ticket in enumerate((by_hand, expired)):
            refused = await broker.execute(OrderRequest("close", f"a13-p-{n}", ticket=ticket, type="limit", plugin="p"))
            assert not refused.ok and "10027" in refused.error
        broker.terminal.set_trade_allowed(True)
        broker.terminal.end_order(by_hand)
        broker.terminal.end_order(expired, ORDER_STATE_EXPIRED)
        await until(lambda: broker.book.get_state(KNOWN) == "[]")   # the poll has seen both gone
        assert dropped(broker.events) == [(by_hand, "cancelled", None), (expired, "expired", None)]



async def test_a_removal_judged_not_executed_after_its_answer_was_lost_that_arrived_late_is_moonhooks(tmp_path):
    # The order still there when it was looked for: "unchanged"; then the far side of the bridge removed it.
    # Told as a drop moonhook did not ask for (on_cancel, the trades chat), its request refused for good.
    async with mt5(tmp_path, resolve_seconds=0.3) as broker:
        ticket = (await broker.execute(limit("a12-p-1"))).ticket
        broker.terminal.script("order_send", "late")
        cancel = OrderRequest("close", "a13-p-1", ticket=ticket, type="limit", plugin="p")
        refused = await lost_answer(broker, cancel)
        assert not refused.ok and not refused.unknown and "unchanged" in refused.error, refused
        assert broker.terminal.deliver_late() == [10009] and broker.terminal.orders() == []
        await until(lambda: any(isinstance(e, Overturned) for e in broker.events))
        assert [e for e in broker.events if isinstance(e, Overturned)] == [Overturned("a13-p-1")]
        assert dropped(broker.events) == []
        assert await broker.first_result("a13-p-1") == OrderResult(ok=True, ticket=ticket)
        assert (await broker.execute(cancel)).ok and broker.terminal.sent() == 2   # a repeat: not sent again


async def test_a_removal_arriving_just_after_the_order_filled_says_its_position_is_open(tmp_path):
    # Filled between moonhook's look and its removal's arrival: the cancel was refused as the
    # server's "invalid request", and a position the trader thought cancelled was open, unsaid.
    async with mt5(tmp_path) as broker:
        ticket = (await broker.execute(limit("a12-p-1", 1.075))).ticket
        broker.terminal.script("order_send", "hang")                    # the removal held on its way
        answers = []

        async def remove() -> None:
            request = OrderRequest("close", "a13-engine-cancel", ticket=ticket, type="limit", plugin="engine")
            answers.append(await broker.execute(request))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(remove)
            await until(lambda: broker.terminal.hung("order_send") >= 1)
            broker.terminal.set_price("EURUSD", 1.0745, 1.0746)         # the order fills meanwhile
            broker.terminal.release("order_send")
        assert [(a.ok, a.error) for a in answers] == [(False, f"ticket {ticket}: the pending order was filled before "
                                                              f"it could be removed: position {ticket} is open")]
        assert [p["ticket"] for p in broker.terminal.positions()] == [ticket]


async def test_a_pending_order_ended_after_part_of_it_filled_is_told_with_the_rest_and_its_position(tmp_path):
    # Cancelled after 0.04 of its 0.1 lots filled: told as 0.1 lots cancelled, on_cancel read the
    # whole entry as gone (a plugin placing it again doubles it) while 0.04 lots were open.
    async with mt5(tmp_path) as broker:
        ticket = (await broker.execute(limit("a12-p-1"))).ticket
        broker.terminal.fill_part(ticket, 0.04)
        await until(lambda: any(isinstance(e, Fill) for e in broker.events))
        assert [o["volume"] for o in await broker.orders()] == [0.06]
        broker.terminal.end_order(ticket)
        await until(lambda: dropped(broker.events))
        (gone,) = [e for e in broker.events if isinstance(e, Dropped)]
        assert (gone.volume, gone.reason) == (0.06, "cancelled")
        assert gone.detail == (f"deleted in the terminal or by the broker, after 0.04 of its 0.1 lots filled: position "
                               f"{ticket} is open (MetaTrader order state 2)")


async def test_a_pending_order_ended_while_two_orders_are_answered_at_once_is_told_once(tmp_path):
    # Each pending order placed reads the orders gone: two answered together both told the one
    # deleted in the terminal meanwhile (the trades chat and on_cancel twice).
    async with mt5(tmp_path, poll_seconds=3600) as broker:
        ticket = (await broker.execute(limit("a12-p-1"))).ticket
        broker.terminal.end_order(ticket)
        async with trio.open_nursery() as nursery:
            for n in (2, 3):
                nursery.start_soon(broker.execute, limit(f"a12-p-{n}", 1.07 - n / 1000))
        assert dropped(broker.events) == [(ticket, "cancelled", None)]


async def test_a_new_price_for_a_pending_order_filled_meanwhile_is_refused_not_applied_to_its_position(tmp_path):
    # MetaTrader took it as a stop change of the position the fill opened and answered ok: the
    # plugin believed its entry moved to 1.072 while it had filled at 1.0746; the paper broker
    # refused it. It is refused alike, nothing sent.
    async with mt5(tmp_path) as broker:
        ticket = (await broker.execute(limit("a12-p-1", 1.075, sl=1.07))).ticket
        broker.terminal.set_price("EURUSD", 1.0745, 1.0746)                  # filled
        sent = broker.terminal.sent()
        moved = await broker.execute(OrderRequest("modify", "a13-p-1", ticket=ticket, price=1.072, sl=1.069,
                                                  plugin="p"))
        assert (moved.ok, moved.error) == (False, f"price: position {ticket} is open; only a pending order's price "
                                                  "can change")
        assert (broker.terminal.sent(), broker.terminal.positions()[0]["sl"]) == (sent, 1.07)


async def test_a_removal_not_known_as_the_history_trailed_is_done_once_the_history_has_it_cancelled(tmp_path):
    # Its answer lost, its order gone while the history trailed: "not known" (removed, most likely). The poll
    # then read the order cancelled and left the removal not known: its request was not known for good.
    async with mt5(tmp_path, resolve_seconds=0.3) as broker:
        ticket = (await broker.execute(limit("a12-p-1"))).ticket
        broker.terminal.lag_history()
        broker.terminal.script("order_send", "hang_after")               # removed, the answer never comes
        cancel = OrderRequest("close", "a13-p-1", ticket=ticket, type="limit", plugin="p")
        lost = await lost_answer(broker, cancel)
        assert lost.unknown and "removed, most likely" in lost.error, lost
        broker.terminal.lag_history(False)
        await until(lambda: broker.book.get_state(KNOWN) == "[]")       # the poll has read its end
        assert await broker.first_result("a13-p-1") == OrderResult(ok=True, ticket=ticket)
        assert dropped(broker.events) == [] and broker.terminal.sent() == 2


async def test_a_removal_not_known_as_the_history_trailed_is_refused_once_the_history_has_the_order_filled(tmp_path):
    # Its answer lost, its order filled meanwhile (the removal never reached the server) and the history
    # trailing: "not known". The poll then read the order filled, and the removal stayed not known.
    async with mt5(tmp_path, resolve_seconds=0.3) as broker:
        ticket = (await broker.execute(limit("a12-p-1", 1.075))).ticket
        broker.terminal.lag_history()
        broker.terminal.script("order_send", "late")
        cancel = OrderRequest("close", "a13-p-1", ticket=ticket, type="limit", plugin="p")
        lost = await lost_answer(broker, cancel, lambda: broker.terminal.set_price("EURUSD", 1.0745, 1.0746))
        assert lost.unknown and "removed, most likely" in lost.error, lost
        broker.terminal.lag_history(False)
        await until(lambda: broker.book.get_state(KNOWN) == "[]")
        found = await broker.first_result("a13-p-1")
        said = f"ticket {ticket}: the pending order was filled before it could be removed: position {ticket} is open"
        assert (found.ok, found.unknown, found.error) == (False, False, said)
        assert broker.terminal.deliver_late() == [10013] and [p["ticket"] for p in broker.terminal.positions()] == [
            ticket]


async def test_a_removal_not_known_as_the_history_trailed_of_an_order_that_expired_is_refused_and_its_end_told(
        tmp_path):
    # As above, the order expired meanwhile: the removal stayed not known, and, taken for moonhook's cancel, the
    # expiry was never told (on_cancel, the trades chat).
    async with mt5(tmp_path, resolve_seconds=0.3) as broker:
        ticket = (await broker.execute(limit("a12-p-1"))).ticket
        broker.terminal.lag_history()
        broker.terminal.script("order_send", "late")
        cancel = OrderRequest("close", "a13-p-1", ticket=ticket, type="limit", plugin="p")
        lost = await lost_answer(broker, cancel, lambda: broker.terminal.end_order(ticket, ORDER_STATE_EXPIRED))
        assert lost.unknown, lost
        broker.terminal.lag_history(False)
        await until(lambda: broker.book.get_state(KNOWN) == "[]")
        found = await broker.first_result("a13-p-1")
        assert (found.ok, found.unknown, found.error) == (False, False, f"ticket {ticket}: the pending order was "
                                                          "expired before it could be removed (its expiry time came)")
        assert dropped(broker.events) == [(ticket, "expired", None)]


async def test_a_change_arriving_just_after_the_order_filled_says_its_position_is_open(tmp_path):
    # Filled between moonhook's look and its change's arrival: refused as the server's "invalid request", and a
    # position the trader thought a resting order was open, unsaid (as a removal arriving so says it).
    async with mt5(tmp_path) as broker:
        ticket = (await broker.execute(limit("a12-p-1", 1.075, sl=1.07))).ticket
        broker.terminal.script("order_send", "hang")                    # the change held on its way
        answers = []

        async def move() -> None:
            request = OrderRequest("modify", "a13-p-1", ticket=ticket, price=1.074, sl=1.069, plugin="p")
            answers.append(await broker.execute(request))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(move)
            await until(lambda: broker.terminal.hung("order_send") >= 1)
            broker.terminal.set_price("EURUSD", 1.0745, 1.0746)         # the order fills meanwhile
            broker.terminal.release("order_send")
        assert [(a.ok, a.error) for a in answers] == [(False, f"ticket {ticket}: the pending order was filled before "
                                                              f"it could be changed: position {ticket} is open")]
        assert [(p["ticket"], p["sl"]) for p in broker.terminal.positions()] == [(ticket, 1.07)]


async def test_a_change_whose_answer_was_lost_as_the_order_filled_says_its_position_is_open(tmp_path):
    # Judged by its effect: the order gone, its change was "not executed, and MetaTrader shows the order unchanged".
    async with mt5(tmp_path, resolve_seconds=0.3) as broker:
        ticket = (await broker.execute(limit("a12-p-1", 1.075, sl=1.07))).ticket
        broker.terminal.script("order_send", "late")
        move = OrderRequest("modify", "a13-p-1", ticket=ticket, price=1.074, sl=1.069, plugin="p")
        lost = await lost_answer(broker, move, lambda: broker.terminal.set_price("EURUSD", 1.0745, 1.0746))
        said = f"ticket {ticket}: the pending order was filled before it could be changed: position {ticket} is open"
        assert (lost.ok, lost.unknown, lost.error) == (False, False, said), lost
        assert (await broker.first_result("a13-p-1")).error == said


async def test_a_removal_not_known_with_metatrader_gone_is_refused_once_back_when_its_order_filled(tmp_path):
    # MetaTrader gone longer than mt5.timeout after the answer was lost: not known. Looked for once it was back,
    # the order was found filled, and the removal written refused as one that may be sent again, which no
    # record of the request reads: the order ledger asked in vain, not known for an hour, then till the next start.
    async with mt5(tmp_path, **short(GONE_PAST)) as broker:
        ticket = (await broker.execute(limit("a12-p-1", 1.075))).ticket
        broker.terminal.script("order_send", "late")
        cancel = OrderRequest("close", "a13-p-1", ticket=ticket, type="limit", plugin="p")

        def filled_as_metatrader_goes() -> None:
            broker.terminal.set_price("EURUSD", 1.0745, 1.0746)
            broker.terminal.disconnect()
        lost = await lost_answer(broker, cancel, filled_as_metatrader_goes)
        assert lost.unknown, lost
        broker.terminal.reconnect()
        await until(lambda: broker.connected and not broker.book.unresolved())
        found = await broker.first_result("a13-p-1")
        assert found is not None and (found.ok, found.unknown, found.error) == (
            False, False, f"ticket {ticket}: the pending order was filled before it could be removed: position "
                          f"{ticket} is open"), found
