"""The service API as scripts see it, through a real engine."""

from __future__ import annotations

import re

import logging

import pytest
import trio

from engine.core.services import MAX_PLUGIN_WRITES
from engine.domain.config.paper import PaperConfig

from support.engine_support import CHAIN, process, running, told
from support.fakes import FakeBroker
from support.waits import HANG

PROBE = """
function on_alert(a)
  local r = {}
  r.account = account.info()
  r.spec = market.symbol('EURUSD')
  r.unknown = market.symbol('NOPE') == nil
  r.price = market.price('EURUSD')
  r.open = orders.market{symbol = 'EURUSD', side = 'buy', volume = 0.1, sl = 1.09, comment = 'probe'}
  r.pending = orders.pending{symbol = 'EURUSD', side = 'buy', type = 'limit', price = 1.05, volume = 0.2}
  r.positions = positions.list('EURUSD')
  r.waiting = {orders.list('OANDA:EURUSD'), orders.list('GBPUSD'), orders.list()}
  r.modify = orders.modify{ticket = r.open.ticket, tp = 1.2}
  r.after = positions.list()[1]
  r.size = {risk.lot_size{symbol = 'EURUSD', risk_pct = 1, sl = 1.09}}
  r.nosize = {risk.lot_size{symbol = 'EURUSD', risk_pct = 1}}
  trend.set('EURUSD', 'H1', 'up')
  r.trend = {trend.get('EURUSD', 'H1'), trend.get('EURUSD'), trend.get('GBPUSD')}
  r.cancel = orders.close{ticket = r.pending.ticket}
  r.left = #orders.list()
  r.close = orders.close{symbol = 'EURUSD'}
  r.now = time.now()
  notify.send('hello from the probe')
  log.info('probe', 1, true)
  store.set('result', r)
  return {handled = true}
end
"""


async def test_every_service_answers_as_documented(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="moonhook.plugin.probe")
    async with running(tmp_path, {"probe": PROBE}) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        r = engine.store.get("probe", "result")
        client_ids = [o["client_id"] for o in engine.ledger.for_alert(row["id"])]
    assert row["status"] == "done", row
    assert r["account"]["currency"] == "USD" and r["account"]["balance"] == 10_000
    assert r["spec"]["digits"] == 5 and r["spec"]["volume_step"] == 0.01 and r["spec"]["tick_value"] == 1.0
    assert r["unknown"] is True
    assert r["price"]["bid"] == 1.1
    assert r["open"]["ok"] is True and r["open"]["price"] == 1.1 and r["open"]["volume"] == 0.1
    assert r["pending"]["ok"] is True
    assert [p["ticket"] for p in r["positions"]] == [r["open"]["ticket"]]
    assert r["positions"][0]["plugin"] == "probe"
    mine, other, every = r["waiting"]
    assert [(o["ticket"], o["type"], o["price"], o["plugin"]) for o in mine] == [
        (r["pending"]["ticket"], "limit", 1.05, "probe")]
    assert other in ([], {}) and every == mine and r["left"] == 0   # an empty Lua table crosses as either
    assert r["modify"]["ok"] is True and r["after"]["tp"] == 1.2
    assert r["size"] == [0.1]  # 100 USD at a 100-pip stop, 10 USD a pip per lot
    assert r["nosize"][0] == 0 and "stop" in r["nosize"][1]
    assert r["trend"] == ["up", "up"]
    assert r["cancel"]["ok"] is True and r["close"]["ok"] is True
    assert abs(r["now"] - engine.clock()) < 60
    assert "probe 1 true" in caplog.text   # as print writes it: Lua's words, not Python's True
    assert client_ids[:2] == [f"a{row['id']}-probe-1", f"a{row['id']}-probe-2"]


