"""A guarded or wrapped function called badly names itself and the script's line, as Lua names its own:
"t.lua:2: bad argument #2 to 'rep' (number expected, got table)". Each said "bad argument #2 to '?'"
without a line (the guard, compiled without debug information, was the C function's caller), and a
trader reading the errors chat could not tell which call had failed. Run in a real runtime, one each."""

import pytest

from sandbox import Budget, codec, open_pool
from sandbox.runtime import LuaSandbox


def failed(call: str) -> tuple:
    sb = LuaSandbox(Budget(), (), 1)
    assert sb.load(f"function f()\n  local r = {call}\n  return r\nend", "t.lua")[0] == "ok"
    out = sb.call("f", *codec.encode([]))
    assert out[0] == "err", out
    return out[2], out[3], out[4]


@pytest.mark.parametrize("call, said", [
    ('string.rep("x", {})', "bad argument #2 to 'rep' (number expected, got table)"),
    ('string.rep({}, 2)', "bad argument #1 to 'rep' (string expected, got table)"),
    ('string.rep("x", 2, {})', "bad argument #3 to 'rep' (string expected, got table)"),
    ('string.find({}, "x")', "bad argument #1 to 'find' (string expected, got table)"),
    ('string.match("x", {})', "bad argument #2 to 'match' (string expected, got table)"),
    ('string.gmatch({}, "x")', "bad argument #1 to 'gmatch' (string expected, got table)"),
    ('string.gsub("x", "x", true)', "bad argument #3 to 'gsub' (string/function/table expected, got boolean)"),
    ('string.format("%d", "x")', "bad argument #2 to 'format' (number expected, got string)"),
    ('string.byte("x", {})', "bad argument #2 to 'byte' (number expected, got table)"),
    ('table.concat(1)', "bad argument #1 to 'concat' (table expected, got number)"),
    ('table.concat({{}})', "invalid value (table) at index 1 in table for 'concat'"),
    ('table.move(1, 1, 1, 1)', "bad argument #1 to 'move' (table expected, got number)"),
    ('table.sort({3, 1, 2}, 5)', "bad argument #2 to 'sort' (function expected, got number)"),
    ('table.insert({}, 5, 1)', "bad argument #2 to 'insert' (position out of bounds)"),
    ('table.insert({}, 1, 2, 3)', "wrong number of arguments to 'insert'"),
    ('table.remove({}, 5)', "bad argument #2 to 'remove' (position out of bounds)"),
    ('utf8.codepoint("x", 5)', "bad argument #3 to 'codepoint' (out of bounds)"),
    ('utf8.len({})', "bad argument #1 to 'len' (string expected, got table)"),
    ('utf8.offset({})', "bad argument #1 to 'offset' (string expected, got table)"),
    ('os.date("%Ez")', "bad argument #1 to 'date' (invalid conversion specifier '%Ez')"),
    ('os.date("%c", "x")', "bad argument #2 to 'date' (number expected, got string)"),
    ('os.date("%c", {})', "bad argument #2 to 'date' (number expected, got table)"),
    ('os.time(5)', "bad argument #1 to 'time' (table expected, got number)"),
    ('tonumber("x", 99)', "bad argument #2 to 'tonumber' (base out of range)"),
    ('setmetatable(1, {})', "bad argument #1 to 'setmetatable' (table expected, got number)"),
    ('rawset(1, 2, 3)', "bad argument #1 to 'rawset' (table expected, got number)"),
    ('rawget(1, 2)', "bad argument #1 to 'rawget' (table expected, got number)"),
    ('coroutine.create(1)', "bad argument #1 to 'create' (function expected, got number)"),
    ('coroutine.wrap(1)', "bad argument #1 to 'wrap' (function expected, got number)"),
    ('coroutine.resume(1)', "bad argument #1 to 'resume' (thread expected, got number)"),
    ('coroutine.close(1)', "bad argument #1 to 'close' (thread expected, got number)"),
])
def test_a_guarded_function_called_badly_names_itself_at_the_scripts_line(call, said):
    assert failed(call) == ("script", f"t.lua:2: {said}", "t.lua:2")


def test_a_malformed_pattern_met_by_gmatchs_iterator_is_told_at_the_loop():
    assert failed('0 for w in string.gmatch("ab", "%") do end') == (
        "script", "t.lua:2: malformed pattern (ends with '%')", "t.lua:2")


