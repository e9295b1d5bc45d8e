"""An order placed from inside another order's ``on_order`` chain: plugin A's hook places an
order, B's ``on_order`` places one of its own while judging it, and A, still waiting in its
host call, is in that order's chain too. A script mid-call cannot be called: A is skipped for
the nested order, said in its steps; a guard skipped so refuses an opening order, with a
reason naming why. No script sees "internal error in the host function"."""

from __future__ import annotations

import logging

import pytest

from support.engine_support import process, running
from support.fakes import FakeBroker

# ping hedges the engine's EURUSD entries from its on_order; pong, seeing ping's hedge, places
# an order of its own: ping, waiting for its hedge, is in that order's on_order chain.
PING = """
plugin = {{priority = 10, guard = {guard}}}
function on_order(o)
  if o.plugin == "engine" and o.symbol == "EURUSD" then
    store.set("hedge", orders.market{{symbol = "EURUSD", side = "sell", volume = 0.01}})
  end
end
"""
PONG = """
plugin = {{priority = 20}}
function on_order(o)
  if o.plugin == "ping" then
    local ok, answer = pcall({call}, {args})
    store.set("answer", ok and answer or {{raised = answer}})
  end
end
"""
PONG_BUYS = PONG.format(call="orders.market", args='{symbol = "EURUSD", side = "buy", volume = 0.02}')
PONG_CLOSES = PONG.format(call="orders.close", args='{symbol = "GBPUSD"}')


@pytest.mark.parametrize("guard", ["false", "true"])
async def test_a_plugin_waiting_on_its_own_order_is_skipped_for_an_order_placed_inside_it(tmp_path, caplog, guard):
    broker = FakeBroker()
    scripts = {"ping": PING.format(guard=guard), "pong": PONG_BUYS}
    with caplog.at_level(logging.WARNING):
        async with running(tmp_path, scripts, use_broker=broker) as engine:
            row = await process(engine, "buy EURUSD volume=0.1 price=1.08")
            answer, hedge = engine.store.get("pong", "answer"), engine.store.get("ping", "hedge")
            ledger = {o["client_id"]: o["status"] for o in engine.ledger.for_alert(row["id"])}
    assert row["status"] == "done" and hedge["ok"] is True
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], "no host function failed"
    (nested,) = [o for o in row["outcome"]["orders"] if o["plugin"] == "pong"]
    (skipped,) = nested["on_order"]
    assert (skipped["plugin"], skipped["result"]) == ("ping", "skipped")
    assert "waits for its own order" in skipped["reason"]
    if guard == "false":
        assert answer["ok"] is True
        assert [r.plugin for r in broker.requests] == ["pong", "ping", "engine"]
        assert ledger[nested["client_id"]] == "done"
    else:  # a guard cannot judge it: an opening order goes without it never
        assert answer["ok"] is False, answer
        assert answer["error"].startswith("vetoed by ping: guard busy: ")
        assert "waits for its own order" in answer["error"]
        assert [r.plugin for r in broker.requests] == ["ping", "engine"]
        assert ledger[nested["client_id"]] == "vetoed"


async def test_a_guard_waiting_on_its_own_order_never_keeps_a_position_open(tmp_path):
    scripts = {"ping": PING.format(guard="true"), "pong": PONG_CLOSES}
    async with running(tmp_path, scripts) as engine:
        await process(engine, "buy GBPUSD volume=0.1 price=1.27")
        row = await process(engine, "buy EURUSD volume=0.1 price=1.08")
        answer = engine.store.get("pong", "answer")
        left = [p["symbol"] for p in await engine.broker.positions()]
    assert answer["ok"] is True, answer
    assert row["status"] == "done"
    assert sorted(left) == ["EURUSD", "EURUSD"]   # the entry and ping's hedge; GBPUSD closed