@pytest.mark.parametrize("call, message", [
    ("orders.market{symbol = 'EURUSD', side = 'up', volume = 1}", 'side must be "buy" or "sell"'),
    ("orders.market{symbol = 'EURUSD', side = 'buy'}", "volume is required"),
    ("orders.market{symbol = 'EURUSD', side = 'buy', volume = -1}", "volume must be a positive number"),
    ("orders.market{symbol = 'EURUSD', side = 'buy', volume = 1, magic = 3}", "unknown field 'magic'"),
    ("orders.pending{symbol = 'EURUSD', side = 'buy', volume = 1, price = 1}", 'type must be "limit" or "stop"'),
    ("orders.close{}", "give ticket= or symbol="),
    ("orders.modify{sl = 1}", "ticket is required"),
    ("orders.cancel{symbol = 'EURUSD'}", "unknown field 'symbol'"),
    ("orders.cancel{}", "ticket is required"),
    ("orders.close{ticket = 1e300}", "ticket must be a positive integer"),   # was SQLite's OverflowError
    ("orders.modify{ticket = 2.0^63, sl = 1}", "ticket must be a positive integer"),
    ("orders.pending{symbol = 'EURUSD', side = 'buy', type = 'limit', price = 1, volume = 1, expiry = 1e300}",
     "expiry is in seconds, at most 31622400 (366 days)"),
    # the kind of what came, in Lua's words ("got int", "got list" were Python's)
    ("market.price(42)", "the symbol must be a string, got number"),
    ("orders.list(42.5)", "the symbol must be a string, got number"),
    ("positions.list({'EURUSD'})", "the symbol must be a string, got table"),
    ("trend.get('EURUSD', true)", "the timeframe must be a string, got boolean"),
    ("notify.send({text = 'x'})", "expects a non-empty string, got table"),
    ("store.keys(5)", "the prefix must be a string, got number"),
    ("trend.set('EURUSD', 'H1', 'sideways')", "the state must be one of up, down, flat"),
    ("store.set(1, 2)", "a store key must be a non-empty string"),
    ("store.set('big', string.rep('x', 70000))", "over the limit"),
    ("notify.send()", "expects a non-empty string"),
    ("notify.send('')", "expects a non-empty string, got an empty string"),
    ("notify.send(' \\n\\t ')", "expects a non-empty string, got only whitespace"),   # Telegram refuses it
    # An argument too many is the script's mistake, said as such (was "internal error in the host function",
    # and a traceback logged as the engine's); one missing is nil, as in Lua.
    ("market.symbol('EURUSD', 'H1')", "takes 1 argument (symbol), got 2"),
    ("account.info('EURUSD')", "takes no argument, got 1"),
    ("orders.market({symbol = 'EURUSD', side = 'buy', volume = 1}, 2)", "takes 1 argument (spec), got 2"),
    ("trend.get('EURUSD', 'H1', 'up')", "takes 2 arguments (symbol, timeframe), got 3"),
    ("store.get('k', 'default')", "takes 1 argument (key), got 2"),
    ("market:symbol('EURUSD')", "takes 1 argument (symbol), got 2 (a call with ':' passes its table first: "
                                "call it with '.')"),
    ("store.get()", "a store key must be a non-empty string, got nil"),
    ("store.delete()", "a store key must be a non-empty string, got nil"),
    ("store.set()", "a store key must be a non-empty string, got nil"),
])
async def test_misuse_is_a_catchable_error_naming_the_field(tmp_path, call, message):
    script = f"""
    function on_alert(a)
      local ok, err = pcall(function() return {call} end)
      return {{comment = tostring(ok) .. ' ' .. tostring(err)}}
    end"""
    async with running(tmp_path, {"m": script}) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
    comment = row["outcome"]["plugins"][0]["changes"]["comment"]
    assert comment.startswith("false ") and message in comment, comment
    name = re.match(r"[\w.]+", call.replace(":", "."))[0]  # named once, as the script wrote it
    assert comment.startswith(f"false {name}") and comment.count(name) == 1, comment


