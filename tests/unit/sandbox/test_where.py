"""A budget overrun names the script's file:line (plugins.md), wherever in the script it happens."""

from sandbox import Budget, codec
from sandbox.runtime import LuaSandbox


def call(source: str, name: str, budget: Budget, host=(), answer=None):
    sb = LuaSandbox(budget, host, 1)
    assert sb.load(source, name)[0] == "ok"
    out = sb.call("f", *codec.encode([]))
    while out[0] == "host":
        out = sb.answer(True, *codec.encode([answer]))
    return out[2:]


def test_an_overrun_at_the_c_stack_limit_still_names_the_scripts_line():
    """The overrun's end looks for the line where it happens; at the C-stack limit (a script recursing
    through a C function such as string.gsub) that look is itself a C call and fails, and the error
    said no line at all. The line is now looked for again once the call has ended, on its stack.
    Every depth up to the limit is tried, so the depth where the look fails is among them."""
    kinds = set()
    for depth in range(1, 400):
        source = (f"local depth = 0\nlocal function r()\n  depth = depth + 1\n  if depth >= {depth} then while true do end end\n"
                  "  string.gsub('x', 'x', r)\nend\nfunction f() r() end\n")
        kind, message, where = call(source, "deep.lua", Budget(instructions=50_000))
        kinds.add(kind)
        assert where in ("deep.lua:4", "deep.lua:5"), (depth, kind, message, where)
        if kind == "script":
            assert message == "deep.lua:5: C stack overflow"
            break
    assert kinds == {"instructions", "script"}   # the walk reached the limit, overrunning until it


def test_a_time_overrun_in_a_host_call_loop_names_the_scripts_line_on_a_big_heap_too():
    """A loop of host calls past its time budget was told without file:line one call in two where the
    script held a big heap: the instruction hook, firing every few instructions there, fired again while
    the call's end looked for the script's line, and the look was given up."""
    source = ("local big = {}\nfunction f()\n  for i = 1, 5000 do big[i] = string.rep('x', 1000) .. i end\n"
              "  while true do time.now() end\nend\n")
    for _ in range(12):
        assert call(source, "big.lua", Budget(timeout=0.5), ["time.now"], 1.5) == (
            "timeout", "time budget exceeded (0.5 s; each host call counts 0.0001 s)", "big.lua:4")


# Each call of `seen` is made at a line of its own: directly, through an alias, pcall, a coroutine, a
# function of the script's own, a metamethod; a comment names it. A tail call replaces the script's frame:
# the line is then its caller's (as Lua's error(msg, 2) says), none when the script's call is one itself.
CALLS = """-- seen() in a comment
local look = seen
local function mine() seen() end
local function tail() return seen() end
function f()
  seen()
  look()
  pcall(seen)
  coroutine.wrap(function() seen() end)()
  mine()
  local _ = setmetatable({}, {__index = function() seen() end}).x
  tail()
  return seen()
end
"""
CALLED_AT = [f"calls.lua:{line}" for line in (6, 7, 8, 9, 3, 11, 12)] + [None]


async def test_a_host_function_is_told_the_scripts_line_of_its_call(pool):
    """sandbox.caller(): where the script called the host function being served, one marked with_caller
    (for the trades chat's advice on a malformed order: engine/core/order_site.py). The line of the innermost
    frame of the script's own code, through the pool's workers, in a call and in a fold, and inline (replay)."""
    from sandbox import caller, with_caller
    from sandbox.inline import InlinePool

    said: list[str | None] = []

    @with_caller
    async def seen() -> None:
        said.append(caller())

    async def unmarked() -> None:   # not marked: its calls carry no line (finding it costs)
        said.append(caller())

    await pool.load("plain", "function f() seen() end", host={"seen": unmarked})
    await pool.call("plain", "f")
    assert said == [None]
    said.clear()
    await pool.load("calls", CALLS, chunkname="calls.lua", host={"seen": seen})
    await pool.call("calls", "f")
    assert said == CALLED_AT
    said.clear()
    assert (await pool.fold(["calls"], "f")).error is None
    assert said == CALLED_AT
    said.clear()
    inline = InlinePool()
    await inline.load("calls", CALLS, chunkname="calls.lua", host={"seen": seen})
    await inline.call("calls", "f")
    assert said == CALLED_AT
    assert caller() is None   # outside a host function