def test_an_error_of_the_scripts_own_inside_a_guarded_call_is_left_as_it_was_raised():
    assert failed('table.sort({3, 1, 2}, function(a, b) error("mine", 0) end)') == ("script", "mine", "t.lua:2")
    assert failed('string.gsub("ab", "%w", function(c) return string.rep(c, {}) end)') == (
        "script", "t.lua:2: bad argument #2 to 'rep' (number expected, got table)", "t.lua:2")


def test_a_guarded_call_caught_by_the_script_hands_it_the_named_error():
    assert failed('select(2, pcall(string.rep, "x", {})) error(r, 0)')[1] == \
        "t.lua:2: bad argument #2 to 'rep' (number expected, got table)"
    sb = LuaSandbox(Budget(), (), 1)
    assert sb.load('function f()\n  local ok, e = pcall(os.date, "%c", "x")\n  return e\nend', "t.lua")[0] == "ok"
    out = sb.call("f", *codec.encode([]))
    assert codec.decode(out[2], out[3:]) == ["t.lua:2: bad argument #2 to 'date' (number expected, got string)"]


async def test_a_worker_tells_the_named_error_with_its_line():
    """Through a worker process, as the engine runs a plugin."""
    async with open_pool(workers=1, spares=0) as pool:
        await pool.load("p", "function on_alert(a)\n  local s = string.rep('x', a)\n  return s\nend",
                        chunkname="p.lua")
        with pytest.raises(Exception) as caught:
            await pool.call("p", "on_alert", {"n": 1})
    assert str(caught.value) == "p.lua:2: bad argument #2 to 'rep' (number expected, got table)"
    assert (caught.value.file, caught.value.line) == ("p.lua", 2)


def test_a_method_call_does_not_count_the_string_it_was_called_on():
    assert failed('("x"):rep({})') == ("script", "t.lua:2: bad argument #1 to 'rep' (number expected, got table)",
                                       "t.lua:2")
    assert failed('("%d"):format("x")')[1] == "t.lua:2: bad argument #1 to 'format' (number expected, got string)"


@pytest.mark.parametrize("refused", [
    "coroutine.resume(1)", "coroutine.close(1)", "coroutine.close(coroutine.running())"])
def test_a_refused_resume_or_close_caught_by_the_script_leaves_no_catch_counted(refused):
    """A catcher counts its nesting (100 deep at most); a resume or close Lua refused raised before its
    count was taken back, and the 100th such call, caught by the script, ended the call as "coroutine.resume
    nested deeper than 100 levels"."""
    sb = LuaSandbox(Budget(), (), 1)
    source = f"function f()\n  for i = 1, 150 do pcall(function() {refused} end) end\n  return 'served'\nend"
    assert sb.load(source, "t.lua")[0] == "ok"
    out = sb.call("f", *codec.encode([]))
    assert out[0] == "ok" and codec.decode(out[2], out[3:]) == ["served"], out


@pytest.mark.parametrize("call, said", [
    ("pcall()", "bad argument #1 to 'pcall' (value expected)"),
    ("xpcall(print)", "bad argument #2 to 'xpcall' (function expected, got no value)"),
    ("xpcall(print, 5)", "bad argument #2 to 'xpcall' (function expected, got number)"),
])
def test_a_catcher_called_badly_is_refused_as_lua_refuses_it(call, said):
    """pcall() answered false, "attempt to call a nil value", and xpcall(f, 5) ran f, where Lua refuses both."""
    assert failed(call) == ("script", f"t.lua:2: {said}", "t.lua:2")


def test_xpcall_refusing_its_handler_does_not_run_the_function():
    sb = LuaSandbox(Budget(), (), 1)
    source = "ran = false\nfunction f()\n  pcall(xpcall, function() ran = true end, {})\n  return ran\nend"
    assert sb.load(source, "t.lua")[0] == "ok"
    out = sb.call("f", *codec.encode([]))
    assert codec.decode(out[2], out[3:]) == [False], out


def test_print_refusing_what_a_tostring_metamethod_gave_says_so_at_the_scripts_line():
    assert failed('print(setmetatable({}, {__tostring = function() return {} end}))') == (
        "script", "t.lua:2: '__tostring' must return a string", "t.lua:2")


