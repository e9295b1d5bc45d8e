"""The pipeline with real sandbox workers and a real SQLite file. Where only the orders sent
matter, the broker is a FakeBroker that records them (what the engine asked, not what a broker
made of it); elsewhere the paper broker."""

from __future__ import annotations

import pytest
import trio
import trio.testing

from engine.domain.alerts import parse_body
from engine.domain.config import PluginConfig
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import Closed

from support.engine_support import process, running, submit
from support.fakes import FakeBroker
from support.waits import HANG

TRAIL = """
plugin = {{priority = {prio}}}
function on_alert(a)
  return {{comment = (a.comment or "") .. "{tag}"}}
end
"""


async def test_plugins_run_in_priority_order_and_see_earlier_changes(tmp_path):
    scripts = {"c": TRAIL.format(prio=300, tag="c"), "a": TRAIL.format(prio=5, tag="a"),
               "b": TRAIL.format(prio=50, tag="b")}
    async with running(tmp_path, scripts) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
    assert [s["plugin"] for s in row["outcome"]["plugins"]] == ["a", "b", "c"]
    assert row["status"] == "done"
    assert row["outcome"]["orders"][0]["ok"] is True


async def test_on_alert_forms_pass_change_and_reject(tmp_path):
    scripts = {
        "pass": "plugin = {priority = 1}\nfunction on_alert(a) return nil end",
        "size": "plugin = {priority = 2}\nfunction on_alert(a) return {volume = 0.3} end",
        "veto": """plugin = {priority = 3}
                   function on_alert(a) if a.symbol == 'GBPUSD' then return false, 'no cable' end end""",
        "late": "plugin = {priority = 4}\nfunction on_alert(a) store.set('seen', a.symbol) end",
    }
    broker = FakeBroker()
    async with running(tmp_path, scripts, use_broker=broker) as engine:
        ok = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        rejected = await process(engine, "buy GBPUSD volume=0.1 price=1.3")
        late_saw = engine.store.get("late", "seen")
    assert [s["result"] for s in ok["outcome"]["plugins"]] == ["pass", "changed", "pass", "pass"]
    assert ok["outcome"]["orders"][0]["volume"] == 0.3
    assert rejected["status"] == "rejected"
    assert rejected["outcome"]["rejected_by"] == "veto" and rejected["outcome"]["reason"] == "no cable"
    assert [s["plugin"] for s in rejected["outcome"]["plugins"]] == ["pass", "size", "veto"]
    assert [(r.symbol, r.volume) for r in broker.requests] == [("EURUSD", 0.3)]  # nothing for GBPUSD
    assert late_saw == "EURUSD"


async def test_a_change_that_breaks_the_alert_is_refused_and_counted(tmp_path):
    scripts = {"bad": "function on_alert(a) return {volume = -1} end",
               "odd": "function on_alert(a) return 42 end"}
    async with running(tmp_path, scripts) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        stats = {p.name: p.stats for p in engine.plugins}
    assert row["status"] == "done" and row["outcome"]["orders"][0]["volume"] == 0.1
    assert "volume: must be a positive number" in row["outcome"]["plugins"][0]["error"]
    assert stats["bad"].errors == 1 and stats["odd"].errors == 1


async def test_handled_skips_the_default_execution(tmp_path):
    scripts = {"own": """
        function on_alert(a)
          local r = orders.market{symbol = a.symbol, side = a.side, volume = 0.02}
          return {handled = true, comment = 'own ' .. tostring(r.ticket)}
        end"""}
    broker = FakeBroker()
    async with running(tmp_path, scripts, use_broker=broker) as engine:
        row = await process(engine, "buy EURUSD volume=0.5 price=1.1")
    assert row["outcome"]["handled_by"] == "own"
    assert [(r.client_id, r.plugin, r.volume) for r in broker.requests] == [(f"a{row['id']}-own-1", "own", 0.02)]
    assert [o["client_id"] for o in row["outcome"]["orders"]] == [f"a{row['id']}-own-1"]


