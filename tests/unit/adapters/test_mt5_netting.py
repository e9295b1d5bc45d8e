"""The engine on a netting MetaTrader 5 account (the stand-in nets as MetaTrader does: a symbol
holds one position, a deal on it adds to it, reduces it or reverses it). An entry goes only onto
a symbol without a position or a pending order, and is refused before it is sent otherwise:
sent, it would be booked as a position of its own that does not exist, move another entry's
stop, or close and reverse the trader's position without a word."""

from __future__ import annotations

from engine.app import Operations
from engine.domain.alerts import parse_body

from support.engine_support import process, running, told
from support.mt5_standin import ACCOUNT_MARGIN_MODE_RETAIL_NETTING, ORDER_TYPE_BUY_LIMIT, Terminal
from support.mt5_support import config as mt5_config, until

NETS = "and the account nets positions (one position a symbol), so this "
HEDGING = ", or trade on a hedging account (docs/metatrader5.md)"


def netting(tmp_path) -> Terminal:
    return Terminal(tmp_path / "terminal.db", margin_mode=ACCOUNT_MARGIN_MODE_RETAIL_NETTING)


def error(row: dict) -> str:
    (order,) = row["outcome"]["orders"]
    return order["error"]


async def test_an_entry_onto_a_symbol_holding_a_position_is_refused_before_it_is_sent(tmp_path):
    terminal = netting(tmp_path)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 sl=1.07 id=first")
        ticket = first["outcome"]["orders"][0]["ticket"]
        added = await process(engine, "buy EURUSD volume=0.2 sl=1.075 tp=1.09 id=added")
        against = await process(engine, "sell EURUSD volume=0.5 id=against")
        check = await Operations(engine).check(parse_body("sell EURUSD volume=0.1", engine.symbols))
        held = f"EURUSD holds position {ticket} (buy 0.1, plugin engine) "
        assert error(added) == (held + NETS + "buy would not open a position of its own: it would be added to that "
                                "position, which would take its stop and target. Close it first" + HEDGING)
        assert error(against) == (held + NETS + "sell would not open a position of its own: it would reduce, close "
                                  "or reverse that position. Close it first" + HEDGING)
        assert check["orders"][0]["refused"] == error(against)   # a dry run says it too
        assert terminal.sent() == 1   # neither reached the broker: the first entry's position is as it was
        assert [(p["ticket"], p["type"], p["volume"], p["sl"], p["tp"]) for p in terminal.positions()] == [
            (ticket, 0, 0.1, 1.07, 0.0)]
        dry = await Operations(engine).check(parse_body("sell EURUSD volume=0.2 position=short", engine.symbols))
        assert [(o["kind"], o["refused"]) for o in dry["orders"]] == [("close", None), ("market", None)], dry
        reversed_ = await process(engine, "sell EURUSD volume=0.2 position=short id=reversal")   # its close goes first
        closed, opened = reversed_["outcome"]["orders"]
        assert closed["ok"] and closed["closed"] == [ticket] and opened["ok"], reversed_
        assert [(p["ticket"], p["type"], p["volume"]) for p in terminal.positions()] == [(opened["ticket"], 1, 0.2)]
        assert [d["entry"] for d in terminal.deals()[1:]] == [0, 1, 0]   # in, out, in: nothing netted
        assert (await process(engine, "closeshort EURUSD id=flat"))["status"] == "done"
        assert terminal.positions() == []


async def test_an_entry_onto_a_symbol_with_a_pending_order_is_refused_whoever_placed_it(tmp_path):
    terminal = netting(tmp_path)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        placed = await process(engine, "selllimit EURUSD price=1.09 volume=0.1 id=limit")
        order = placed["outcome"]["orders"][0]["ticket"]
        market = await process(engine, "buy EURUSD volume=0.1 id=market")
        manual = terminal.place_external("GBPUSD", ORDER_TYPE_BUY_LIMIT, 0.3, 1.25)
        by_hand = await process(engine, "sellstop GBPUSD price=1.25 volume=0.1 id=stop")
        assert error(market) == (f"EURUSD has pending order {order} (sell limit 0.1, plugin engine) " + NETS + "buy "
                                 "would not open a position of its own: that order's fill would be netted with it. "
                                 "Cancel it first" + HEDGING)
        assert error(by_hand).startswith(f"GBPUSD has pending order {manual} (buy limit 0.3, placed outside moonhook) "
                                         + NETS + "sell stop would not open a position of its own"), by_hand
        assert terminal.sent() == 1 and terminal.positions() == []
        assert (await process(engine, "cancel EURUSD id=cancel"))["status"] == "done"
        assert (await process(engine, "buy EURUSD volume=0.1 id=now"))["status"] == "done"   # flat: it goes
        assert [(p["type"], p["volume"]) for p in terminal.positions()] == [(0, 0.1)]


WATCH = """
function on_fill(f) store.set("fills", (store.get("fills") or "") .. f.position .. " " .. f.entry .. " " .. f.side
                                       .. " " .. f.volume .. " " .. f.commission .. "; ") end
function on_close(p) store.set("closed", (store.get("closed") or "") .. p.ticket .. " " .. p.side .. " " .. p.volume
                                         .. " @ " .. p.price_open .. "; ") end
"""


