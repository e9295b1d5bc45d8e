"""A change to a pending order (its removal, a new price or stops) whose answer was lost. Such a
send leaves no tag at the broker: it is resolved by its effect, which must be the request's own.
An order gone is a removal done only if the history has it cancelled (filled meanwhile, its
position is open); an order still there is modified only if its price, sl and tp (and expiry,
when set) are the request's, not its price alone."""

from __future__ import annotations

import pytest

from engine.adapters.brokers.mt5.lost import UNCHANGED
from engine.domain.orders import OrderRequest, OrderResult

from support.mt5_standin import ORDER_STATE_CANCELED, ORDER_STATE_EXPIRED
from support.mt5_support import GONE_PAST, lost_answer, mt5, short, until

def pending(cid: str = "a1-p-1") -> OrderRequest:
    return OrderRequest("pending", cid, symbol="EURUSD", side="buy", type="limit", price=1.075, sl=1.07,
                        volume=0.1, plugin="p", alert_id=1)


def removal(ticket: int) -> OrderRequest:
    return OrderRequest("close", "a2-p-1", symbol="EURUSD", ticket=ticket, type="limit", plugin="p", alert_id=2)


async def lost_removal(broker, ticket: int, meanwhile) -> OrderResult:
    """The removal of ``ticket``, which never reaches the server, while ``meanwhile()`` happens."""
    broker.terminal.script("order_send", "hang")
    return await lost_answer(broker, removal(ticket), meanwhile)


async def test_a_lost_removal_of_an_order_filled_meanwhile_says_filled_and_leaves_its_position(tmp_path):
    async with mt5(tmp_path) as broker:
        placed = await broker.execute(pending())
        result = await lost_removal(broker, placed.ticket, lambda: broker.terminal.set_price("EURUSD", 1.0749, 1.0750))
        assert not result.ok and result.error == (f"ticket {placed.ticket}: the pending order was filled before it "
                                                  f"could be removed: position {placed.ticket} is open")
        assert [p["ticket"] for p in broker.terminal.positions()] == [placed.ticket]
        assert (await broker.first_result("a2-p-1")).error == result.error


async def test_a_lost_removal_of_an_order_expired_meanwhile_says_it_expired(tmp_path):
    async with mt5(tmp_path) as broker:
        placed = await broker.execute(pending())
        result = await lost_removal(broker, placed.ticket, lambda: broker.terminal.end_order(placed.ticket,
                                                                                              ORDER_STATE_EXPIRED))
        assert not result.ok and result.error == (f"ticket {placed.ticket}: the pending order was expired before it "
                                                  "could be removed (its expiry time came)")


async def test_a_lost_removal_that_was_done_is_found_cancelled(tmp_path):
    async with mt5(tmp_path) as broker:
        placed = await broker.execute(pending())
        broker.terminal.script("order_send", "hang_after")       # removed, then the answer never comes
        result = await lost_answer(broker, removal(placed.ticket))
        assert result.ok and result.ticket == placed.ticket
        assert broker.terminal.orders() == [] and broker.terminal.positions() == []
        assert [o["state"] for o in broker.terminal.history_orders()] == [ORDER_STATE_CANCELED]


@pytest.mark.parametrize("change", [{"sl": 1.072}, {"tp": 1.09}, {"price": 1.074}])
async def test_a_lost_modify_never_applied_is_not_called_done_whichever_field_it_changes(tmp_path, change):
    async with mt5(tmp_path) as broker:
        placed = await broker.execute(pending())
        broker.terminal.script("order_send", "hang")             # never reaches the server: its worker is killed
        moved = await lost_answer(broker, OrderRequest("modify", "a2-p-1", ticket=placed.ticket, plugin="p",
                                                       alert_id=2, **change))
        (order,) = broker.terminal.orders()
        assert (order["price_open"], order["sl"], order["tp"]) == (1.075, 1.07, 0.0)
        assert not moved.ok and moved.error.startswith("not executed: ")


@pytest.mark.parametrize("change", [{"sl": 1.072}, {"tp": 1.09}])
async def test_a_lost_modify_that_was_applied_is_found_done(tmp_path, change):
    async with mt5(tmp_path) as broker:
        placed = await broker.execute(pending())
        broker.terminal.script("order_send", "hang_after")       # applied, then the answer never comes
        moved = await lost_answer(broker, OrderRequest("modify", "a2-p-1", ticket=placed.ticket, plugin="p",
                                                       alert_id=2, **change))
        (order,) = broker.terminal.orders()
        assert moved.ok and {k: order[k] for k in change} == change


@pytest.mark.parametrize("kind", ["stops", "removal", "close"])
async def test_a_change_answered_unknown_that_the_reconnection_finds_not_executed_answers_refused(tmp_path, kind):
    # The terminal gone with the answer for longer than the send waits: "not known". Linked again, the
    # reconnection found it not executed (the change not in effect, the position open whole) and settled its
    # send refused, but the request's answer stayed "not known": the engine's ledger, which asks it, kept it
    # unknown for good.
    async with mt5(tmp_path, **short(GONE_PAST)) as broker:
        placed = await broker.execute(pending() if kind == "removal" else
                                      OrderRequest("market", "a1-p-1", symbol="EURUSD", side="buy", volume=0.1,
                                                   plugin="p", alert_id=1))
        request = {"removal": removal(placed.ticket),
                   "stops": OrderRequest("modify", "a2-p-1", ticket=placed.ticket, sl=1.07, plugin="p", alert_id=2),
                   "close": OrderRequest("close", "a2-p-1", symbol="EURUSD", ticket=placed.ticket, plugin="p",
                                         alert_id=2)}[kind]
        broker.terminal.script("order_send", "hang")             # never reaches the server
        lost = await lost_answer(broker, request, broker.terminal.disconnect)
        assert lost.unknown, lost
        assert await broker.first_result("a2-p-1") is None or (await broker.first_result("a2-p-1")).unknown
        broker.terminal.reconnect()
        await until(lambda: broker.book.first_result("a2-p-1") is not None
                    and not broker.book.first_result("a2-p-1").get("unknown"))
        found = await broker.first_result("a2-p-1")
        assert (found.ok, found.unknown) == (False, False) and found.error.startswith("not executed: the answer was "
                                                                                      "lost"), found
        assert kind == "close" or found.error == UNCHANGED
        assert broker.terminal.sent() == 1   # the entry alone: never sent again
        left = broker.terminal.orders() if kind == "removal" else broker.terminal.positions()
        assert [x["ticket"] for x in left] == [placed.ticket] and left[0]["sl"] == (1.07 if kind == "removal" else 0)
