"""Folds: one hook through many plugins in one round trip per worker, stopping at the first
answer that is not a pass, with each plugin's host functions, budget and blame its own."""

import os
import signal
import time

import trio

from sandbox import Budget, CrashError, InstructionLimitError, ScriptError, TimeLimitError, open_pool

from support.busy import starved_looks
from support.waits import HANG

COUNTING = """
calls = 0
function check(a)
  calls = calls + 1
  print("{name} saw " .. a.n)
  if a.n == {stop_at} then return {{n = a.n, by = "{name}"}} end
  if a.n == -{stop_at} then return false, "{name} says no" end
  return {answer}
end
function count() return calls end
"""


async def _load_counting(pool, names, stop_at=None, answer="nil"):
    for i, name in enumerate(names):
        src = COUNTING.format(name=name, stop_at=stop_at.get(name, 999) if stop_at else 999, answer=answer)
        await pool.load(name, src)


async def _calls(pool, names):
    return [(await pool.call(n, "count")).value for n in names]


async def test_a_fold_passes_the_same_arguments_through_until_an_answer():
    async with open_pool(workers=1) as pool:
        names = ["a", "b", "c", "d"]
        await _load_counting(pool, names, stop_at={"c": 5})
        folded = await pool.fold(names, "check", {"n": 1})
        assert folded.stop is None and folded.error is None
        assert [r.log for r in folded.passed] == [f"{n} saw 1" for n in names]
        assert all(r.seconds is not None and r.seconds >= 0 and r.memory > 0 for r in folded.passed)

        folded = await pool.fold(names, "check", {"n": 5})
        assert [r.log for r in folded.passed] == ["a saw 5", "b saw 5"]
        assert folded.stop.values == [{"n": 5, "by": "c"}] and folded.stop.log == "c saw 5"
        assert await _calls(pool, names) == [2, 2, 2, 1]  # d was not called

        folded = await pool.fold(names, "check", {"n": -5})
        assert len(folded.passed) == 2 and folded.stop.values == [False, "c says no"]


async def test_true_and_no_value_are_passes_too():
    async with open_pool(workers=1) as pool:
        await _load_counting(pool, ["t1", "t2"], answer="true")
        await pool.load("empty", "function check(a) end")
        folded = await pool.fold(["t1", "empty", "t2"], "check", {"n": 1})
        assert len(folded.passed) == 3 and folded.stop is None


async def test_a_failing_plugin_stops_the_fold_with_its_own_error():
    async with open_pool(workers=1) as pool:
        await _load_counting(pool, ["a", "c"])
        await pool.load("boom", "function check(a) error('bad alert ' .. a.n) end", chunkname="boom.lua")
        await pool.load("greedy", "function check(a) local x = 0 while true do x = x + 1 end end",
                        budget=Budget(instructions=10_000, timeout=1.0), chunkname="greedy.lua")
        folded = await pool.fold(["a", "boom", "c"], "check", {"n": 1})
        assert len(folded.passed) == 1 and folded.stop is None
        assert isinstance(folded.error, ScriptError) and folded.error.file == "boom.lua"
        assert "bad alert 1" in str(folded.error)
        folded = await pool.fold(["a", "greedy", "c"], "check", {"n": 1})
        assert isinstance(folded.error, InstructionLimitError) and folded.error.file == "greedy.lua"
        assert await _calls(pool, ["a", "c"]) == [2, 0]


async def test_host_calls_in_a_fold_reach_each_plugins_own_functions():
    async with open_pool(workers=1) as pool:
        seen = []

        def host_for(name):
            async def whoami(x):
                seen.append(name)
                await trio.sleep(0.001)
                return f"{name}:{x}"
            return {"me.whoami": whoami}

        src = "function check(a) local w = me.whoami(a.n) print(w) end"
        for name in ("p1", "p2", "p3"):
            await pool.load(name, src, host=host_for(name))
        folded = await pool.fold(["p1", "p2", "p3"], "check", {"n": 7})
        assert seen == ["p1", "p2", "p3"]
        assert [r.log for r in folded.passed] == ["p1:7", "p2:7", "p3:7"]


