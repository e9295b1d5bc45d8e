"""The sandbox in this process (replay's): the same answers as the pool's workers, the same
budgets enforced inside Lua, the host's clock in os.time(), and the watchdog's last line."""

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from sandbox import Budget, ForbiddenError, InstructionLimitError, MemoryLimitError, TimeLimitError, open_pool
from sandbox.inline import EXIT_DEADLINE, InlinePool

from support.busy import spinners
from support.waits import HANG

SCRIPT = """
seen = 0
function on_alert(a)
  seen = seen + 1
  if a.n == 3 then return {n = 30, by = "%(name)s"} end
  if a.n == 4 then return false, "%(name)s says no" end
  if a.n == 5 then error("broken on five") end
  if a.n == 6 then return {n = time.now() + math.random(1000)} end
  return nil
end
function count() return seen end
"""
ROOT = Path(__file__).resolve().parents[3]


async def _answers(pool) -> list:
    async def now():
        return 1000

    for name in ("a", "b"):
        await pool.load(name, SCRIPT % {"name": name}, chunkname=f"{name}.lua", host={"time.now": now}, seed=7)
    out = []
    for n in range(1, 7):
        f = await pool.fold(["a", "b"], "on_alert", {"n": n})
        out.append((len(f.passed), f.stop and f.stop.values, f.error and (f.error.kind, str(f.error), f.error.line)))
    out.append([(await pool.call(name, "count")).value for name in ("a", "b")])
    return out


async def test_the_same_answers_as_the_pools_workers():
    async with open_pool(workers=1, spares=0) as pool:
        pooled = await _answers(pool)
    inline = await _answers(InlinePool())
    assert inline == pooled
    assert inline[2] == (0, [{"n": 30, "by": "a"}], None)
    assert inline[4][2][0] == "script" and inline[4][2][2] == 7  # file:line of the error


async def test_budgets_are_enforced_inside_lua():
    pool = InlinePool()
    await pool.load("spin", "function f() while true do end end", budget=Budget(instructions=100_000))
    with pytest.raises(InstructionLimitError):
        await pool.call("spin", "f")
    await pool.load("slow", "function f() while true do end end", budget=Budget(instructions=10**12, timeout=0.05))
    with pytest.raises(TimeLimitError):
        await pool.call("slow", "f")
    await pool.load("fat", "function f() local t = {} for i = 1, 1e7 do t[i] = i end end",
                    budget=Budget(memory=1024 * 1024))
    with pytest.raises(MemoryLimitError):
        await pool.call("fat", "f")
    await pool.load("escape", "function f() return io.open('/etc/passwd') end")
    with pytest.raises(ForbiddenError):  # the allow-list is the same
        await pool.call("escape", "f")


async def test_os_time_reads_the_hosts_clock_when_given():
    source = "function f() return os.time(), os.date('!%Y-%m-%d %H:%M:%S'), os.time({year=2020, month=1, day=1}) end"
    pool = InlinePool(clock=lambda: 1_700_000_000.9)
    await pool.load("t", source)
    now, date, fixed = (await pool.call("t", "f")).values
    assert (now, date) == (1_700_000_000, "2023-11-14 22:13:20")
    assert fixed != now  # a time given is read as given
    system = InlinePool()
    await system.load("t", source)
    assert (await system.call("t", "f")).values[0] > 1_700_000_000 + 86400 * 365  # the system's clock, not the host's


async def test_seeds_come_from_the_file_name_so_two_folders_draw_the_same():
    draws = []
    for folder in ("live", "next"):
        pool = InlinePool()
        await pool.load(f"{folder}-x#1", "function f() return math.random(1000000000) end", chunkname="x.lua")
        draws.append((await pool.call(f"{folder}-x#1", "f")).value)
    assert draws[0] == draws[1]


def test_the_watchdog_ends_the_process_naming_the_plugin_past_its_deadline():
    # The budgets stop every script inside Lua first, so the watchdog is shown a call that has
    # spent a minute of CPU, as it would see one wedged in C.
    code = textwrap.dedent("""
        import time, trio
        from sandbox.inline import InlinePool
        from sandbox.worker import PROGRESS
        pool = InlinePool()
        trio.run(lambda: pool.load("w", "x = 1", chunkname="wedged.lua"))
        plugin = pool._plugins["w"]
        long_ago = time.process_time() - 60  # CPU seconds: the deadline counts the process's CPU time
        PROGRESS.pack_into(pool._progress, 0, 0, time.monotonic(), long_ago)
        pool._running = ([plugin], long_ago)
        time.sleep(10 * HANG)  # for ever, as far as the test goes: it gives up first
        print("not stopped")
    """).replace("HANG", repr(HANG))
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=HANG)
    assert run.returncode == EXIT_DEADLINE, run
    assert "wedged.lua ran past its hard deadline of 1.55 s" in run.stderr
    assert "not stopped" not in run.stdout


@pytest.mark.skipif(not hasattr(os, "sched_setaffinity"), reason="pins processes to one CPU (Linux)")
def test_a_call_within_its_budget_is_not_stopped_on_a_busy_machine():
    """The watchdog counts the process's CPU time, as the time budget does: on a busy machine a
    call within its budget takes many times its deadline in wall time, and still ends inside
    Lua; the replay goes on. Made busy for sure: the call runs beside ten spinners on its CPU
    (a tenth of it at most: its 0.05 CPU seconds take half a second, the deadline is 0.125 s)."""
    cpu = min(os.sched_getaffinity(0))
    code = textwrap.dedent(f"""
        import os, trio
        from sandbox import Budget, TimeLimitError
        from sandbox.inline import InlinePool

        async def main():
            pool = InlinePool()
            await pool.load("slow", "function f() while true do end end",
                            budget=Budget(instructions=10**12, timeout=0.05))
            os.sched_setaffinity(0, {{{cpu}}})
            try:
                await pool.call("slow", "f")
            except TimeLimitError as e:
                print(e)

        trio.run(main)
    """)
    with spinners(cpu, 10):
        run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=HANG)
    assert run.returncode == 0, run
    assert run.stdout.startswith("time budget exceeded (0.05 s)"), run
