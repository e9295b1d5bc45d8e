"""A send whose answer was lost, and its deal read by the broker's poll at the worst moment: while
the look that judges it is between its last read and its verdict being written, or between that
verdict and the request's final result. What the history shows done ends done, and is never sent
again (the stand-in's "late" order_send, delivered when the test says)."""

from __future__ import annotations

import os
import signal

import pytest
import trio

from engine.adapters.brokers.mt5.constants import NOT_EXECUTED
from engine.adapters.brokers.mt5.orders import tag_for
from engine.domain.orders import Closed, OrderRequest

from support.mt5_support import lost_answer, mt5, until


def entry(cid: str, alert: int) -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side="buy", volume=0.1, plugin="trend", alert_id=alert)


def close(cid: str, ticket: int) -> OrderRequest:
    return OrderRequest("close", cid, ticket=ticket, plugin="trend", alert_id=9)


def _told(broker, ticket: int) -> bool:
    return any(isinstance(e, Closed) and e.ticket == ticket for e in broker.events)


async def test_a_close_whose_deal_is_told_between_the_look_and_its_refusal_being_written_answers_done(tmp_path):
    # The look found the position open whole ("not executed"); the far side of the bridge executed the close
    # just then, and the poll told its deal while the send was still being looked for: no deal read later
    # overturns the refusal written after it.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(entry("a8-trend-open", 8))
        settle = broker.settle

        async def deal_told_meanwhile(tag, result, stands=False):
            if not result.ok and str(result.error).startswith(NOT_EXECUTED) and not _told(broker, opened.ticket):
                assert broker.terminal.deliver_late() == [10009]
                await until(lambda: _told(broker, opened.ticket))
            return await settle(tag, result, stands)
        broker.settle = deal_told_meanwhile
        broker.terminal.script("order_send", "late")
        done = await lost_answer(broker, close("a9-trend-close", opened.ticket))
        assert (done.ok, done.ticket) == (True, opened.ticket), done
        assert (await broker.first_result("a9-trend-close")).ok
        again = await broker.execute(close("a9-trend-close", opened.ticket))
        assert again.ok and again.duplicate, again
        assert broker.terminal.positions() == [] and broker.terminal.sent() == 2   # the entry, one close


async def test_a_close_whose_deal_is_told_between_its_refusal_and_the_requests_result_answers_done(tmp_path):
    # Judged not executed, the refusal written; the deal read and the send settled done before the request's
    # final result (finish, or conclude) was written: that refusal, written last, stood.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(entry("a8-trend-open", 8))
        write = broker.write

        async def deal_told_before_the_result(fn, *args):
            if fn.__name__ in ("finish", "conclude") and args[0] == "a9-trend-close" and not args[1]["ok"]:
                assert broker.terminal.deliver_late() == [10009]
                await until(lambda: _told(broker, opened.ticket))
            return await write(fn, *args)
        broker.write = deal_told_before_the_result
        broker.terminal.script("order_send", "late")
        done = await lost_answer(broker, close("a9-trend-close", opened.ticket))
        assert done.ok, done
        found = await broker.first_result("a9-trend-close")
        assert found.ok and found.closed == [opened.ticket], found
        assert broker.terminal.positions() == [] and broker.terminal.sent() == 2


async def test_a_part_close_whose_deal_is_told_between_the_look_and_its_not_known_being_written_answers_done(
        tmp_path):
    # A part of a position (its close not safe to send again): not found in time, "not known"; its deal told
    # by a poll just before that was written. No later poll reads it again, nor looks for a close: not known
    # for good, though the history had it done.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(OrderRequest("market", "a8-trend-open", symbol="EURUSD", side="buy",
                                                   volume=0.2, plugin="trend", alert_id=8))
        settle = broker.settle

        def told() -> bool:
            return any(getattr(e, "client_id", None) == "a9-trend-half" for e in broker.events)

        async def deal_told_meanwhile(tag, result, stands=False):
            if result.unknown and not told():
                assert broker.terminal.deliver_late() == [10009]
                await until(told)
            return await settle(tag, result, stands)
        broker.settle = deal_told_meanwhile
        broker.terminal.script("order_send", "late")
        half = OrderRequest("close", "a9-trend-half", ticket=opened.ticket, volume=0.1, plugin="trend", alert_id=9)
        done = await lost_answer(broker, half)
        assert (done.ok, done.ticket) == (True, opened.ticket), done
        assert (await broker.first_result("a9-trend-half")).ok
        assert [p["volume"] for p in broker.terminal.positions()] == [0.1] and broker.terminal.sent() == 2


