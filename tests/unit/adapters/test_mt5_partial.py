"""A close the market fills in part: on a symbol that allows only IOC (the stand-in's GBPUSD) a
thin book fills what it holds and cancels the rest (10010, DONE_PARTIAL). The broker sends the
rest again, each part under a tag of its own, until the position is closed as asked, and says
what stays open when it cannot; a restart between two parts sends only what was not sent.
The stand-in's ``liquidity`` is the lots its book takes at once."""

from __future__ import annotations

import trio

from engine.domain.orders import OrderRequest

from support.mt5_standin import Terminal
from support.mt5_support import lost_answer, mt5, until


def close(cid: str, ticket: int, volume: float | None = None) -> OrderRequest:
    return OrderRequest("close", cid, ticket=ticket, volume=volume, plugin="trend", alert_id=9)


async def _long(broker, volume: float = 1.0) -> int:
    """A GBPUSD long of ``volume``, opened while the book is deep; then the book thins to 0.4."""
    opened = await broker.execute(OrderRequest("market", "a8-trend-open", symbol="GBPUSD", side="buy", volume=volume,
                                               plugin="trend", alert_id=8))
    assert opened.ok and opened.volume == volume, opened
    broker.terminal.set_symbol("GBPUSD", liquidity=0.4)
    return opened.ticket


async def test_a_close_filled_in_part_is_sent_again_for_the_rest_until_the_position_is_closed(tmp_path):
    async with mt5(tmp_path) as broker:
        ticket = await _long(broker)
        result = await broker.execute(close("a9-trend-close", ticket))
        assert result.ok and result.volume == 1.0, result
        assert broker.terminal.positions() == []
        parts = [d for d in broker.terminal.deals() if d["position_id"] == ticket and d["entry"] == 1]
        assert [d["volume"] for d in parts] == [0.4, 0.4, 0.2]
        assert len({d["comment"] for d in parts}) == 3          # each part under its own tag
        assert broker.terminal.sent() == 4                        # the entry and the three parts
        assert (await broker.execute(close("a9-trend-close", ticket))).duplicate


async def test_a_part_of_a_position_asked_is_closed_in_parts_and_no_more(tmp_path):
    async with mt5(tmp_path) as broker:
        ticket = await _long(broker)
        result = await broker.execute(close("a9-trend-half", ticket, volume=0.5))
        assert result.ok and result.volume == 0.5, result
        assert [p["volume"] for p in broker.terminal.positions()] == [0.5]


async def test_a_book_too_thin_for_the_retries_leaves_the_rest_open_and_says_so(tmp_path):
    async with mt5(tmp_path) as broker:
        ticket = await _long(broker)
        broker.terminal.set_symbol("GBPUSD", liquidity=0.1)
        result = await broker.execute(close("a9-trend-close", ticket))
        assert not result.ok and result.error == (f"closed 0.4 of 1 lots of position {ticket}: the market filled it "
                                                  "in part 4 times; the rest is open")
        assert [p["volume"] for p in broker.terminal.positions()] == [0.6]


