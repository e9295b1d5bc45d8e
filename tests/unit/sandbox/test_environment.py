"""The script's environment is exactly the allow-list: checked in-process, one runtime each."""

import pytest

from sandbox import Budget, allowlist, codec
from sandbox.budget import MB
from sandbox.runtime import LuaSandbox


def run(source: str, fn: str = "f", *args, host=(), seed: int = 1, budget: Budget = Budget()):
    sb = LuaSandbox(budget, host, seed)
    loaded = sb.load(source, "t.lua")
    assert loaded[0] == "ok", loaded
    out = sb.call(fn, *codec.encode(list(args)))
    if out[0] == "ok":
        return ("ok", codec.decode(out[2], out[3:]))
    return out[0], out[2], out[3]  # "err", kind, message


def test_globals_are_exactly_the_allow_list():
    status, (names,) = run("function f() local n = {} for k in pairs(_ENV) do n[#n + 1] = k end "
                           "table.sort(n) return n end", host=["orders.market", "ping"])
    expected = set(allowlist.GLOBALS) | set(allowlist.LIBRARIES) | {"_G", "_VERSION", "orders", "ping", "f"}
    assert set(names) == expected


@pytest.mark.parametrize("lib", sorted(allowlist.LIBRARIES))
def test_library_fields_are_exactly_the_allow_list(lib):
    status, (names,) = run(f"function f() local n = {{}} for k in pairs({lib}) do n[#n + 1] = k end "
                           "table.sort(n) return n end")
    assert names == sorted(allowlist.LIBRARIES[lib])


@pytest.mark.parametrize("name", allowlist.DENIED)
def test_every_denied_name_is_forbidden_even_under_pcall(name):
    out = run(f"function f() pcall(function() return {name} end) return 'escaped' end")
    assert out[:2] == ("err", "forbidden"), out
    assert name.split(".")[-1] in out[2]


@pytest.mark.parametrize("code", [
    "string.rep = nil", "table.concat = print", "math.pi = 3", "os.time = nil", "coroutine.wrap = nil",
    "rawset(string, 'rep', print)", "setmetatable(string, {})", "setmetatable(_ENV, {})",
    "setmetatable({}, {__gc = print})", "orders.market = print",
])
def test_the_sandbox_tables_cannot_be_changed(code):
    out = run(f"function f() {code} end", host=["orders.market"])
    assert out[:2] == ("err", "forbidden"), out


def test_string_metatable_is_locked_and_methods_are_guarded():
    assert run("function f() return getmetatable('') end") == ("ok", [False])
    out = run("function f() return ('x'):rep(10^9) end")
    assert out[:2] == ("err", "memory")


def test_a_memory_overrun_names_the_budget_as_the_other_overruns_do():
    """The instruction and time budgets' errors name theirs ("(2000000 instructions)", "(0.1 s; ...)"); the
    memory budget's said "memory budget exceeded" alone, and a trader whose plugin failed so in the errors
    chat could not tell what it had, nor whether its budget = {memory_mb = ...} had been taken."""
    small = Budget(memory=2 * MB)
    out = run("function f() local t = {} for i = 1, 1e7 do t[i] = {} end end", budget=small)
    assert out == ("err", "memory", "memory budget exceeded (2 MB)"), out
    out = run("function f() return ('x'):rep(10^9) end", budget=small)
    assert out[:2] == ("err", "memory") and "string.rep would exceed the memory budget of 2 MB (" in out[2], out


def test_random_is_seeded_per_plugin():
    src = "function f() local t = {} for i = 1, 5 do t[i] = math.random(1000) end return t end"
    a, b, c = run(src, seed=7), run(src, seed=7), run(src, seed=8)
    assert a == b and a != c


def test_unknown_globals_read_as_nil_and_script_globals_work():
    assert run("x = 5\nfunction f() return undefined_thing, x end") == ("ok", [None, 5])


def test_no_way_to_load_code():
    for code in ("return load('return 1')", "return require('os')", "return dofile('/etc/passwd')"):
        out = run(f"function f() {code} end")
        assert out[:2] == ("err", "forbidden"), (code, out)


def test_os_offers_only_a_clock_and_calendar():
    status, values = run("function f() return type(os.clock()), type(os.time()), os.date('!%Y', 0) end")
    assert values == ["number", "number", "1970"]


def test_os_date_takes_a_time_with_a_fraction_as_time_now_gives_it():
    status, values = run("function f() return os.date('!%H:%M:%S', 1700000000.75), os.date('!%Y', 0.5) end")
    assert values == ["22:13:20", "1970"]
    assert run("function f() return os.date('!%Y', 0/0) end")[0] == "err"   # not a time at all: refused


def test_os_difftime_takes_times_with_a_fraction_as_time_now_gives_them():
    """os is a script's with clock, time, date and difftime; time.now() gives Unix seconds with their
    fraction, and os.difftime(time.now(), opened) failed "number has no integer representation", where
    os.date took the same value: a script timing a position held failed live on every call."""
    out = run("function f() return os.difftime(1700000060.75, 1700000000.25), os.difftime(60, 0), "
              "math.type(os.difftime(60, 0)) end")
    assert out == ("ok", [60.5, 60.0, "float"]), out
    assert run("function f() local d = os.difftime(0/0, 0) return d end") == (   # not a time: refused, at its line
        "err", "script", "t.lua:1: bad argument #1 to 'difftime' (a time in seconds expected, got nan)")
    assert run("function f()\n  local d = os.difftime(60, nil)\n  return d\nend") == (
        "err", "script", "t.lua:2: bad argument #2 to 'difftime' (a time in seconds expected, got nil)")


def test_xpcall_handler_runs_and_errors_keep_their_position():
    status, values = run("function f() return xpcall(function() error('bad') end, "
                         "function(e) return 'handled: ' .. e end) end")
    assert values == [False, "handled: t.lua:1: bad"]


def test_pattern_guard_allows_ordinary_patterns_on_long_text():
    text = ("key=value, " * 5000)
    status, values = run("function f(s) local n = 0 for k, v in s:gmatch('(%w+)=(%w+)') do n = n + 1 end "
                         "return n, s:find('value', 1, true), s:match('^(%w+)%s*=') end", "f", text)
    assert (status, values) == ("ok", [5000, 5, "key"])  # find is cut to one value mid-list


def test_host_arguments_that_cannot_cross_fail_the_script_cleanly():
    out = run("function f() return orders.market({callback = print}) end", host=["orders.market"])
    assert out[:2] == ("err", "script") and "function cannot cross" in out[2]
