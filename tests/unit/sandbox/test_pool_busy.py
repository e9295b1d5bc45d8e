"""The pool on a busy machine: a worker within its budgets is never killed for the machine's
load. The budgets are CPU time, enforced inside Lua; the hard deadline, wall time, is the last
line, extended while the worker is starved of CPU, and never past an answer that is there.

The load here is made on purpose (spinning processes pinned to the worker's CPU, the worker
niced below them or outnumbered), so these tests see the busy machine every time, not by chance. They assert
how a call ended and what the pool did, never how long it took."""

import os
import select

import pytest
import trio

from sandbox import Budget, TimeLimitError, open_pool
from sandbox import protocol
from sandbox.process import DeadlineExceeded, WorkerProcess

from support.busy import spinners, starved_looks

LINUX = pytest.mark.skipif(not hasattr(os, "sched_setaffinity") or not os.path.exists("/proc/self/stat"),
                           reason="pins processes to one CPU and reads /proc (Linux)")
SPIN = "function f() while true do end end"


@LINUX
async def test_a_worker_starved_of_cpu_is_not_killed_while_within_its_cpu_budget(monkeypatch):
    """On a busy machine a call within its CPU budget can take many times its deadline in wall
    time. The pool waits while the worker is runnable and under its deadline in CPU time,
    however long that takes, so the call ends inside Lua with its own time budget and the
    worker (and its other plugins) is not replaced. A worker that does not run (stopped,
    wedged) is still killed at the deadline: see test_pool_supervision.py.

    Made starved for sure: niced to 10 and pinned beside eight spinners at 0, the worker gets
    about 1.3% of its CPU; the spinners stop once the pool has waited five deadlines and a
    second for it (a wall-clock cap of four and a second killed it, 1.4 s here, before it had
    spent its 0.03 CPU seconds), and it then spends its budget."""
    budget = Budget(instructions=10**13, timeout=0.03)
    waited = trio.Event()

    def then(more):
        if not more or sum(granted) > 5 * budget.deadline + 1.0:
            waited.set()

    granted = starved_looks(monkeypatch, then)
    cpu = min(os.sched_getaffinity(0))
    ended = []

    async def call(pool):
        try:
            await pool.call("spin", "f")
        except TimeLimitError as e:
            ended.append(str(e))
        waited.set()

    async with open_pool(workers=1, spares=0, nice=10) as pool:
        await pool.load("spin", SPIN, budget=budget)
        os.sched_setaffinity(pool.worker_pids()[0], {cpu})
        async with trio.open_nursery() as n:
            with spinners(cpu, 8):
                n.start_soon(call, pool)
                await waited.wait()
        assert len(ended) == 1 and ended[0].startswith("time budget exceeded"), ended
        assert pool.restarts == 0
        # Its deadline passed and the pool waited on. The last look may find it no longer
        # runnable: it has just answered, and the answer is read (the test below).
        assert granted and granted[0] and all(granted[:-1]), granted


async def test_an_answer_there_as_the_deadline_runs_out_is_read_and_the_worker_not_killed():
    """The worker may answer just as its deadline runs out: while the pool looks at whether it
    is starved, it has answered and sleeps in recv, no longer runnable. The answer is taken:
    the call ended inside Lua, within its budgets. Here the look at the worker waits for the
    answer to be there, then says "no more time" (the order a busy machine can make)."""
    w = await WorkerProcess.spawn()
    try:
        budget = Budget(instructions=10**13, timeout=0.05)
        load = protocol.load(1, "spin", SPIN, "spin.lua", budget.instructions, budget.timeout, budget.memory, [], 0)
        assert (await w.exchange(load, timeout=30))[protocol.OP] == protocol.OK

        def answered_meanwhile():
            select.select([w._raw], [], [])
            return None

        try:
            reply = await w.exchange(protocol.call(2, "spin", "f", "", []), timeout=0.001, extend=answered_meanwhile)
        except DeadlineExceeded:
            pytest.fail("the pool gave up on a worker whose answer was there")
        failed = protocol.Err(*reply)
        assert (failed.kind, failed.message) == ("timeout", "time budget exceeded (0.05 s)")
        assert not w.dead
    finally:
        await w.aclose()