async def test_a_pending_order_reversing_a_position_opened_by_hand_is_told_as_both_parts(tmp_path):
    """The one netting moonhook cannot refuse: its sell limit rests on a flat symbol, the trader
    buys by hand, the limit fills and reverses the long in one INOUT deal. It is told as what it
    did: the trader's long closed (its profit), moonhook's short opened (under the order's
    ticket); and that short's close later is told as the short's, not the long's."""
    terminal = Terminal(tmp_path / "terminal.db", margin_mode=ACCOUNT_MARGIN_MODE_RETAIL_NETTING,
                        commission_per_lot=10.0)
    async with running(tmp_path, {"watch": WATCH}, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        limit = (await process(engine, "selllimit EURUSD price=1.09 volume=0.3 id=limit"))["outcome"]["orders"][0]
        manual = terminal.open_external("EURUSD", "buy", 0.1)   # at 1.0801
        terminal.set_price("EURUSD", 1.0900, 1.0901)            # the limit fills: 0.1 closes the long, 0.2 opens
        await until(lambda: " in sell 0.2 " in (engine.store.get("watch", "fills") or ""))
        assert [(p["ticket"], p["side"], p["volume"], p["plugin"]) for p in await engine.broker.positions()] == [
            (limit["ticket"], "sell", 0.2, "engine")]
        assert (await process(engine, "closeshort EURUSD volume=0.1 id=part"))["status"] == "done"   # at 1.0901
        assert (await process(engine, "closeshort EURUSD id=rest"))["status"] == "done"
        await until(lambda: (engine.store.get("watch", "closed") or "").count(";") == 2)
        trades = [text for kind, text in await told(engine) if kind == "trades"]
        fills, closed = engine.store.get("watch", "fills"), engine.store.get("watch", "closed")
        shown = (await Operations(engine).trades())["trades"]   # the dashboard's (closed in one second: any order)
    assert sorted((t["position"], t["side"], t["volume"], t["price_open"], t["net"], t["plugin"]) for t in shown) == [
        (limit["ticket"], "sell", 0.2, 1.09, -6.0, "engine"), (manual, "buy", 0.1, 1.0801, 97.0, None)], shown
    assert trades == [
        f"position {manual} buy 0.1 EURUSD closed by close @ 1.09: net +97.00 USD (profit +99.00, commission -2.00)",
        "opened sell 0.2 EURUSD @ 1.09 (pending, engine)",
        f"position {limit['ticket']} EURUSD: 0.1 closed by close @ 1.0901 (engine), 0.1 left open: profit -1.00, "
        "commission -1.00",
        f"position {limit['ticket']} sell 0.2 EURUSD closed by close @ 1.0901: net -6.00 USD (profit -2.00, "
        "commission -4.00)"], trades
    assert fills == (f"{manual} out sell 0.1 -1.0; {limit['ticket']} in sell 0.2 -2.0; {limit['ticket']} out buy 0.1 "
                     f"-1.0; {limit['ticket']} out buy 0.1 -1.0; "), fills
    assert closed == f"{manual} buy 0.1 @ 1.0801; {limit['ticket']} sell 0.2 @ 1.09; ", closed


async def test_a_buy_added_by_hand_counts_in_the_trade_and_the_close_of_moonhooks_long(tmp_path):
    """The trader buys by hand on moonhook's long: the position is both buys, at their average
    price. Part of it closed, the dashboard showed the trade closed at moonhook's 0.1 lots with
    0.2 still open; closed, the trade said 0.1 lots and on_close the first buy's price."""
    terminal = netting(tmp_path)
    async with running(tmp_path, {"watch": WATCH}, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        ticket = (await process(engine, "buy EURUSD volume=0.1 id=mine"))["outcome"]["orders"][0]["ticket"]  # 1.0801
        terminal.set_price("EURUSD", 1.0900, 1.0901)
        terminal.open_external("EURUSD", "buy", 0.3)   # at 1.0901: the long is 0.4 at 1.0876
        assert (await process(engine, "closelong EURUSD volume=0.2 id=part"))["status"] == "done"
        assert (await Operations(engine).trades())["trades"] == []   # 0.2 lots are still open
        assert (await process(engine, "closelong EURUSD id=rest"))["status"] == "done"
        await until(lambda: engine.store.get("watch", "closed") is not None)
        (shown,) = (await Operations(engine).trades())["trades"]
        closed = engine.store.get("watch", "closed")
    assert (shown["position"], shown["volume"], shown["price_open"], shown["net"]) == (ticket, 0.4, 1.0876, 96.0)
    assert closed == f"{ticket} buy 0.4 @ 1.0876; ", closed


async def test_an_entry_onto_a_symbol_whose_last_entry_was_lost_is_refused_until_that_one_is_found(tmp_path):
    # The first buy's answer was lost (not known: it may still arrive); the symbol was flat, so a
    # sell went, and the first arrived after it: netted into it, the account was flat while
    # moonhook booked a short and a long, each to be closed (the second close opening a position).
    terminal = netting(tmp_path)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        terminal.script("order_send", "crash_late")
        lost = await process(engine, "buy EURUSD volume=0.1 id=lost")
        assert lost["outcome"]["orders"][0]["unknown"] is True, lost["outcome"]
        sell = await process(engine, "sell EURUSD volume=0.1 id=sell")
        assert error(sell) == ("EURUSD has an entry whose answer was lost (buy 0.1, not known: it may still arrive) "
                               + NETS + "sell would not open a position of its own: its arrival would be netted "
                               "with it. Wait until it is found (an hour at most)" + HEDGING)
        assert terminal.deliver_late() == [10009]                       # it arrives after all
        await until(lambda: engine.broker.book.executed("a1-engine-open"))
        assert [(p["type"], p["volume"]) for p in terminal.positions()] == [(0, 0.1)] and terminal.sent() == 1
