"""Work a guarded C function defers to a later call of the script's is charged to that call.

A ``string.gmatch`` iterator searches when it is called, not when it is made, so the guard's
charge when it was made paid for work done later: iterators made in earlier calls (each within
its budget) and run back to back in one call ran unhooked past its hard deadline, and the pool
dropped the plugin."""

from __future__ import annotations

import pytest

from sandbox import MB, Budget, TimeLimitError, open_pool

HOARDER = """
its = {}
local s = ("a"):rep(4500)
function make()   -- each about 50 ms of backtracking, when it runs
  for i = 1, 3 do its[#its + 1] = s:gmatch("a*b") end
end
function run()
  for i = 1, #its do its[i]() end
end
function words()  -- the usual use: an iterator made and run in one call, charged once
  local n = 0
  for w in ("alpha beta gamma"):gmatch("%a+") do n = n + #w end
  return n
end
"""


async def test_gmatch_iterators_made_in_earlier_calls_are_charged_where_they_run():
    async with open_pool(workers=1, spares=1) as pool:
        workers = pool.worker_pids()
        # 0.3 s: on a loaded 2-core machine one iterator took 0.14 s, more than a 0.1 s budget alone
        await pool.load("hoarder", HOARDER, budget=Budget(instructions=2_000_000, timeout=0.3, memory=16 * MB))
        for _ in range(20):
            await pool.call("hoarder", "make")
        with pytest.raises(TimeLimitError) as raised:
            await pool.call("hoarder", "run")
        assert "hard deadline" not in str(raised.value)   # its own budget, in Lua: not the wall-clock kill
        # the next iterator's charge ("string.gmatch would exceed the time budget") or, when one ran long, a
        # collection's hook ("time budget exceeded"): which, the heap's history decides; both end it in Lua
        assert "time budget" in str(raised.value)
        assert pool.restarts == 0 and pool.worker_pids() == workers and pool.lost("hoarder") is None
        assert (await pool.call("hoarder", "words")).value == 14