@pytest.mark.parametrize("call, said", [
    ('string.rep()', "bad argument #1 to 'rep' (string expected, got no value)"),
    ('string.rep("x")', "bad argument #2 to 'rep' (number expected, got no value)"),
    ('string.find("x")', "bad argument #2 to 'find' (string expected, got no value)"),
    ('string.match("x")', "bad argument #2 to 'match' (string expected, got no value)"),
    ('string.gmatch("x")', "bad argument #2 to 'gmatch' (string expected, got no value)"),
    ('string.gsub("x", "x")', "bad argument #3 to 'gsub' (string/function/table expected, got no value)"),
    ('string.format()', "bad argument #1 to 'format' (string expected, got no value)"),
    ('string.byte()', "bad argument #1 to 'byte' (string expected, got no value)"),
    ('table.concat()', "bad argument #1 to 'concat' (table expected, got no value)"),
    ('table.move({}, 1, 1)', "bad argument #4 to 'move' (number expected, got no value)"),
    ('table.sort()', "bad argument #1 to 'sort' (table expected, got no value)"),
    ('table.insert()', "bad argument #1 to 'insert' (table expected, got no value)"),
    ('table.remove()', "bad argument #1 to 'remove' (table expected, got no value)"),
    ('utf8.codepoint()', "bad argument #1 to 'codepoint' (string expected, got no value)"),
    ('utf8.len()', "bad argument #1 to 'len' (string expected, got no value)"),
    ('utf8.offset()', "bad argument #1 to 'offset' (string expected, got no value)"),
    ('tonumber()', "bad argument #1 to 'tonumber' (value expected)"),
    ('coroutine.create()', "bad argument #1 to 'create' (function expected, got no value)"),
    ('coroutine.wrap()', "bad argument #1 to 'wrap' (function expected, got no value)"),
    ('coroutine.resume()', "bad argument #1 to 'resume' (thread expected, got no value)"),
    ('coroutine.close()', "bad argument #1 to 'close' (thread expected, got no value)"),
    ('setmetatable()', "bad argument #1 to 'setmetatable' (table expected, got no value)"),
    ('setmetatable({})', "bad argument #2 to 'setmetatable' (nil or table expected, got no value)"),
    ('rawset({}, 1)', "bad argument #3 to 'rawset' (value expected)"),
    ('rawget({})', "bad argument #2 to 'rawget' (value expected)"),
    ('pairs()', "bad argument #1 to 'pairs' (value expected)"),
    ('os.difftime()', "bad argument #1 to 'difftime' (number expected, got no value)"),
    ('os.difftime(60)', "bad argument #2 to 'difftime' (number expected, got no value)"),
    ('os.difftime(60.5)', "bad argument #2 to 'difftime' (number expected, got no value)"),  # a fraction is a time
])
def test_an_argument_left_out_is_no_value_as_lua_says_it(call, said):
    """An argument left out is not one given as nil: Lua says "got no value", or refuses what takes nil
    ("value expected"). Each guard or wrapper handed C a nil in its place: "got nil", and tonumber(),
    setmetatable({}), rawset({}, 1), rawget({}) and pairs() answered where Lua refuses them (pairs() failed
    only at the loop, as "bad argument #1 to 'for iterator' (table expected, got nil)"). Recorded from Lua 5.4."""
    assert failed(call) == ("script", f"t.lua:2: {said}", "t.lua:2")


@pytest.mark.parametrize("call, said", [
    ('string.rep("x", nil)', "bad argument #2 to 'rep' (number expected, got nil)"),
    ('table.concat(nil)', "bad argument #1 to 'concat' (table expected, got nil)"),
    ('utf8.len(nil)', "bad argument #1 to 'len' (string expected, got nil)"),
])
def test_an_argument_given_as_nil_is_still_nil(call, said):
    assert failed(call) == ("script", f"t.lua:2: {said}", "t.lua:2")


def test_pairs_of_nil_fails_at_the_loop_as_lua_fails_it():
    assert failed('0 for k in pairs(nil) do end') == (
        "script", "t.lua:2: bad argument #1 to 'for iterator' (table expected, got nil)", "t.lua:2")
