"""An ``on_alert`` that changes the alert: the plugins after it and the execution see the alert
its change makes, read as an alert sent so is, and on the symbol it came on."""

from __future__ import annotations

import json

from support.engine_support import process, running
from support.fakes import FakeBroker

# Changes the alert as its `change` field says (a JSON object), first in the chain.
CHANGER = """
plugin = {priority = 1}
function on_alert(a) if a.change then return a.change end end
"""
# Refuses what it sees as a buy: a trend filter's rule, as the alert's `side` tells it.
NO_BUYS = """
plugin = {priority = 5, guard = true}
function on_alert(a)
  store.set("seen", {action = a.action, side = a.side or "none", volume = a.volume})
  if a.side == "buy" then return false, "no buys" end
end
"""
GOLD_GUARD = """
plugin = {symbols = {"XAUUSD"}, guard = true}
function on_alert(a) if a.side then return false, "no gold" end end
"""


async def changed(engine, alert: str, change: dict) -> dict:
    return await process(engine, json.dumps({**json.loads(alert), "change": change}))


async def test_the_plugins_after_a_change_see_the_side_of_the_changed_action(tmp_path):
    # `side` kept the alert's as it came: a close made a buy passed a filter as a side-less exit,
    # and a sell made a buy passed one refusing buys as a sell
    broker = FakeBroker()
    async with running(tmp_path, {"changer": CHANGER, "nobuys": NO_BUYS}, use_broker=broker) as engine:
        exit_made_entry = await changed(engine, '{"action": "closelong", "symbol": "EURUSD", "price": 1.08}',
                                        {"action": "buy", "volume": 0.1})
        sell_made_buy = await changed(engine, '{"action": "sell", "symbol": "EURUSD", "price": 1.08, "volume": 0.1}',
                                      {"action": "long"})
        buy_made_sell = await changed(engine, '{"action": "buy", "symbol": "EURUSD", "price": 1.08, "volume": 0.1}',
                                      {"action": "short", "volume": "0.2"})
        seen = engine.store.get("nobuys", "seen")
    assert [r["status"] for r in (exit_made_entry, sell_made_buy)] == ["rejected", "rejected"]
    assert {exit_made_entry["outcome"]["reason"], sell_made_buy["outcome"]["reason"]} == {"no buys"}
    # an alias is the command it names, a number sent as text a number: as in an alert sent so
    assert buy_made_sell["status"] == "done" and seen == {"action": "sell", "side": "sell", "volume": 0.2}
    assert [(r.side, r.volume) for r in broker.requests] == [("sell", 0.2)]


async def test_a_change_of_symbol_is_refused_so_that_the_other_symbols_plugins_are_not_passed_by(tmp_path):
    # A EURUSD plugin's {symbol = "XAUUSD"} traded gold past the gold guard that refuses the same
    # alert sent on XAUUSD: that guard's on_alert is never asked about a EURUSD alert
    broker = FakeBroker()
    async with running(tmp_path, {"changer": CHANGER, "gold": GOLD_GUARD}, use_broker=broker) as engine:
        gold = await process(engine, '{"action": "buy", "symbol": "XAUUSD", "price": 2000, "volume": 0.1}')
        moved = await changed(engine, '{"action": "buy", "symbol": "EURUSD", "price": 1.08, "volume": 0.1}',
                              {"symbol": "XAUUSD"})
    assert (gold["status"], gold["outcome"]["reason"]) == ("rejected", "no gold")
    (step,) = moved["outcome"]["plugins"]
    assert step["result"] == "error" and step["error"].startswith(
        "on_alert: cannot change the symbol (EURUSD to XAUUSD): the plugins of XAUUSD would not see it"), step
    assert [r.symbol for r in broker.requests] == ["EURUSD"]   # skipped, as any change a plugin may not make


async def test_changes_larger_than_an_alert_are_refused_and_not_journaled(tmp_path):
    padder = """
    function on_alert(a)
      local t = {}
      for i = 1, 50 do t["k" .. i] = ("x"):rep(9000) end
      return {padding = t}
    end"""
    async with running(tmp_path, {"padder": padder}) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
    step = row["outcome"]["plugins"][0]
    assert step["result"] == "error" and step["error"].startswith("on_alert: changes refused: they take ")
    assert len(json.dumps(row)) < 4096 and row["status"] == "done"