async def test_on_order_vetoes_and_changes_other_plugins_orders(tmp_path):
    scripts = {
        "trader": """
            plugin = {priority = 10}
            function on_alert(a)
              local big = orders.market{symbol = a.symbol, side = 'buy', volume = 5}
              local small = orders.market{symbol = a.symbol, side = 'buy', volume = 0.1}
              store.set('answers', {big = big, small = small})
              return {handled = true}
            end
            function on_order(o) return false, 'my own orders never reach me' end""",
        "guard": """
            plugin = {priority = 20}
            function on_order(o)
              if o.volume and o.volume > 1 then return false, 'over 1 lot' end
              return {sl = 1.05}
            end""",
    }
    broker = FakeBroker()
    async with running(tmp_path, scripts, use_broker=broker) as engine:
        row = await process(engine, "buy EURUSD price=1.1")
        answers = engine.store.get("trader", "answers")
        ledger = [o["status"] for o in engine.ledger.for_alert(row["id"])]
    assert answers["big"] == {"ok": False, "error": "vetoed by guard: over 1 lot"}
    assert answers["small"]["ok"] is True
    assert [(r.volume, r.sl) for r in broker.requests] == [(0.1, 1.05)]   # the vetoed one never went out
    assert [o["ok"] for o in row["outcome"]["orders"]] == [False, True]
    assert ledger == ["vetoed", "done"]


async def test_the_default_execution_passes_through_on_order(tmp_path):
    scripts = {"cap": "function on_order(o) if o.volume > 1 then return {volume = 1} end end"}
    broker = FakeBroker()
    async with running(tmp_path, scripts, use_broker=broker) as engine:
        row = await process(engine, "sell EURUSD volume=3 price=1.1")
    assert [(r.client_id, r.side, r.volume) for r in broker.requests] == [(f"a{row['id']}-engine-open", "sell", 1)]
    assert row["outcome"]["orders"][0]["volume"] == 1.0
    assert row["outcome"]["orders"][0]["on_order"] == [{"plugin": "cap", "result": "changed", "changes": {"volume": 1}}]


async def test_a_plugin_over_its_budget_is_skipped_and_the_alert_still_executes(tmp_path):
    scripts = {"slow": "plugin = {priority = 1}\nfunction on_alert(a) while true do end end",
               "after": "plugin = {priority = 2}\nfunction on_alert(a) return {comment = 'after ran'} end"}
    async with running(tmp_path, scripts) as engine:
        with trio.fail_after(HANG):  # its loop never ends: the alert would wait for ever if it were not stopped
            row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        slow = engine.plugins.get("slow")
        with trio.fail_after(HANG):  # the notifier writes the outbox in the background
            while not (notes := [n for n in engine.database.db.query("SELECT kind, text FROM outbox ORDER BY id")
                                 if "slow" in n["text"]]):
                await trio.sleep(0.01)
    assert row["status"] == "done" and row["outcome"]["orders"][0]["ok"]
    assert row["outcome"]["plugins"][0]["result"] == "error"
    assert row["outcome"]["plugins"][1]["result"] == "changed"
    assert slow.stats.timeouts == 1 and ("instructions" in slow.stats.last_error or "time" in slow.stats.last_error)
    assert [n["kind"] for n in notes] == ["errors"]


TRAIL_BY_SYMBOL = """
function on_alert(a)
  local seen = store.get(a.symbol) or {}
  seen[#seen + 1] = a.comment
  store.set(a.symbol, seen)
end"""


