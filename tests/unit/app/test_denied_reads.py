"""The names of the allow-list's DENIED a script's text reads, found without running it: `moonhook
check` names them where its sample alert does not go (a branch, on_close), as LuaLS cannot."""

from engine.app.denied_reads import denied_reads


def test_a_denied_global_or_library_field_is_found_at_its_line():
    source = """function on_close(c)
  local f = load("return 1")
  if c.profit < 0 then math.randomseed(7) end
  local s = string.dump(on_close)
  dofile("x.lua"); require "json"
end
"""
    assert denied_reads(source) == [(2, "load"), (3, "math.randomseed"), (4, "string.dump"), (5, "dofile"),
                                    (5, "require")]


def test_strings_comments_fields_keys_and_locals_are_not_reads():
    source = """-- load("x") in a comment
--[==[ require
  dofile ]==]
local s = "load(" .. 'dofile' .. [[require
io.open]]
local t = {load = 1, debug = true}
t.load = t.debug
local ok = t:warn()
local warn = 5
local function collectgarbage() end
for unpack in pairs(t) do end
function f(module, getfenv) return module end
print(warn, collectgarbage, string.format("%d", 1), os.time())
"""
    assert denied_reads(source) == []


def test_a_global_written_is_read_too_and_a_comparison_is_no_key():
    # `debug = x` at the top level writes a global the sandbox denies; `load == nil` reads it.
    assert denied_reads("if load == nil then end\nio.write('x')\n") == [(1, "load"), (2, "io")]
