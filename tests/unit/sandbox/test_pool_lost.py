"""A plugin whose request kills its worker is not loaded again: its neighbours are served.

Before, the pool loaded every plugin of a dead worker into its successor, the culprit
included; a chunk that kills its worker when it runs (armed by a value in its own store)
then killed every successor, and its neighbours were never answered again."""

import os
import signal

import pytest
import trio

from sandbox import Budget, CrashError, TimeLimitError, open_pool
from sandbox.process import WorkerProcess

from support.waits import HANG

VICTIM = "n = 0\nfunction tick() n = n + 1 return n end\nfunction check() end\n"

# Its chunk wedges the worker it runs in once armed: as a reload after a restart would.
HOSTILE = """
if host.armed() then host.freeze() while true do end end
function attack() host.arm() host.freeze() while true do end end
function ok() return "fine" end
"""

BUDGET = Budget(instructions=10**13, timeout=0.1)


# Seconds of wall time: only a hung pool comes near it. Workers started with no spare take seconds
# on a busy machine; a guard of 3 deadlines and 2 s failed one loaded run with nothing wrong.


@pytest.fixture
def spawned(monkeypatch):
    """The pids of the workers started, in order: the last one is the newest."""
    pids: list[int] = []
    spawn = WorkerProcess.spawn

    async def recording(nice: int = 0) -> WorkerProcess:
        w = await spawn(nice)
        pids.append(w.pid)
        return w

    monkeypatch.setattr(WorkerProcess, "spawn", staticmethod(recording))
    return pids


def hostile_host(spawned: list[int]) -> dict:
    """host.freeze stops the newest worker (SIGSTOP: a wedged C call); host.arm arms the chunk."""
    armed = [False]

    async def freeze():
        os.kill(spawned[-1], signal.SIGSTOP)

    async def arm():
        armed[0] = True

    async def is_armed():
        return armed[0]

    return {"host.freeze": freeze, "host.arm": arm, "host.armed": is_armed}


async def test_a_plugin_whose_call_kills_its_worker_is_not_loaded_again(spawned):
    async with open_pool(workers=1, spares=0) as pool:
        await pool.load("victim", VICTIM)
        await pool.load("hostile", HOSTILE, budget=BUDGET, host=hostile_host(spawned))
        assert (await pool.call("victim", "tick")).value == 1
        with pytest.raises(TimeLimitError, match="hard deadline"):
            await pool.call("hostile", "attack")
        with trio.fail_after(HANG):
            assert (await pool.call("victim", "tick")).value == 1  # loaded again: fresh state
            assert (await pool.call("victim", "tick")).value == 2
        with pytest.raises(CrashError, match="its request got its sandbox worker killed") as e:
            await pool.call("hostile", "ok")
        assert e.value.file == "hostile.lua"
        assert "got its sandbox worker killed" in pool.lost("hostile") and pool.lost("victim") is None
        folded = await pool.fold(["victim", "hostile"], "check")
        assert isinstance(folded.error, CrashError) and "not loaded" in str(folded.error)
        assert pool.restarts == 1
        await pool.unload("hostile")
        await pool.load("hostile", "function ok() return 'back' end")  # loaded anew, served again
        assert (await pool.call("hostile", "ok")).value == "back"


async def test_a_plugin_whose_reload_kills_the_successor_is_dropped_and_the_others_served(spawned):
    async with open_pool(workers=1, spares=0) as pool:
        host = hostile_host(spawned)
        await pool.load("victim", VICTIM)
        await pool.load("hostile", HOSTILE, budget=BUDGET, host=host)
        await host["host.arm"]()
        os.kill(spawned[-1], signal.SIGKILL)  # nobody's fault: every plugin is loaded again
        with trio.fail_after(HANG):
            while pool.restarts < 2 or pool.lost("hostile") is None:
                await trio.sleep(0.01)
            assert (await pool.call("victim", "tick")).value == 1
        assert "got its sandbox worker killed" in pool.lost("hostile")
        with pytest.raises(CrashError, match="got its sandbox worker killed"):
            await pool.call("hostile", "ok")
        await trio.sleep(BUDGET.deadline)
        assert pool.restarts == 2  # the one it killed, and no more


# Its chunk calls host.strike as it runs: the test's kill from outside lands on the worker loading it then.
STRUCK = "host.strike()\nfunction ok() return 'fine' end\n"


async def test_a_plugin_whose_successor_is_killed_from_outside_as_it_loads_is_loaded_again(spawned):
    """A worker killed from outside (the OOM killer, an admin's kill) while a plugin was loaded
    again into it blamed that plugin: it was dropped for good, the trader's strategy unserved
    until its script was saved again. It is tried once more; the others are served."""
    strikes = [1]   # kills left to make

    async def strike():
        if strikes[0]:
            strikes[0] -= 1
            os.kill(spawned[-1], signal.SIGKILL)

    async with open_pool(workers=1, spares=0) as pool:
        await pool.load("victim", VICTIM)
        strikes[0] = 0
        await pool.load("struck", STRUCK, host={"host.strike": strike})
        strikes[0] = 1
        os.kill(spawned[-1], signal.SIGKILL)  # nobody's fault: every plugin is loaded again
        with trio.fail_after(HANG):
            while pool.restarts < 2 or len(spawned) < 3:
                await trio.sleep(0.01)
            assert (await pool.call("struck", "ok")).value == "fine"
            assert (await pool.call("victim", "tick")).value == 1
        assert pool.lost("struck") is None and strikes == [0] and pool.restarts == 2


async def test_a_plugin_whose_successors_die_each_time_it_loads_is_lost_after_the_second(spawned):
    async def strike():
        os.kill(spawned[-1], signal.SIGKILL)

    armed = [False]

    async def maybe():
        if armed[0]:
            await strike()

    async with open_pool(workers=1, spares=0) as pool:
        await pool.load("victim", VICTIM)
        await pool.load("struck", STRUCK, host={"host.strike": maybe})
        armed[0] = True
        os.kill(spawned[-1], signal.SIGKILL)
        with trio.fail_after(HANG):
            while pool.lost("struck") is None:
                await trio.sleep(0.01)
            assert (await pool.call("victim", "tick")).value == 1
        assert "did not load again after a worker restart" in pool.lost("struck")
        assert pool.restarts == 3   # the first kill, the two successors it was loaded into