async def test_a_restart_between_two_parts_sends_only_the_parts_not_sent(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with mt5(tmp_path) as broker:
        ticket = await _long(broker)
        terminal.script("order_send", "normal", "hang_after")   # the second part executes, its answer never comes
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, close("a9-trend-close", ticket))
            await until(lambda: terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()                        # the engine gone before the answer
    assert [p["volume"] for p in terminal.positions()] == [0.2]
    async with mt5(tmp_path) as broker:                          # the restart: the alert runs again
        result = await broker.execute(close("a9-trend-close", ticket))
        assert result.ok and result.volume == 1.0, result
        assert terminal.positions() == [] and terminal.sent() == 4


async def test_a_close_by_symbol_with_a_volume_is_refused_and_closes_nothing(tmp_path):
    # A script's orders.close{symbol=, volume=} meant a part; the broker closed every position
    # of the symbol whole. Refused, as the paper broker and replay refuse it.
    async with mt5(tmp_path) as broker:
        for n in (1, 2):
            opened = await broker.execute(OrderRequest("market", f"a{n}-trend-open", symbol="EURUSD", side="buy",
                                                       volume=1.0, plugin="trend", alert_id=n))
            assert opened.ok, opened
        result = await broker.execute(OrderRequest("close", "a9-trend-1", symbol="EURUSD", volume=0.5, plugin="trend",
                                                   alert_id=9))
        assert not result.ok and result.error == ("volume: a close by symbol closes whole positions; close part of "
                                                  "one by its ticket"), result
        assert [p["volume"] for p in broker.terminal.positions()] == [1.0, 1.0]
        assert broker.terminal.sent() == 2


async def test_a_lost_close_of_a_position_still_open_whole_is_refused_and_may_be_sent_again(tmp_path):
    # A lost send is "not known" and never sent again (it may arrive late); but a close of a
    # position still open whole cannot close twice (a late one finds it gone): left "not known",
    # a closeall cut by a lost terminal kept the position open for good.
    async with mt5(tmp_path, resolve_seconds=0.2) as broker:
        opened = await broker.execute(OrderRequest("market", "a8-trend-open", symbol="EURUSD", side="buy",
                                                   volume=1.0, plugin="trend", alert_id=8))
        broker.terminal.script("order_send", "crash_before_send")   # the worker dies: the close never left
        lost = await broker.execute(close("a9-trend-close", opened.ticket))
        assert not lost.ok and not lost.unknown, lost
        assert lost.error == (f"not executed: the answer was lost and position {opened.ticket} is still open; a "
                              "close of it whole may be sent again (it cannot close twice)")
        again = await broker.execute(close("a10-trend-close", opened.ticket))
        assert again.ok and broker.terminal.positions() == [] and broker.terminal.sent() == 2


async def test_a_close_by_symbol_part_refused_after_its_answer_was_lost_that_arrives_later_answers_done(tmp_path):
    # The slow far side of a bridge executes the close its near side gave up on, after the look at the
    # broker found its position open whole and called it not executed: its deal settles it.
    async with mt5(tmp_path, resolve_seconds=0.2) as broker:
        tickets = [(await broker.execute(OrderRequest("market", f"a{n}-trend-open", symbol="EURUSD", side="buy",
                                                      volume=0.1, plugin="trend", alert_id=n))).ticket for n in (1, 2)]
        request = OrderRequest("close", "a9-trend-1", symbol="EURUSD", plugin="trend", alert_id=9)
        broker.terminal.script("order_send", "normal", "late")
        refused = await lost_answer(broker, request)
        assert (refused.ok, refused.unknown, refused.closed) == (False, False, tickets[:1]), refused
        assert refused.error.startswith(f"not executed: the answer was lost and position {tickets[1]} is still open")
        assert broker.terminal.deliver_late() == [10009]
        await until(lambda: any(getattr(e, "ticket", None) == tickets[1] for e in broker.events))   # its Closed
        found = await broker.first_result("a9-trend-1")
        assert (found.ok, found.closed, found.error) == (True, tickets, None), found
        again = await broker.execute(request)
        assert again.ok and again.duplicate and again.closed == tickets, again
        assert broker.terminal.positions() == [] and broker.terminal.sent() == 4     # two entries, two closes


async def test_a_close_by_symbol_part_lost_that_arrives_later_while_another_stays_refused_answers_what_it_closed(
        tmp_path):
    # The first position's close judged not executed (its answer lost, the position open whole), the second's
    # refused by the server; then the first executes late. The request still answered "nothing closed", with
    # the first's "still open" in its refusal, though its position was gone.
    async with mt5(tmp_path) as broker:
        tickets = [(await broker.execute(OrderRequest("market", f"a{n}-trend-open", symbol="EURUSD", side="buy",
                                                      volume=0.1, plugin="trend", alert_id=n))).ticket for n in (1, 2)]
        request = OrderRequest("close", "a9-trend-1", symbol="EURUSD", plugin="trend", alert_id=9)
        broker.terminal.script("order_send", "late", "reject")
        refused = await lost_answer(broker, request)
        assert (refused.ok, refused.unknown, refused.closed) == (False, False, []), refused
        assert f"position {tickets[0]} is still open" in refused.error, refused
        assert broker.terminal.deliver_late() == [10009]
        await until(lambda: any(getattr(e, "ticket", None) == tickets[0] for e in broker.events))   # its Closed
        found = await broker.first_result("a9-trend-1")
        assert (found.ok, found.closed) == (False, [tickets[0]]), found
        assert f"position {tickets[0]}" not in found.error and "10006" in found.error, found
        again = await broker.execute(request)
        assert (again.ok, again.duplicate, again.closed, again.error) == (False, True, [tickets[0]], found.error)
        assert [p["ticket"] for p in broker.terminal.positions()] == tickets[1:] and broker.terminal.sent() == 3


async def test_a_position_larger_than_the_symbols_volume_max_is_closed_in_parts_of_at_most_it(tmp_path):
    # The broker lowered EURUSD's volume_max to 0.5 (as some do on gold or indices around news) under a 1-lot
    # position: its close was refused before sending ("volume 1 is above EURUSD's maximum 0.5") or, the spec read
    # before the change, by the trade server (10014), every time: moonhook could never close it.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(OrderRequest("market", "a8-trend-open", symbol="EURUSD", side="buy", volume=1.3,
                                                   plugin="trend", alert_id=8))
        broker.terminal.set_symbol("EURUSD", volume_max=0.5)
        broker._infos.clear()                                     # the spec read again, as a minute later
        half = await broker.execute(close("a9-trend-part", opened.ticket, volume=0.7))
        assert half.ok and half.volume == 0.7, half
        assert [p["volume"] for p in broker.terminal.positions()] == [0.6]
        result = await broker.execute(close("a10-trend-close", opened.ticket))
        assert result.ok and result.volume == 0.6, result
        assert broker.terminal.positions() == []
        parts = [d["volume"] for d in broker.terminal.deals() if d["position_id"] == opened.ticket and d["entry"] == 1]
        assert parts == [0.5, 0.2, 0.5, 0.1], parts
        assert (await broker.execute(close("a10-trend-close", opened.ticket))).duplicate


async def test_a_restart_between_two_parts_of_at_most_volume_max_sends_only_what_is_left(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(OrderRequest("market", "a8-trend-open", symbol="EURUSD", side="buy", volume=1.3,
                                                   plugin="trend", alert_id=8))
        terminal.set_symbol("EURUSD", volume_max=0.5)
        broker._infos.clear()
        terminal.script("order_send", "normal", "hang_after")   # the second part executes, its answer never comes
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, close("a9-trend-close", opened.ticket))
            await until(lambda: terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()                        # the engine gone before the answer
    assert [p["volume"] for p in terminal.positions()] == [0.3]
    async with mt5(tmp_path) as broker:                          # the restart: the alert runs again
        result = await broker.execute(close("a9-trend-close", opened.ticket))
        assert result.ok and result.volume == 1.3, result
        assert terminal.positions() == [] and terminal.sent() == 4
        parts = [d["volume"] for d in terminal.deals() if d["position_id"] == opened.ticket and d["entry"] == 1]
        assert parts == [0.5, 0.5, 0.3], parts