async def test_a_close_judged_not_executed_as_metatrader_is_lost_is_not_known_and_never_sent_again(tmp_path):
    # The refusal written, MetaTrader lost before the look for a deal made meanwhile (a read past its
    # deadline on a loaded machine, the terminal gone): that look not made, the verdict is not known, and the
    # close is looked for again once MetaTrader is back. It was answered "Nothing was sent", its alert run
    # again, and the close sent a second time.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(entry("a8-trend-open", 8))
        settle = broker.settle

        async def lost_once_refused(tag, result, stands=False):
            written = await settle(tag, result, stands)
            if str(result.error).startswith(NOT_EXECUTED) and broker.helper_pids():
                os.kill(broker.helper_pids()[0], signal.SIGKILL)
            return written
        broker.settle = lost_once_refused
        broker.terminal.script("order_send", "late")
        lost = await lost_answer(broker, close("a9-trend-close", opened.ticket))
        assert (lost.ok, lost.unknown) == (False, True), lost
        broker.settle = settle
        await until(lambda: not (broker.book.first_result("a9-trend-close") or {"unknown": True}).get("unknown"))
        judged = broker.book.first_result("a9-trend-close")   # looked for again, once MetaTrader is back
        assert not judged["ok"] and judged["error"].startswith(NOT_EXECUTED), judged
        assert broker.terminal.deliver_late() == [10009]   # it arrives after all
        await until(lambda: broker.book.first_result("a9-trend-close")["ok"])
        assert broker.book.first_result("a9-trend-close")["closed"] == [opened.ticket]
        assert broker.terminal.positions() == [] and broker.terminal.sent() == 2   # the entry, one close


@pytest.mark.parametrize("told", ["before", "after"])
async def test_a_close_judged_not_executed_and_sent_again_as_its_first_send_executes_answers_done_by_that_deal(
        tmp_path, told):
    # The engine gone with the close in flight; the look at the reconnection found its position open whole: "not
    # executed", which may be sent again. Its alert run again sends it again, under the same tag; the far side of
    # the bridge executed the first send just then, and a poll told its deal. The second, refused by the terminal
    # (10036: the position is closed), was the request's answer: refused, though its first send closed it. The
    # deal told before the second send is written down (its send settled done, then written over) or after.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(entry("a8-trend-open", 8))
        tag = tag_for("a9-trend-close", 9)
        broker.terminal.script("order_send", "late")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, close("a9-trend-close", opened.ticket))
            await until(lambda: broker.terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()   # the answer never read: the look at the reconnection judges it
        await until(lambda: (broker.book.send(tag) or {}).get("state") == "refused")
        assert str(broker.book.send(tag)["result"]["error"]).startswith(NOT_EXECUTED)
        write = broker._sender._write

        async def first_send_executed_meanwhile(fn, *args):
            if not (fn.__name__ == "sending" and args[0] == tag):
                return await write(fn, *args)
            if told == "after":
                await write(fn, *args)
            assert broker.terminal.deliver_late() == [10009]
            await until(lambda: _told(broker, opened.ticket))
            if told == "before":
                await write(fn, *args)
        broker._sender._write = first_send_executed_meanwhile
        again = await broker.execute(close("a9-trend-close", opened.ticket))
        (deal,) = [d for d in broker.terminal.deals() if d["comment"] == tag]
        assert (again.ok, again.ticket, again.price) == (True, opened.ticket, deal["price"]), again
        found = await broker.first_result("a9-trend-close")
        assert (found.ok, found.ticket) == (True, opened.ticket), found
        assert broker.book.send(tag)["state"] == "done"
        assert broker.terminal.positions() == [] and broker.terminal.sent() == 2   # the entry, one close
        assert len([e for e in broker.events if isinstance(e, Closed)]) == 1


async def test_a_close_lost_as_its_stop_loss_closed_the_position_is_refused_saying_what_closed_it(tmp_path):
    # Its answer lost and its position closed meanwhile by its stop loss: no trace of the close, the position gone.
    # "Not known" for good (no later look settles a close), though it never can execute: a position closes once,
    # and the history has the deal that closed this one, not the close's.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(OrderRequest("market", "a8-trend-open", symbol="EURUSD", side="buy", volume=0.1,
                                                   sl=1.07, plugin="trend", alert_id=8))
        broker.terminal.script("order_send", "late")
        lost = await lost_answer(broker, close("a9-trend-close", opened.ticket),
                                 lambda: broker.terminal.set_price("EURUSD", 1.0695, 1.0696))   # the sl hit
        (deal,) = [d for d in broker.terminal.deals() if d["position_id"] == opened.ticket and d["entry"] == 1]
        said = (f"not executed: position {opened.ticket} was closed before it, by its sl (deal {deal['ticket']} at "
                f"{deal['price']:g})")
        assert (lost.ok, lost.unknown, lost.error) == (False, False, said), lost
        assert (await broker.first_result("a9-trend-close")).error == said
        assert broker.terminal.deliver_late() == [10036] and broker.terminal.sent() == 1   # never closed twice
        again = await broker.execute(close("a9-trend-close", opened.ticket))
        assert (again.ok, again.duplicate, again.error) == (False, True, said)
