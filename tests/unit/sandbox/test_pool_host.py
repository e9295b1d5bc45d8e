"""The pool's host-function bridge: a script's call to a function of the engine, its cost, its errors, and a
caller that gives up while one waits."""

import pytest
import trio

from sandbox import Budget, HostError, ScriptError, TimeLimitError, open_pool

from support.waits import HANG, Ticks


NAPPER = """
function nap(seconds)
  return host.sleep(seconds)
end
function failing() local ok, err = pcall(host.fail) return ok, err end
function secret() return host.boom() end
function quick(x) return x + 1 end
"""


async def _host():
    async def sleep(seconds):
        await trio.sleep(seconds)
        return {"slept": seconds}

    async def fail():
        raise HostError("order refused: market closed")

    async def boom():
        raise RuntimeError("password=hunter2")

    return {"host.sleep": sleep, "host.fail": fail, "host.boom": boom}


async def test_host_call_is_not_charged_and_others_keep_running(pool):
    """The napper's host call cannot return before the other plugins were served 20 times and
    the event loop ticked 20 times while it waited: the counts are reached by waiting for
    them, not hoped for within a wall-clock window a loaded machine may not give them."""
    enough = trio.Event()

    async def sleep(seconds):
        await trio.sleep(seconds)
        await enough.wait()  # held until the others were served: they ran during this wait
        return {"slept": seconds}

    host = dict(await _host(), **{"host.sleep": sleep})
    # A 0.3 s (at least) wait inside a call whose whole budget is 0.1 s: the wait is not charged.
    await pool.load("napper", NAPPER, host=host, budget=Budget(timeout=0.1))
    # Same worker or not, other plugins keep being served while the napper waits.
    await pool.load("other1", NAPPER, host=host)
    await pool.load("other2", NAPPER, host=host)
    served = []
    ticks = Ticks()
    with trio.fail_after(HANG):  # a hang guard, not a speed requirement
        async with trio.open_nursery() as n:
            n.start_soon(ticks.run)
            t0 = trio.current_time()
            result = {}

            async def napper():
                result["r"] = await pool.call("napper", "nap", 0.3)
                result["t"] = trio.current_time() - t0

            n.start_soon(napper)
            await trio.sleep(0.02)
            while "r" not in result:
                for p in ("other1", "other2"):
                    served.append((await pool.call(p, "quick", 1)).value)
                if len(served) >= 20 and ticks.count >= 20:
                    enough.set()
                await trio.sleep(0)
            n.cancel_scope.cancel()
    assert result["r"].values == [{"slept": 0.3}]  # no timeout: the wait was not charged
    assert result["t"] >= 0.3
    assert len(served) >= 20 and set(served) == {2}
    assert ticks.count >= 20  # the event loop ran throughout


LOOPER = """
function spin() local now = host.now for i = 1, 1e9 do now() end end
function spin_all(a) local now = host.now for i = 1, 1e9 do now() end end
function on_alert(a) return nil end
"""


async def test_a_loop_of_host_calls_ends_on_its_time_budget_not_on_the_hard_deadline(pool):
    # The round trips cost the engine about 90 us each, which the script's clock never saw: a
    # loop of cheap host calls ran on until the worker's hard deadline killed it (and the
    # plugins beside it lost their state), in a fold without end. Each host call is charged.
    async def now() -> float:
        return 1.0

    budget = Budget(instructions=50_000_000, timeout=0.1)
    await pool.load("looper", LOOPER, host={"host.now": now}, budget=budget)
    await pool.load("neighbour", NAPPER, host=await _host())
    with pytest.raises(TimeLimitError, match=r"time budget exceeded \(0.1 s; each host call counts 0.0001 s\)"):
        await pool.call("looper", "spin")
    folded = await pool.fold(["looper"], "spin_all", {})
    assert isinstance(folded.error, TimeLimitError) and "each host call counts" in str(folded.error)
    assert pool.restarts == 0 and pool.lost("looper") is None
    assert (await pool.call("neighbour", "quick", 1)).value == 2


async def test_a_call_that_made_host_calls_says_so_whichever_check_finds_its_time_spent(pool):
    # The time budget is looked at by the instruction hook and at each host call; which sees it
    # spent first was the machine's speed, and so was the message (a check of it failed on a busy
    # machine). A call that made a host call says their share either way: here the hook sees it.
    async def now() -> float:
        return 1.0

    await pool.load("late", "function f() host.now() while true do end end", host={"host.now": now},
                    budget=Budget(instructions=50_000_000_000, timeout=0.05))
    with pytest.raises(TimeLimitError, match=r"time budget exceeded \(0.05 s; each host call counts 0.0001 s\)"):
        await pool.call("late", "f")


async def test_host_errors_reach_the_script_without_secrets(pool):
    await pool.load("p", NAPPER, host=await _host())
    assert (await pool.call("p", "failing")).values == [False, "host.fail: order refused: market closed"]
    with pytest.raises(ScriptError) as e:
        await pool.call("p", "secret")
    assert "hunter2" not in str(e.value) and "internal error" in str(e.value)


async def test_host_namespaces_exist_only_when_handed_in(pool):
    await pool.load("p", "function f() return host, type(log) end", host={"log.info": None})
    assert (await pool.call("p", "f")).values == [None, "table"]


async def test_host_functions_work_from_the_scripts_own_coroutines(pool):
    host = await _host()
    src = """
    function f()
      local co = coroutine.wrap(function(x)
        local inner = coroutine.create(function() return host.sleep(0.01) end)
        local ok, v = coroutine.resume(inner)
        coroutine.yield(v.slept + x)
        return "done"
      end)
      return co(1), co()
    end
    """
    await pool.load("p", src, host=host)
    assert (await pool.call("p", "f")).values == [1.01, "done"]


async def _given_up_in_host_call(waiting: trio.Event, call, *args) -> None:
    """Runs ``call(*args)`` and gives it up once ``waiting`` says it waits on its host function: a fixed
    wait gave it up before it got there on a loaded machine."""
    with trio.fail_after(HANG):
        async with trio.open_nursery() as n:
            n.start_soon(call, *args)
            await waiting.wait()
            n.cancel_scope.cancel()


async def test_cancelled_caller_leaves_the_pool_consistent(pool):
    waiting = trio.Event()

    async def nap(seconds):
        waiting.set()
        await trio.sleep(seconds)

    await pool.load("p", NAPPER, host={"host.sleep": nap})
    await _given_up_in_host_call(waiting, pool.call, "p", "nap", 1.0)
    assert (await pool.call("p", "quick", 41)).value == 42


async def test_a_runner_abandoned_in_a_host_call_cannot_be_resumed_by_the_script():
    """A call whose caller gave up while it waited on a host function leaves the coroutine it
    ran in suspended. The script may have kept it (coroutine.running()); resuming it would run
    the old call's code and hand the script the driver's private end-of-call marker. Only
    coroutines the script created can be resumed."""
    waiting = trio.Event()

    async def forever():
        waiting.set()
        await trio.sleep_forever()

    async with open_pool(workers=1, spares=1) as pool:
        src = """
        function stuck() kept = coroutine.running(); host.wait() end
        function later()
          local ok, a, b = coroutine.resume(kept, "ok", "")  -- as if the host had answered
          return {ok, tostring(a), type(b)}
        end
        """
        await pool.load("p", src, host={"host.wait": forever})
        await _given_up_in_host_call(waiting, pool.call, "p", "stuck")
        assert (await pool.call("p", "later")).value == [
            False, "cannot resume a coroutine the script did not create", "nil"]
        assert pool.restarts == 0