async def test_a_fold_over_several_workers_keeps_the_order():
    async with open_pool(workers=3) as pool:
        names = [f"p{i}" for i in range(7)]  # spread over the workers, one by one
        await _load_counting(pool, names, stop_at={"p5": 3})
        assert len({pool._plugins[n].slot for n in names}) == 3
        folded = await pool.fold(names, "check", {"n": 3})
        assert [r.log for r in folded.passed] == [f"p{i} saw 3" for i in range(5)]
        assert folded.stop.values[0]["by"] == "p5"
        assert await _calls(pool, names) == [1, 1, 1, 1, 1, 1, 0]


# No script can wedge its worker any more (every budget is enforced inside Lua), so a host
# function stops the worker (SIGSTOP) while the plugin runs: it never answers.
FREEZER = """
function check(a)
  host.freeze()
  while true do end
end
"""


async def test_a_wedged_plugin_in_a_fold_is_blamed_and_killed_at_its_own_deadline(monkeypatch):
    looks = starved_looks(monkeypatch)
    async with open_pool(workers=1, spares=1) as pool:
        names = [f"p{i}" for i in range(3)]
        await _load_counting(pool, names)
        budget = Budget(instructions=10**13, timeout=0.2)

        async def freeze():
            os.kill(pool.worker_pids()[0], signal.SIGSTOP)

        await pool.load("hang", FREEZER, budget=budget, chunkname="hang.lua", host={"host.freeze": freeze})
        await pool.load("after", FREEZER, budget=Budget(timeout=5.0))  # a long deadline, not reached
        t0 = time.monotonic()
        folded = await pool.fold([*names, "hang", "after"], "check", {"n": 1})
        elapsed = time.monotonic() - t0
        assert isinstance(folded.error, TimeLimitError) and folded.error.file == "hang.lua"
        assert "hard deadline" in str(folded.error)
        assert len(folded.passed) == 3  # the worker had got past them
        assert budget.deadline <= elapsed
        assert looks == [None]  # killed at its own deadline: a stopped worker is not given more time
        assert (await pool.fold(names, "check", {"n": 2})).error is None  # served by the successor
        assert pool.restarts == 1


async def test_a_worker_killed_in_a_host_call_blames_the_plugin_that_made_it():
    async with open_pool(workers=1, spares=1) as pool:
        async def die():
            os.kill(pool.worker_pids()[0], signal.SIGKILL)
            await trio.sleep(0.3)
            return 1

        await _load_counting(pool, ["a", "b"])
        await pool.load("killer", "function check(a) return host.die() end", host={"host.die": die},
                        chunkname="killer.lua")
        folded = await pool.fold(["a", "b", "killer", "a"], "check", {"n": 1})
        assert isinstance(folded.error, CrashError) and folded.error.file == "killer.lua"
        assert len(folded.passed) == 2


async def test_a_host_function_may_call_back_into_the_folds_other_plugins_but_not_the_waiting_one():
    async with open_pool(workers=1) as pool:
        outcomes = []

        async def place(who):
            # as the engine does: an order runs the other plugins' checks, here inside the fold
            others = [n for n in ("a", "b", "c") if n != who]
            folded = await pool.fold(others, "check", {"n": 0})
            outcomes.append((who, len(folded.passed)))
            try:
                await pool.call(who, "count")
            except RuntimeError as e:
                outcomes.append(str(e))
            return "placed"

        src = 'calls = 0\nfunction check(a) calls = calls + 1 if a.n == 1 then orders.place("{0}") end end'
        for name in ("a", "b", "c"):
            await pool.load(name, src.format(name), host={"orders.place": place})
        with trio.fail_after(HANG):
            folded = await pool.fold(["a", "b", "c"], "check", {"n": 1})
        assert folded.error is None and len(folded.passed) == 3
        assert outcomes[0] == ("a", 2)
        assert "'a' is waiting on this host function" in outcomes[1]
        assert [(await pool.get_global(n, "calls")) for n in ("a", "b", "c")] == [3, 3, 3]
