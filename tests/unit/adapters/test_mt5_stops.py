"""Stops and targets on MetaTrader 5 against the stand-in terminal: what the trade server refuses
(a stop, or a pending order's price, nearer the price than the symbol's ``trade_stops_level`` or
on the wrong side of it, a position or order within its ``trade_freeze_level``) is refused before
anything is sent, saying which level, how far it is and what the symbol needs; "MetaTrader 10016:
invalid stops" says none of it, and a trader moving a stop to break-even cannot tell what to
change. An entry the market moves toward its stop after the check (a requote, a move within the
deviation) is refused saying the same, never resent; a change to the stops already set is done."""

from __future__ import annotations

import trio

from engine.app import Operations
from engine.domain.alerts import parse_body
from engine.domain.orders import OrderRequest

from support.engine_support import process, running
from support.mt5_standin import Terminal
from support.mt5_support import config, mt5, until


def market(cid: str, side: str = "buy", **more) -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side=side, volume=0.1, plugin="p", alert_id=1, **more)


def change(cid: str, ticket: int, **stops) -> OrderRequest:
    return OrderRequest("modify", cid, ticket=ticket, plugin="p", alert_id=2, **stops)


async def test_a_stop_change_too_near_the_price_or_past_it_is_refused_before_sending_saying_why(tmp_path):
    # EURUSD: bid 1.08000, ask 1.08010, a stops level of 10 points. A buy closes at the bid.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(market("a1-p-1", sl=1.07))
        sent = broker.terminal.sent()
        near = await broker.execute(change("a2-p-1", opened.ticket, sl=1.07995))
        assert not near.ok and near.error == ("sl 1.07995 is 5 points from the bid 1.08; EURUSD needs at least 10 "
                                              "(its trade_stops_level)"), near.error
        even = await broker.execute(change("a3-p-1", opened.ticket, sl=1.0801))   # break-even, the bid under it
        assert not even.ok and even.error == "sl 1.0801: a buy's stop loss must be below the bid 1.08", even.error
        target = await broker.execute(change("a4-p-1", opened.ticket, tp=1.08005))
        assert not target.ok and target.error.startswith("tp 1.08005 is 5 points from the bid 1.08;"), target.error
        assert broker.terminal.sent() == sent and broker.terminal.positions()[0]["sl"] == 1.07
        broker.terminal.set_price("EURUSD", 1.0805, 1.0806)   # 40 points up: break-even is allowed now
        assert (await broker.execute(change("a5-p-1", opened.ticket, sl=1.0801))).ok
        assert broker.terminal.positions()[0]["sl"] == 1.0801


async def test_a_pending_orders_new_stop_is_measured_from_its_price(tmp_path):
    async with mt5(tmp_path) as broker:
        placed = await broker.execute(OrderRequest("pending", "a1-p-1", symbol="EURUSD", side="buy", type="limit",
                                                   price=1.075, volume=0.1, plugin="p", alert_id=1))
        near = await broker.execute(change("a2-p-1", placed.ticket, sl=1.07495))
        assert not near.ok and near.error == ("sl 1.07495 is 5 points from the order price 1.075; EURUSD needs at "
                                              "least 10 (its trade_stops_level)"), near.error
        assert broker.terminal.sent() == 1


async def test_a_position_within_the_freeze_level_is_said_frozen_before_sending(tmp_path):
    # Within trade_freeze_level points of its stop, a position takes no change (10029): the stop
    # may be about to trigger. Said so, with the distance, rather than "order or position frozen".
    async with mt5(tmp_path) as broker:
        broker.terminal.set_symbol("EURUSD", trade_freeze_level=5)
        opened = await broker.execute(market("a1-p-1", sl=1.078))
        broker.terminal.set_price("EURUSD", 1.07804, 1.07814)
        frozen = await broker.execute(change("a2-p-1", opened.ticket, sl=1.077))
        assert not frozen.ok and frozen.error == (
            f"position {opened.ticket}: its sl 1.078 is 4 points from the bid 1.07804, within EURUSD's "
            "trade_freeze_level of 5: the broker changes nothing of it so near its stop or target"), frozen.error
        assert broker.terminal.sent() == 1 and broker.terminal.positions()[0]["sl"] == 1.078
        placed = await broker.execute(OrderRequest("pending", "a3-p-1", symbol="EURUSD", side="sell", type="limit",
                                                   price=1.081, volume=0.1, plugin="p", alert_id=3))
        broker.terminal.set_price("EURUSD", 1.08096, 1.08106)   # its price 4 points over the bid, where it fills
        frozen = await broker.execute(change("a4-p-1", placed.ticket, sl=1.083))
        assert not frozen.ok and frozen.error == (
            f"order {placed.ticket}: its price 1.081 is 4 points from the bid 1.08096, within EURUSD's "
            "trade_freeze_level of 5: the broker changes nothing of it so near its fill"), frozen.error
        assert broker.terminal.sent() == 2