CANCELLER = """
function on_alert(a)
  if a.comment == 'place' then
    store.set('ticket', orders.pending{symbol = 'EURUSD', side = 'buy', type = 'limit', price = 1.05,
                                       volume = 0.2}.ticket)
    store.set('spare', orders.pending{symbol = 'EURUSD', side = 'buy', type = 'limit', price = 1.0,
                                      volume = 0.1}.ticket)
  else
    store.set('answers', {orders.cancel{ticket = store.get('ticket')}, orders.cancel{ticket = store.get('spare')},
                          orders.cancel{ticket = 99999}})
  end
  return {handled = true}
end
"""


async def test_orders_cancel_removes_a_pending_order_and_never_closes_the_position_of_one_filled(tmp_path):
    async with running(tmp_path, {"canceller": CANCELLER}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1 comment=place")
        await process(engine, "buy EURUSD volume=0.1 price=1.04 comment=cancel")   # this price fills the first
        filled, spare, unknown = engine.store.get("canceller", "answers")
        ticket = engine.store.get("canceller", "ticket")
        positions = await engine.broker.positions()
    assert filled == {"ok": False, "error": f"ticket {ticket}: the pending order was filled before it could be "
                                           f"removed: position {ticket} is open"}
    assert spare["ok"] is True
    assert unknown == {"ok": False, "error": "ticket 99999: no pending order (removed already, or never placed)"}
    assert [p["ticket"] for p in positions] == [ticket]


async def test_a_refused_order_is_an_answer_not_an_error(tmp_path):
    script = """
    function on_alert(a)
      local r = orders.market{symbol = 'EURUSD', side = 'buy', volume = 0.001}
      return {comment = tostring(r.ok) .. ': ' .. r.error, handled = true}
    end"""
    async with running(tmp_path, {"m": script}) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
    comment = row["outcome"]["plugins"][0]["changes"]["comment"]
    assert comment.startswith("false: ") and "0.001" in comment


async def test_a_plugin_places_at_most_max_plugin_orders_for_one_alert(tmp_path):
    # A loop over orders.market by mistake: the orders past the limit raise in the script.
    script = """
    function on_alert(a)
      local sent, refusal = 0, nil
      for i = 1, 5 do
        local ok, r = pcall(orders.market, {symbol = 'EURUSD', side = 'buy', volume = 0.1})
        if ok then sent = sent + 1 else refusal = refusal or r end
      end
      return {comment = sent .. ' | ' .. tostring(refusal), handled = true}
    end"""
    broker = FakeBroker()
    async with running(tmp_path, {"loop": script}, use_broker=broker, max_plugin_orders=3) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=one")
        second = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=two")  # its own count
    for row in (first, second):
        comment = row["outcome"]["plugins"][0]["changes"]["comment"]
        assert comment.startswith("3 | ") and "orders.market: refused: 3 orders already placed" in comment, comment
    assert len(broker.requests) == 6


async def test_a_plugin_opening_an_entry_from_each_of_its_fills_stops_at_its_entries_a_minute(tmp_path):
    # Each fill is an event of its own, so engine.max_plugin_orders never counts past 1: without a
    # cap across runs this script opened hundreds of positions a second on paper.
    async with running(tmp_path, {"chain": CHAIN}, max_plugin_entries_per_minute=5) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        with trio.fail_after(HANG):
            while (stopped := engine.store.get("chain", "stopped")) is None:
                await trio.sleep(0.01)
        positions = await engine.broker.positions()
    assert stopped.startswith("orders.market: refused: 5 entries already placed by this plugin in the last minute "
                              "from its timers and broker events")
    assert sorted(p["plugin"] for p in positions) == ["chain"] * 5 + ["engine"]


async def test_a_plugins_entries_for_alerts_are_not_counted_in_its_entries_a_minute(tmp_path):
    # Alerts come from outside (a bar's close brings a burst): each has max_plugin_orders, and a
    # plugin trading on each of them is not stopped by the cap meant for its own chains.
    script = """
    function on_alert(a)
      orders.market{symbol = a.symbol, side = a.side, volume = 0.01}
      return {handled = true}
    end"""
    broker = FakeBroker()
    async with running(tmp_path, {"own": script}, use_broker=broker, max_plugin_entries_per_minute=2) as engine:
        rows = [await process(engine, f"buy EURUSD volume=0.1 price=1.1 id=n{i}") for i in range(4)]
    assert [r["status"] for r in rows] == ["done"] * 4
    assert [r.plugin for r in broker.requests] == ["own"] * 4


async def test_orders_are_refused_in_on_load_and_on_unload(tmp_path):
    # on_load ran outside any alert, tick or event: no engine.max_plugin_orders (40 entries from one
    # loop), a new client id each time, and it runs again at every start and save of the file
    script = """
    function on_load()
      store.set('load', select(2, pcall(orders.market, {symbol = 'EURUSD', side = 'buy', volume = 0.1})))
    end
    function on_unload()
      store.set('unload', select(2, pcall(orders.close, {symbol = 'EURUSD'})))
    end"""
    broker = FakeBroker()
    async with running(tmp_path, {"boot": script}, use_broker=broker) as engine:
        await engine.lifecycle.unload("boot")
        said = engine.store.get("boot", "load"), engine.store.get("boot", "unload")
    for fn, text in zip(("orders.market", "orders.close"), said):
        assert text.startswith(f"{fn}: refused in on_load and on_unload, which run at every start"), text
    assert broker.requests == []


async def test_notify_send_reaches_the_outbox_without_blocking(tmp_path):
    script = "function on_alert(a) for i = 1, 3 do notify.send('n' .. i) end end"
    async with running(tmp_path, {"n": script}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
    from engine.adapters.storage import Database
    texts = [r[0] for r in Database(tmp_path / "data" / "moonhook.db").db.execute("SELECT text FROM outbox ORDER BY id")]
    assert ["n: n1", "n: n2", "n: n3"] == [t for t in texts if t.startswith("n: ")]


async def test_a_plugin_sending_other_texts_in_a_loop_is_capped_not_flooding_the_chat(tmp_path):
    # Each text its own throttle key: 'price 1.1001', 'price 1.1002'... went out one by one.
    script = "function on_alert(a) for i = 1, 50 do notify.send('price ' .. i) end end"
    async with running(tmp_path, {"n": script}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        texts = [t for _, t in await told(engine) if t.startswith("n: ")]
    assert texts == [f"n: price {i}" for i in range(1, 22)]   # 20, then the first of those folded


async def test_risk_lot_size_without_a_price_measures_the_stop_from_where_the_entry_would_fill(tmp_path):
    # 2 pips of spread at 1.1000/1.1002: a stop under the market is a buy's, which fills at the
    # ask (12 pips: 0.83 lots for 100 USD); one over it a sell's, at the bid (10 pips: 1 lot)
    sizer = """
    function on_alert(a)
      store.set('sizes', {risk.lot_size{symbol = 'EURUSD', risk_pct = 1, sl = 1.099},
                          risk.lot_size{symbol = 'EURUSD', risk_pct = 1, sl = 1.101},
                          risk.lot_size{symbol = 'EURUSD', risk_pct = 1, sl = 1.099, price = 1.1}})
      return {handled = true}
    end
    """
    async with running(tmp_path, {"sizer": sizer}, paper=PaperConfig(spread_points=20)) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert engine.store.get("sizer", "sizes") == [0.83, 1.0, 1.0]   # an explicit price is the script's


async def test_a_plugin_makes_at_most_max_writes_for_one_run_each_a_commit_the_engine_waits_for(tmp_path):
    # Each store.set or trend.set returns once its commit is durable, a wait its budget never sees
    # (0.1 ms a host call): a loop of them held the plugin, and every alert its hooks see, for
    # seconds of fsyncs (ten thousand of them under a budget of 1 s). The next run has its own count.
    script = """
    plugin = {budget = {timeout = 1}}
    function on_alert(a)
      local n, err = 0, nil
      while true do
        local ok, e
        if n % 2 == 0 then ok, e = pcall(store.set, 'k', n) else ok, e = pcall(trend.set, 'EURUSD', 'H1', 'up') end
        if not ok then err = e break end
        n = n + 1
      end
      return {comment = n .. ' | ' .. err, handled = true}
    end"""
    async with running(tmp_path, {"w": script}) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=one")
        second = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=two")
    for row in (first, second):
        comment = row["outcome"]["plugins"][0]["changes"]["comment"]
        assert comment.startswith("200 | store.set: refused: 200 writes already made by this plugin for this "
                                  "alert, timer tick or event"), comment


async def test_on_load_and_on_unload_are_held_to_max_writes_each_call_as_one_run(tmp_path, caplog):
    # They ran outside any run and were not counted: a loop of writes in on_load, at every start
    # and save of the file, held the reload (and the engine's start) for seconds of fsyncs (1,000
    # writes under a budget of 1 s).
    # The file's top-level code, which runs at every load too, likewise.
    script = """
    plugin = {budget = {timeout = 1}}
    local function fill(hook)
      local n = 0
      while n < 1000 do
        local ok, e = pcall(store.set, hook .. n, n)
        if not ok then log.info(hook, n, e) return end
        n = n + 1
      end
    end
    fill('top')
    function on_load() fill('on_load') end
    function on_unload() fill('on_unload') end"""
    caplog.set_level(logging.INFO, logger="moonhook.plugin.w")
    async with running(tmp_path, {"w": script}) as engine:
        await engine.lifecycle.unload("w")
        keys = engine.store.keys("w")
    said = {r.getMessage().partition(" ")[0]: r.getMessage() for r in caplog.records if r.name == "moonhook.plugin.w"}
    for hook, where in (("top", "its top-level code"), ("on_load", "this on_load call"),
                        ("on_unload", "this on_unload call")):
        assert sum(k.startswith(hook) for k in keys) == MAX_PLUGIN_WRITES, (hook, len(keys))
        assert said[hook] == (f"{hook} {MAX_PLUGIN_WRITES} store.set: refused: {MAX_PLUGIN_WRITES} writes already "
                              f"made by this plugin in {where}; each waits for a commit to disk"), said


STORE_ANSWERS = """
function on_alert(a)
  store.set('k', 1)
  local there, gone = store.delete('k'), store.delete('k')
  return {comment = tostring(there) .. ' ' .. tostring(gone) .. ' ' .. tostring(store.set('k', 2))}
end
"""


async def test_store_delete_answers_whether_the_key_was_there_and_store_set_nothing(tmp_path):
    # As the editor's definitions declare them (engine/app/luals.py).
    from engine.app import luals
    async with running(tmp_path, {"m": STORE_ANSWERS}) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
    assert row["outcome"]["plugins"][0]["changes"]["comment"] == "true false nil"
    assert luals.SERVICES["store.delete"][1] == ["boolean"] and luals.SERVICES["store.set"][1] == []


async def test_log_writes_a_scripts_values_as_print_does(tmp_path, caplog):
    # log.info(ok, nil, 3.0) wrote "True None 3.0", tables as Python's repr: a trader reads Lua.
    caplog.set_level(logging.INFO, logger="moonhook.plugin.l")
    script = """function on_alert(a)
      log.info('v', true, false, nil, 3, 1.5, 2^53, 1/0, {1, 'x'}, {a = true, ['b c'] = {n = 0.5}}, {})
      print('v', true, false, nil, 3, 1.5, 2^53, 1/0)
    end"""
    async with running(tmp_path, {"l": script}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
    logged, printed = [r.getMessage() for r in caplog.records if r.getMessage().startswith("v")]
    assert logged == "v true false nil 3 1.5 9.007199254741e+15 inf {1, \"x\"} {a = true, [\"b c\"] = {n = 0.5}} {}"
    assert printed.split("\t") == logged.split(" ")[:8]
