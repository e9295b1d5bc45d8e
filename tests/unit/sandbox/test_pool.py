"""The pool: loading a script, calling it, the values that cross, its log, its globals.

The host-function bridge is in test_pool_host.py, the supervision of the workers in test_pool_supervision.py,
idle workers in test_pool_idle.py.
"""

import os
import signal

import pytest
import trio

from sandbox import Budget, CrashError, ForbiddenError, ScriptError

from support.waits import HANG


STRATEGY = """
plugin = {name = "echo", symbols = {"EURUSD"}}
calls = 0
function on_alert(a)
  calls = calls + 1
  return {symbol = a.symbol, calls = calls, doubled = a.volume * 2}
end
function two() return false, "reason" end
function nothing() end
"""


async def test_load_reports_functions_and_call_returns_plain_data(pool):
    reply = await pool.load("echo", STRATEGY)
    assert reply.values == []
    assert pool.functions("echo") == ["nothing", "on_alert", "two"]
    r = await pool.call("echo", "on_alert", {"symbol": "EURUSD", "volume": 0.5})
    assert r.value == {"symbol": "EURUSD", "calls": 1, "doubled": 1.0}
    assert (await pool.call("echo", "on_alert", {"symbol": "X", "volume": 1})).value["calls"] == 2
    assert (await pool.call("echo", "two")).values == [False, "reason"]
    assert (await pool.call("echo", "nothing")).values == []
    assert 0 < pool.memory("echo") < 400_000


async def test_values_cross_unchanged_both_ways(pool):
    await pool.load("id", "function id(...) return ... end")
    value = {"s": "häkchen ✓", "i": 2**62, "f": -1.5, "t": True, "list": [1, "two", [3.0]],
             "nested": {"a": {"b": {"c": []}}}, "int_keys": {1: "x", 5: "y"}}
    r = await pool.call("id", "id", value, "second", 3)
    expected = dict(value, nested={"a": {"b": {"c": {}}}})  # an empty table comes back as {}
    assert r.values == [expected, "second", 3]


async def test_load_failure_leaves_nothing_loaded(pool):
    with pytest.raises(ScriptError) as e:
        await pool.load("bad", "function broken(\n  return 1\nend", chunkname="bad.lua")
    assert e.value.file == "bad.lua" and e.value.line == 2
    assert "bad" not in pool.plugins()
    with pytest.raises(ScriptError) as e:
        await pool.load("bad", "x = 1\nerror('refused at load')", chunkname="bad.lua")
    assert e.value.line == 2 and "refused at load" in str(e.value)
    with pytest.raises(KeyError):
        await pool.call("bad", "anything")


async def test_unload_and_reload_under_the_same_id(pool):
    await pool.load("p", "function v() return 1 end")
    with pytest.raises(ValueError, match="already loaded"):
        await pool.load("p", "function v() return 2 end")
    await pool.unload("p")
    await pool.load("p", "function v() return 2 end")
    assert (await pool.call("p", "v")).value == 2


async def test_print_goes_to_the_log_capped(pool):
    await pool.load("p", "function f() for i = 1, 1000 do print('line', i) end return 1 end")
    r = await pool.call("p", "f")
    lines = r.log.splitlines()
    assert lines[0] == "line\t1"
    assert lines[-1] == "(800 more lines dropped: print and log.* write at most 200 lines, 16384 bytes a call)"
    assert len(lines) == 201


async def test_print_keeps_its_16_kb_a_call_and_a_newline_in_a_line_stays_in_it(pool):
    # The call's log was cut at 2,000 bytes, and the note of the lines dropped with it.
    await pool.load("p", "function f() for i = 1, 20 do print(string.rep('x', 999) .. '\\n') end end")
    lines = (await pool.call("p", "f")).log.split("\n")
    assert lines[:-1] == ["x" * 999 + "\\n"] * 16
    assert lines[-1] == "(4 more lines dropped: print and log.* write at most 200 lines, 16384 bytes a call)"


async def test_budget_error_names_file_and_line(pool):
    await pool.load("spin", "x = 1\nfunction f()\n  while true do end\nend", chunkname="spin.lua",
                    budget=Budget(instructions=100_000))
    with pytest.raises(Exception) as e:
        await pool.call("spin", "f")
    assert e.value.kind == "instructions"
    assert (e.value.file, e.value.line) == ("spin.lua", 3)


async def test_forbidden_is_reported_and_the_pool_serves_on(pool):
    await pool.load("p", "function f() pcall(function() return os.execute end) return 1 end\n"
                         "function g() return 2 end")
    with pytest.raises(ForbiddenError):
        await pool.call("p", "f")
    assert (await pool.call("p", "g")).value == 2


async def test_calls_to_one_plugin_run_in_order(pool):
    await pool.load("seq", "log = {}\nfunction add(x) log[#log + 1] = x return #log end\n"
                           "function all() return log end")
    async with trio.open_nursery() as n:
        for i in range(50):
            n.start_soon(pool.call, "seq", "add", i)
            await trio.sleep(0)
    assert (await pool.call("seq", "all")).value == list(range(50))


async def test_globals_read_and_set_survive_a_worker_restart(pool):
    await pool.load("g", "plugin = {name = 'g', symbols = {'EURUSD'}}\n"
                         "function get() return params.risk end")
    assert await pool.get_global("g", "plugin") == {"name": "g", "symbols": ["EURUSD"]}
    assert await pool.get_global("g", "nothing") is None
    await pool.set_global("g", "params", {"risk": 2})
    assert (await pool.call("g", "get")).value == 2
    with pytest.raises(ScriptError, match="cannot replace the global"):
        await pool.set_global("g", "string", {})
    os.kill(pool.worker_pids()[pool._plugins["g"].slot], signal.SIGKILL)
    with trio.fail_after(HANG):
        while True:
            try:
                assert (await pool.call("g", "get")).value == 2
                break
            except CrashError:
                await trio.sleep(0.01)


async def test_a_global_that_cannot_cross_is_an_error(pool):
    await pool.load("f", "plugin = {hook = function() end}")
    with pytest.raises(ScriptError):
        await pool.get_global("f", "plugin")