async def test_a_stop_change_made_before_a_restart_is_answered_made_whatever_the_market_now(tmp_path):
    # Run again by the recovery after a restart, the change is answered by its first send, found
    # by its effect, before it is measured against the market of now, which would refuse it.
    terminal = Terminal(tmp_path / "terminal.db")
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(market("a1-p-1", sl=1.07))
        terminal.script("order_send", "hang_after")              # moved, then the engine gone before the answer
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, change("a2-p-1", opened.ticket, sl=1.0795))
            await until(lambda: terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()
    terminal.set_price("EURUSD", 1.07955, 1.07965)              # the new sl 5 points under the bid now
    async with mt5(tmp_path) as broker:
        again = await broker.execute(change("a2-p-1", opened.ticket, sl=1.0795))
        assert again.ok, again.error
        assert terminal.positions()[0]["sl"] == 1.0795 and terminal.sent() == 2


async def entry_while_the_market_moves(broker, entry: OrderRequest, bid: float, ask: float):
    """``entry`` sent, the market moved to ``bid``/``ask`` before the trade server takes it."""
    await broker.symbol("EURUSD")
    broker.terminal.script("order_send", "hang")
    results = []

    async def send() -> None:
        results.append(await broker.execute(entry))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(send)
        await until(lambda: broker.terminal.hung("order_send") == 1)
        broker.terminal.set_price("EURUSD", bid, ask)
        broker.terminal.release("order_send")
    return results[0]


async def test_an_entry_whose_stop_the_market_came_too_near_of_is_refused_saying_how_near(tmp_path):
    # 10 points under the bid when checked, 5 when the trade server takes it (a move within the
    # deviation): refused (10016) whole, no position; the answer says which stop and how near.
    async with mt5(tmp_path) as broker:
        result = await entry_while_the_market_moves(broker, market("a1-p-1", sl=1.0799), 1.07995, 1.08005)
        assert not result.ok and result.error == (
            "MetaTrader 10016: invalid stops (too close to the price, or on the wrong side): the price moved: "
            "sl 1.0799 is 5 points from the price 1.07995; EURUSD needs at least 10 (its trade_stops_level)"), result.error
        assert broker.terminal.positions() == [] and broker.terminal.sent() == 0


async def test_an_entry_requoted_to_a_price_too_near_its_stop_is_not_sent_again(tmp_path):
    # A requote's fresh price has the stop 5 points under the bid: sent again, the trade server
    # would refuse it (10016) without a word of why. Refused before, saying it.
    async with mt5(tmp_path) as broker:
        result = await entry_while_the_market_moves(broker, market("a1-p-1", sl=1.079), 1.07905, 1.07915)
        assert not result.ok and result.error == (
            "MetaTrader 10004: requote: the price moved: sl 1.079 is 5 points from the price 1.07905; EURUSD needs "
            "at least 10 (its trade_stops_level)"), result.error
        assert broker.terminal.positions() == [] and len(broker.terminal.history_orders()) == 0
        assert not broker.book.unresolved()


async def test_a_stop_change_to_the_stops_already_set_is_done_as_on_paper(tmp_path):
    # A trailing alert sending the same stop again, a newsltp over positions one of which has it
    # already: the trade server answers 10025 "no changes", which is what was asked. Refused, the
    # alert failed live where paper did it; measured again, a stop the price came near since was
    # refused though nothing was to move.
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(market("a1-p-1", sl=1.0795, tp=1.09))
        same = await broker.execute(change("a2-p-1", opened.ticket, sl=1.0795))
        assert same.ok and same.ticket == opened.ticket, same.error
        broker.terminal.set_price("EURUSD", 1.07955, 1.07965)   # the sl 5 points under the bid now
        again = await broker.execute(change("a3-p-1", opened.ticket, sl=1.0795, tp=1.09))
        assert again.ok, again.error
        assert (broker.terminal.positions()[0]["sl"], broker.terminal.positions()[0]["tp"]) == (1.0795, 1.09)


async def test_a_pending_orders_price_too_near_the_market_or_past_it_is_refused_saying_why(tmp_path):
    # A buy limit waits under the ask, at least trade_stops_level points under it; MetaTrader
    # refuses any other price as "invalid price" (10015), which names neither.
    async with mt5(tmp_path) as broker:
        def limit(cid: str, price: float) -> OrderRequest:
            return OrderRequest("pending", cid, symbol="EURUSD", side="buy", type="limit", price=price, volume=0.1,
                                plugin="p", alert_id=1)
        near = await broker.execute(limit("a1-p-1", 1.08005))
        assert not near.ok and near.error == ("price 1.08005 is 5 points from the ask 1.0801; EURUSD needs at least "
                                              "10 (its trade_stops_level)"), near.error
        past = await broker.execute(limit("a2-p-1", 1.0802))
        assert not past.ok and past.error == "price 1.0802: a buy limit must be below the ask 1.0801", past.error
        assert await broker.check(limit("a3-p-1", 1.08005)) == near.error
        placed = await broker.execute(limit("a4-p-1", 1.075))
        moved = await broker.execute(change("a5-p-1", placed.ticket, price=1.08005))
        assert not moved.ok and moved.error == near.error, moved.error
        assert broker.terminal.sent() == 1


async def test_a_dry_run_says_why_a_stop_change_would_be_refused_in_the_words_of_the_change(tmp_path):
    # The broker's check answered None for every modify: a dry run showed "would send" for a stop
    # the trade server's rules refuse (the stops level, the wrong side, the freeze level).
    async with mt5(tmp_path) as broker:
        broker.terminal.set_symbol("EURUSD", trade_freeze_level=5)
        opened = await broker.execute(market("a1-p-1", sl=1.078))
        asks = [change("a2-p-1", opened.ticket, sl=1.07995), change("a3-p-1", opened.ticket, sl=1.0801),
                change("a4-p-1", 99)]
        checked = [await broker.check(r) for r in asks]
        assert checked == [(await broker.execute(r)).error for r in asks] and all(checked), checked
        assert await broker.check(change("a5-p-1", opened.ticket, sl=1.078)) is None   # no change: done
        assert await broker.check(change("a6-p-1", opened.ticket, sl=1.079)) is None
        broker.terminal.set_price("EURUSD", 1.07804, 1.07814)
        frozen = change("a7-p-1", opened.ticket, sl=1.077)
        assert (await broker.check(frozen)).startswith(f"position {opened.ticket}: its sl 1.078 is 4 points")
        assert await broker.check(frozen) == (await broker.execute(frozen)).error
        assert broker.terminal.sent() == 1 and broker.terminal.positions()[0]["sl"] == 1.078


async def test_an_engines_dry_run_of_a_newsltp_on_metatrader_says_what_the_alert_meets(tmp_path):
    Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=config(tmp_path)) as engine:
        await process(engine, "buy EURUSD volume=0.1 sl=1.07")
        alert = parse_body("newsltp EURUSD sl=1.07995", engine.symbols)
        (order,) = (await Operations(engine).check(alert))["orders"]
        row = await process(engine, "newsltp EURUSD sl=1.07995")
        assert order["refused"] == row["outcome"]["orders"][0]["error"] == (
            "sl 1.07995 is 5 points from the bid 1.08; EURUSD needs at least 10 (its trade_stops_level)"), row