async def test_alerts_for_one_symbol_keep_their_order(tmp_path):
    """Each symbol's first alert is held at its first step (the quote of its price) until
    every alert is queued and the engine has gone as far as it can: an alert overtaking
    another of its symbol has done so by then, whatever order Trio runs tasks in."""
    symbols = ("EURUSD", "GBPUSD", "USDJPY")
    async with running(tmp_path, {"trail": TRAIL_BY_SYMBOL}) as engine:
        quote, release, held = engine.broker.quote, trio.Event(), set()

        async def first_held(symbol, price, now, fired=None):
            if symbol not in held:
                held.add(symbol)
                await release.wait()
            await quote(symbol, price, now, fired)

        engine.broker.quote = first_held
        try:
            for i in range(15):
                await submit(engine, f"buy {symbols[i % 3]} volume=0.01 price=1.1 comment=n{i:02d}")
            await trio.testing.wait_all_tasks_blocked()  # the engine has gone as far as it can
            assert held == set(symbols)
        finally:
            release.set()
        with trio.fail_after(HANG):
            await engine.drain()
        trails = {s: engine.store.get("trail", s) for s in symbols}
        rows = engine.journal.recent(100)
    for n, symbol in enumerate(symbols):
        assert trails[symbol] == [f"n{i:02d}" for i in range(n, 15, 3)], (symbol, trails[symbol])
    assert [r["status"] for r in rows] == ["done"] * 15


async def test_symbols_are_processed_side_by_side(tmp_path):
    """EURUSD's alert waits, at its first step, for GBPUSD's alert, which came after it: with
    one lane for every symbol, GBPUSD's would wait behind it for ever."""
    async with running(tmp_path, {"trail": TRAIL_BY_SYMBOL}) as engine:
        quote, gbpusd_seen, order = engine.broker.quote, trio.Event(), []

        async def eurusd_after_gbpusd(symbol, price, now, fired=None):
            if symbol == "EURUSD":
                await gbpusd_seen.wait()
            else:
                gbpusd_seen.set()
            await quote(symbol, price, now, fired)
            order.append(symbol)

        engine.broker.quote = eurusd_after_gbpusd
        try:
            first = await submit(engine, "buy EURUSD volume=0.01 price=1.1 comment=first")
            second = await submit(engine, "buy GBPUSD volume=0.01 price=1.3 comment=second")
            with trio.fail_after(HANG):  # bounds the wait of EURUSD's alert when nothing runs beside it
                await engine.drain()
        finally:
            gbpusd_seen.set()  # a failed run still stops
        statuses = [engine.journal.get(r.id)["status"] for r in (first, second)]
    assert order == ["GBPUSD", "EURUSD"] and statuses == ["done", "done"]


async def test_a_repeated_alert_is_recorded_as_duplicate_and_not_executed(tmp_path):
    broker = FakeBroker()
    async with running(tmp_path, use_broker=broker) as engine:
        first = await submit(engine, '{"symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.1, "id": "tv-1"}')
        again = await submit(engine, '{"symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.1, "id": "tv-1"}')
        same = await submit(engine, "sell GBPUSD volume=0.1 price=1.3")
        same_again = await submit(engine, "sell GBPUSD volume=0.1 price=1.3")
        await engine.drain()
        statuses = {r["id"]: r["status"] for r in engine.journal.recent()}
    assert again.duplicate_of == first.id and same_again.duplicate_of == same.id
    assert statuses[again.id] == statuses[same_again.id] == "duplicate"
    assert sorted((r.client_id, r.symbol) for r in broker.requests) == sorted(   # two lanes: in either order
        [(f"a{first.id}-engine-open", "EURUSD"), (f"a{same.id}-engine-open", "GBPUSD")])


async def test_plugin_stores_are_isolated(tmp_path):
    scripts = {
        "alpha": "plugin = {priority = 1}\nfunction on_alert(a) store.set('k', 'alpha') end",
        "beta": """plugin = {priority = 2}
                   function on_alert(a)
                     local before = store.get('k')
                     store.set('k', {before = before or 'nothing'})
                     return {comment = tostring(before)}
                   end""",
    }
    async with running(tmp_path, scripts) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        alpha, beta = engine.store.get("alpha", "k"), engine.store.get("beta", "k")
    assert row["outcome"]["plugins"][1]["changes"] == {"comment": "nil"}
    assert alpha == "alpha" and beta == {"before": "nothing"}


async def test_params_merge_script_defaults_with_config(tmp_path):
    scripts = {"p": """plugin = {params = {risk = 1, side = 'buy'}}
                       function on_alert(a) return {comment = params.side .. params.risk} end"""}
    async with running(tmp_path, scripts, plugins={"p": PluginConfig(params={"risk": 2})}) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
    assert row["outcome"]["plugins"][0]["changes"] == {"comment": "buy2"}


