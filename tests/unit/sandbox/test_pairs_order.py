"""A script's `pairs` walks a table in one defined order, the same in every Lua state: the same
script given the same input takes the same decisions, in replay, in a shadow and live (Lua's
own order of string keys differs from one state to the next, its hash being seeded per state)."""

from sandbox import Budget
from test_environment import run

KEYS = "function f(t) local ks = {} for k in pairs(t) do ks[#ks + 1] = k end return ks end"


def test_pairs_walks_the_array_part_then_numbers_strings_false_true_in_their_order():
    src = ("function f() local t = {10, 20, 30, [5] = 50, [-1] = 'm', [2.5] = 'h', [0] = 'z', zeta = 1, Alpha = 2,"
           " alpha = 3, ['\\u{e9}'] = 4, ['10'] = 5, ['9'] = 6, [true] = 7, [false] = 8}"
           " local ks = {} for k in pairs(t) do ks[#ks + 1] = k end return ks end")
    # strings in byte order: digits before capitals before small letters before UTF-8's multi-byte
    assert run(src) == ("ok", [[1, 2, 3, -1, 0, 2.5, 5, "10", "9", "Alpha", "alpha", "zeta", "é", False, True]])


def test_every_state_walks_string_keys_in_the_same_order():
    """Forty fresh states, each with its own hash seed, walk 40 keys alike, in byte order."""
    keys = [f"leg{i}" for i in range(40)]
    for seed in range(40):
        assert run(KEYS, "f", dict.fromkeys(keys, 1), seed=seed) == ("ok", [sorted(keys)])


def test_a_key_removed_during_the_walk_is_skipped_and_every_other_is_walked_once():
    src = ("function f() local t = {1, 2, 3, a = 1, b = 2, c = 3} local ks = {}"
           " for k in pairs(t) do ks[#ks + 1] = k; if k == 1 then t[3] = nil; t.b = nil end"
           " if k == 'a' then t.a = nil end end return ks end")
    assert run(src) == ("ok", [[1, 2, "a", "c"]])


def test_a___pairs_metamethod_still_decides_and_the_libraries_walk_in_order():
    src = ("function f() local t = setmetatable({}, {__pairs = function(s) return function(_, k)"
           " if not k then return 'only', 1 end end, s, nil end}) local ks = {}"
           " for k in pairs(t) do ks[#ks + 1] = k end for k in pairs(string) do ks[#ks + 1] = k end return ks end")
    status, (ks,) = run(src)
    assert ks[0] == "only" and ks[1:] == sorted(ks[1:]) and len(ks) == 14


def test_pairs_of_a_non_table_fails_as_lua_says_and_next_stays_lua_own():
    out = run("function f() for k in pairs(nil) do end end")
    assert out[:2] == ("err", "script") and "table expected" in out[2]
    assert run("function f() return next({}), (next({5})) end") == ("ok", [None, 1])


def test_the_walk_is_charged_to_the_call_budget():
    """Listing and sorting 5,000 keys is the script's work: 40 walks of them do not fit 1,000,000
    instructions, where 40 bare loops over an empty table do."""
    src = ("function f(n) local t = {} for i = 1, n do t['key' .. i] = i end"
           " for _ = 1, 40 do for _ in pairs(t) do break end end return true end")
    budget = Budget(instructions=1_000_000)
    assert run(src, "f", 0, budget=budget) == ("ok", [True])
    assert run(src, "f", 5000, budget=budget)[:2] == ("err", "instructions")
