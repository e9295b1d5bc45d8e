"""A plugin's orders by ticket on MetaTrader 5 (the stand-in terminal): what was placed by hand
in the terminal, or by another program, is never touched, as alerts and the administrators'
commands leave it; moonhook's own, any plugin's, are acted on."""

from __future__ import annotations

import json

import pytest

from engine.app import Operations
from engine.interfaces.telegram.commands import Commands

from support.botapi import html_plain
from support.engine_support import process, running, told
from support.mt5_standin import ORDER_TYPE_SELL_LIMIT, Terminal
from support.mt5_support import config
from support.telegram_support import ADMIN, Chat, Clock, ask

BY_TICKET = """
function on_alert(a)
  if a.act == nil then return end
  local asks = {
    close = function() return orders.close{ticket = a.ticket} end,
    part = function() return orders.close{ticket = a.ticket, volume = 0.1} end,
    modify = function() return orders.modify{ticket = a.ticket, sl = 1.0} end,
    cancel = function() return orders.cancel{ticket = a.ticket} end,
  }
  store.set(a.id, asks[a.act]())
end
"""


async def test_a_plugin_never_closes_changes_or_cancels_what_was_placed_by_hand(tmp_path):
    # orders.close, modify and cancel took any ticket: a script's loop over positions.list that
    # forgot `p.plugin ~= nil` closed, or moved the stop of, the trader's own trades
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, {"mine": BY_TICKET}, broker="mt5", mt5=config(tmp_path)) as engine:
        position = terminal.open_external("EURUSD", "buy", 1.0)
        expert = terminal.open_external("EURUSD", "sell", 0.5, magic=424242, comment="an expert's")
        order = terminal.place_external("EURUSD", ORDER_TYPE_SELL_LIMIT, 0.3, 1.2)
        asks = [("close", position), ("part", position), ("modify", position), ("close", expert),
                ("cancel", order), ("close", order), ("modify", order)]
        for n, (act, ticket) in enumerate(asks):
            row = await process(engine, json.dumps({"symbol": "EURUSD", "act": act, "ticket": ticket, "id": f"{n}"}))
            assert row["status"] == "done" and not row["outcome"]["orders"], row
        answers = [engine.store.get("mine", f"{n}") for n in range(len(asks))]
        (ours,) = (await process(engine, "buy EURUSD volume=0.2 id=ours"))["outcome"]["orders"]
        await process(engine, json.dumps({"symbol": "EURUSD", "act": "close", "ticket": ours["ticket"], "id": "own"}))
        own = engine.store.get("mine", "own")
    for (act, ticket), answer in zip(asks, answers):
        what = "pending order" if ticket == order else "position"
        assert answer == {"ok": False, "error": f"ticket {ticket}: a {what} not placed through moonhook (by hand, or "
                                                 "by another program): left alone"}, (act, answer)
    assert {p["ticket"]: (p["volume"], p["sl"]) for p in terminal.positions()} == {position: (1.0, 0.0),
                                                                                    expert: (0.5, 0.0)}
    assert [(o["ticket"], o["sl"]) for o in terminal.orders()] == [(order, 0.0)]
    assert own["ok"] is True and own["volume"] == 0.2, own   # moonhook's own is closed by its ticket


TAKER = """
function on_alert(a)
  if a.comment ~= "take" then return end
  local p = positions.list("GBPUSD")[1]
  store.set("took", orders.close{ticket = p.ticket, volume = 0.5})
  return {handled = true}
end
"""


async def test_a_part_close_the_market_filled_in_part_says_how_much_it_closed(tmp_path):
    # Refused after 0.4 of the 0.5 lots asked were closed, the answer said ok=false and no volume,
    # which the docs call never executed: a script sending its close again closed 0.4 lots more
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, {"taker": TAKER}, broker="mt5", mt5=config(tmp_path)) as engine:
        assert (await process(engine, "buy GBPUSD volume=1"))["status"] == "done"
        terminal.set_symbol("GBPUSD", liquidity=0.1)   # a thin book: 0.1 lots a send, four sends
        await process(engine, "buy GBPUSD volume=1 comment=take")
        took = engine.store.get("taker", "took")
    (position,) = terminal.positions()
    assert position["volume"] == 0.6
    assert took == {"ok": False, "volume": 0.4, "error": f"closed 0.4 of 0.5 lots of position {position['ticket']}: "
                                                         "the market filled it in part 4 times; the rest is open"}


PART = """
function on_alert(a)
  if a.comment ~= "part" and a.comment ~= "rest" then return end
  orders.close{ticket = positions.list("EURUSD")[1].ticket, volume = a.comment == "part" and 0.1 or nil}
  return {handled = true}
end
function on_fill(f) if f.entry == "out" then store.set("closer", f.plugin) end end
function on_close(p) store.set("opener", p.plugin) end
"""


@pytest.mark.parametrize("broker", ["paper", "mt5"])
async def test_a_part_closed_by_a_plugin_is_told_as_that_plugins_on_metatrader_as_on_paper(tmp_path, broker):
    # On MetaTrader the close carries its position's magic number, and the deal was told as the
    # opener's: "(engine)" for a position an alert opened, though take_profits closed it
    Terminal(tmp_path / "terminal.db")
    settings = {"broker": "mt5", "mt5": config(tmp_path)} if broker == "mt5" else {}
    price = "" if broker == "mt5" else " price=1.08"   # the paper broker's price comes with the alerts
    async with running(tmp_path, {"taker": PART}, **settings) as engine:
        await process(engine, f"buy EURUSD volume=0.3{price}")
        await process(engine, f"buy EURUSD volume=0.3{price} comment=part")
        trades = [text for chat, text in await told(engine) if chat == "trades"]
        await process(engine, f"buy EURUSD volume=0.3{price} comment=rest")
        # the position stays the opener's (on_close, the trades' view by plugin), the closing deal the closer's
        assert (engine.store.get("taker", "closer"), engine.store.get("taker", "opener")) == ("taker", "engine")
    (part,) = [t for t in trades if "left open" in t]
    assert " closed by close @ " in part and part.split(" @ ")[1].split(",")[0].endswith("(taker)"), part


async def test_close_and_cancel_with_only_what_was_placed_by_hand_say_it_is_there_and_left_alone(tmp_path):
    # "/close EURUSD" answered "Nothing open on EURUSD." with the trader's own 0.3 lots open there,
    # which /positions lists and the dashboard shows, its Close button left out
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=config(tmp_path)) as engine:
        terminal.open_external("EURUSD", "sell", 0.3)
        terminal.place_external("EURUSD", ORDER_TYPE_SELL_LIMIT, 0.3, 1.2)
        clock = Clock()
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        answers = [html_plain((await ask(commands, chat.say(command))).text)
                   for command in ("/close EURUSD", "/close all", "/cancel EURUSD", "/cancel all")]
    assert answers == ["No position of moonhook's open on EURUSD: 1 opened by hand, which /close leaves alone.",
                       "No position of moonhook's open: 1 opened by hand, which /close leaves alone.",
                       "No pending order of moonhook's on EURUSD: 1 placed by hand, which /cancel leaves alone.",
                       "No pending order of moonhook's: 1 placed by hand, which /cancel leaves alone."]