async def test_a_param_of_another_kind_than_the_scripts_default_is_refused_not_read_as_true(tmp_path):
    """``allow_without_stop = "false"`` for init's demo guard: Lua reads any string as true, so
    entries without a stop traded. The guard does not load, says which key, and the engine,
    without its guard, starts paused; a number for a number (2 for 1.5) is taken."""
    from importlib.resources import files

    demo = files("engine.app").joinpath("demo.lua").read_text()
    scripts = {"demo": demo, "p": "plugin = {params = {risk = 1.5}}\nfunction on_alert(a) return {comment = "
                                  "tostring(params.risk)} end"}
    plugins = {"demo": PluginConfig(params={"allow_without_stop": "false"}), "p": PluginConfig(params={"risk": 2})}
    async with running(tmp_path, scripts, plugins=plugins) as engine:
        assert engine.plugins.get("demo") is None and engine.paused
        assert str(engine.lifecycle.errors["demo.lua"]) == (
            "demo.lua: error: [plugins.demo] params.allow_without_stop: expected true or false, as the script's "
            'default false, got a string "false"')
        assert engine.plugins.get("p") is not None


@pytest.mark.parametrize("guard", [True, False])
async def test_a_script_saying_it_is_a_guard_that_does_not_compile_pauses_the_first_start(tmp_path, guard):
    """A guard broken before moonhook ever loaded it (init's demo edited on the first day) was
    not known as one: the engine started, and what it refuses went through. Its plugin table
    cannot be read, so its text says whether it is a guard: failing closed, the engine pauses."""
    text = "plugin = {guard = %s}\nfunction on_alert(a) return false, 'no' end end" % str(guard).lower()
    async with running(tmp_path, {"g": text}) as engine:
        assert "g.lua" in engine.lifecycle.errors and engine.paused is guard


async def test_budget_overrides_are_capped_by_the_engine_limits(tmp_path):
    scripts = {"greedy": "plugin = {budget = {instructions = 1e12, timeout = 60, memory_mb = 1}}"}
    async with running(tmp_path, scripts) as engine:
        budget = engine.plugins.get("greedy").budget
        limits = engine.config.budget_limits
    assert budget.instructions == limits.instructions and budget.timeout == limits.timeout
    assert budget.memory == 1024 * 1024


async def test_a_plugin_that_cannot_load_is_reported_with_file_and_line(tmp_path):
    scripts = {"broken": "function on_alert(a)\n  return (\nend",
               "badmeta": "plugin = {priority = 'high'}",
               "failing": "function on_load()\n  error('no config')\nend",
               "fine": "function on_alert(a) end"}
    async with running(tmp_path, scripts) as engine:
        names = [p.name for p in engine.plugins]
        errors = dict(engine.lifecycle.errors)
    assert names == ["fine"]
    assert errors["broken.lua"].startswith("broken.lua:3:")
    assert "plugin.priority" in errors["badmeta.lua"]
    assert errors["failing.lua"].startswith("failing.lua:2:") and "no config" in errors["failing.lua"]


async def test_symbols_filter_which_plugins_an_alert_concerns(tmp_path):
    scripts = {"gold": "plugin = {symbols = {'XAUUSD'}}\nfunction on_alert(a) return {comment = 'gold'} end",
               "all": "function on_alert(a) end"}
    async with running(tmp_path, scripts, symbol_map={"XAUUSD": "GOLD"}) as engine:
        fx = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        gold = await process(engine, "buy OANDA:XAUUSD volume=0.1 price=2000")
    assert [s["plugin"] for s in fx["outcome"]["plugins"]] == ["all"]
    assert [s["plugin"] for s in gold["outcome"]["plugins"]] == ["all", "gold"]


COUNT = """
function on_alert(a) store.set('n', (store.get('n') or 0) + 1) end
"""


