"""The engine on a netting MetaTrader 5 account (the stand-in nets as MetaTrader does: a symbol
holds one position, a deal on it adds to it, reduces it or reverses it). An entry goes only onto
a symbol without a position or a pending order, and is refused before it is sent otherwise:
sent, it would be booked as a position of its own that does not exist, move another entry's
stop, or close and reverse the trader's position without a word."""

from __future__ import annotations

from engine.app import Operations
from engine.domain.alerts import parse_body

from support.engine_support import process, running
from support.mt5_standin import ACCOUNT_MARGIN_MODE_RETAIL_NETTING, ORDER_TYPE_BUY_LIMIT, Terminal
from support.mt5_support import config as mt5_config

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