async def test_paused_alerts_are_journaled_not_executed_and_run_on_resume_only_if_asked(tmp_path):
    broker = FakeBroker()
    async with running(tmp_path, {"count": COUNT}, use_broker=broker) as engine:
        engine.pause()
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        second = await process(engine, "sell GBPUSD volume=0.1 price=1.3")
        assert first["status"] == second["status"] == "paused"
        assert broker.requests == [] and engine.store.get("count", "n") is None
        assert engine.journal.unfinished() == []  # a restart does not run them either
        assert await engine.resume() == 0
        await engine.drain()
        assert engine.journal.get(first["id"])["status"] == "skipped"   # for good: the resume left them
        engine.pause()
        third = await process(engine, "buy USDJPY volume=0.1 price=150")
        fourth = await process(engine, "sell EURUSD volume=0.1 price=1.1")
        assert await engine.resume(execute_missed=True) == 2  # oldest first; the skipped ones are not run
        await engine.drain()
        rows = [engine.journal.get(r["id"]) for r in (first, second, third, fourth)]
        assert [r["status"] for r in rows] == ["skipped", "skipped", "done", "done"]
        assert rows[0]["outcome"]["reason"] == "skipped: resumed by api without the alerts missed while paused"
        assert sorted(r.symbol for r in broker.requests) == ["EURUSD", "USDJPY"]  # one lane each
        assert engine.store.get("count", "n") == 2


async def test_a_disabled_plugin_is_skipped_until_enabled(tmp_path):
    async with running(tmp_path, {"count": COUNT}) as engine:
        engine.set_enabled("count", False)
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert row["outcome"]["plugins"] == [] and engine.store.get("count", "n") is None
        engine.set_enabled("count", True)
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=second")
        assert [s["plugin"] for s in row["outcome"]["plugins"]] == ["count"]
        with pytest.raises(KeyError, match="nobody"):
            engine.set_enabled("nobody", True)


async def test_an_alerts_reads_cost_no_savepoint_of_their_own(tmp_path):
    # sqlite-utils' query() wraps a read outside a transaction in SAVEPOINT/RELEASE: four
    # statements an alert on the paper broker's quote alone (storage.select reads without).
    async with running(tmp_path) as engine:
        statements: list[str] = []
        for conn in (engine.database.db.conn, engine.journal._d.db.conn):
            conn.set_trace_callback(statements.append)
        for n in range(3):
            await engine.submit(parse_body(f"buy EURUSD volume=0.1 price=1.1{n} sl=1.05 id=sp{n}"))
            await engine.drain()
        for conn in (engine.database.db.conn, engine.journal._d.db.conn):
            conn.set_trace_callback(None)
    assert any(s.startswith("SELECT") for s in statements)  # the quote's reads ran
    assert [s for s in statements if "sqlite_utils_query" in s] == []


async def test_on_paper_a_risk_sized_buy_pays_the_spread_inside_its_risk(tmp_path):
    # 2 pips of spread: a buy at 1.1 fills at the ask, 1.1002, 12 pips above a stop at 1.099;
    # 1% of 10,000 over 120 USD a lot is 0.83 lots (sized from 1.1 it was 1 lot: 120 USD lost)
    async with running(tmp_path, paper=PaperConfig(spread_points=20)) as engine:
        row = await process(engine, "buy EURUSD risk=1 price=1.1 sl=1.099")
        (position,) = await engine.broker.positions()
    assert row["status"] == "done", row
    assert (position["volume"], position["price_open"]) == (0.83, 1.1002)


COUNTS_CLOSES = 'function on_close(c) store.set("closes", (store.get("closes") or 0) + 1) end'


async def test_drain_waits_for_the_broker_events_queued_to_reach_the_plugins(tmp_path):
    """A stop drains: the deal history marks a deal read before it is told, so an event left
    queued at a stop would reach no plugin, at that start or any after."""
    async with running(tmp_path, {"counter": COUNTS_CLOSES}) as engine:
        for ticket in (1, 2):
            engine.on_event(Closed(ticket, "EURUSD", "buy", 0.1, 1.08, 1.07, -10.0, "sl", 1.0))
        await engine.drain()
        assert engine.store.get("counter", "closes") == 2
