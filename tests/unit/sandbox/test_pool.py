"""The pool: loading, calling, the host-function bridge, and supervision of its workers."""

import os
import signal
import socket
import time

import pytest
import trio

from sandbox import (
    Budget,
    CrashError,
    ForbiddenError,
    HostError,
    ScriptError,
    TimeLimitError,
    open_pool,
)

from support.busy import starved_looks
from support.waits import HANG, until

STRATEGY = """
plugin = {name = "echo", symbols = {"EURUSD"}}
calls = 0
function on_alert(a)
  calls = calls + 1
  return {symbol = a.symbol, calls = calls, doubled = a.volume * 2}
end
function two() return false, "reason" end
function nothing() end
"""


async def test_load_reports_functions_and_call_returns_plain_data(pool):
    reply = await pool.load("echo", STRATEGY)
    assert reply.values == []
    assert pool.functions("echo") == ["nothing", "on_alert", "two"]
    r = await pool.call("echo", "on_alert", {"symbol": "EURUSD", "volume": 0.5})
    assert r.value == {"symbol": "EURUSD", "calls": 1, "doubled": 1.0}
    assert (await pool.call("echo", "on_alert", {"symbol": "X", "volume": 1})).value["calls"] == 2
    assert (await pool.call("echo", "two")).values == [False, "reason"]
    assert (await pool.call("echo", "nothing")).values == []
    assert 0 < pool.memory("echo") < 400_000


async def test_values_cross_unchanged_both_ways(pool):
    await pool.load("id", "function id(...) return ... end")
    value = {"s": "häkchen ✓", "i": 2**62, "f": -1.5, "t": True, "list": [1, "two", [3.0]],
             "nested": {"a": {"b": {"c": []}}}, "int_keys": {1: "x", 5: "y"}}
    r = await pool.call("id", "id", value, "second", 3)
    expected = dict(value, nested={"a": {"b": {"c": {}}}})  # an empty table comes back as {}
    assert r.values == [expected, "second", 3]


async def test_load_failure_leaves_nothing_loaded(pool):
    with pytest.raises(ScriptError) as e:
        await pool.load("bad", "function broken(\n  return 1\nend", chunkname="bad.lua")
    assert e.value.file == "bad.lua" and e.value.line == 2
    assert "bad" not in pool.plugins()
    with pytest.raises(ScriptError) as e:
        await pool.load("bad", "x = 1\nerror('refused at load')", chunkname="bad.lua")
    assert e.value.line == 2 and "refused at load" in str(e.value)
    with pytest.raises(KeyError):
        await pool.call("bad", "anything")


async def test_unload_and_reload_under_the_same_id(pool):
    await pool.load("p", "function v() return 1 end")
    with pytest.raises(ValueError, match="already loaded"):
        await pool.load("p", "function v() return 2 end")
    await pool.unload("p")
    await pool.load("p", "function v() return 2 end")
    assert (await pool.call("p", "v")).value == 2


async def test_print_goes_to_the_log_capped(pool):
    await pool.load("p", "function f() for i = 1, 1000 do print('line', i) end return 1 end")
    r = await pool.call("p", "f")
    lines = r.log.splitlines()
    assert lines[0] == "line\t1"
    assert lines[-1] == "(800 more lines dropped: print and log.* write at most 200 lines, 16384 bytes a call)"
    assert len(lines) == 201


async def test_print_keeps_its_16_kb_a_call_and_a_newline_in_a_line_stays_in_it(pool):
    # The call's log was cut at 2,000 bytes, and the note of the lines dropped with it.
    await pool.load("p", "function f() for i = 1, 20 do print(string.rep('x', 999) .. '\\n') end end")
    lines = (await pool.call("p", "f")).log.split("\n")
    assert lines[:-1] == ["x" * 999 + "\\n"] * 16
    assert lines[-1] == "(4 more lines dropped: print and log.* write at most 200 lines, 16384 bytes a call)"


async def test_budget_error_names_file_and_line(pool):
    await pool.load("spin", "x = 1\nfunction f()\n  while true do end\nend", chunkname="spin.lua",
                    budget=Budget(instructions=100_000))
    with pytest.raises(Exception) as e:
        await pool.call("spin", "f")
    assert e.value.kind == "instructions"
    assert (e.value.file, e.value.line) == ("spin.lua", 3)


class Ticks:
    """Counts 10 ms sleeps: proof that the event loop kept running."""

    def __init__(self) -> None:
        self.count = 0

    async def run(self) -> None:
        while True:
            await trio.sleep(0.01)
            self.count += 1


# -- the host-function bridge ------------------------------------------------------------------

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


# -- supervision -------------------------------------------------------------------------------

# No script can wedge its worker any more (every budget is enforced inside Lua: see
# tests/attacks/), so the worker is wedged from outside: a host function stops it (SIGSTOP)
# while the call runs, and it never answers.
FREEZER = """
function hang()
  host.freeze()
  while true do end
end
function ok() return "fine" end
state = 0
function bump() state = state + 1 return state end
"""


def freezer(pool, frozen: trio.Event | None = None):
    """host.freeze: stops the pool's (single) worker process, as a wedged C call would; sets
    ``frozen`` once it is stopped."""
    async def freeze():
        os.kill(pool.worker_pids()[0], signal.SIGSTOP)
        if frozen is not None:
            frozen.set()
    return {"host.freeze": freeze}


async def test_hung_worker_is_killed_replaced_and_its_neighbours_reloaded(monkeypatch):
    looks = starved_looks(monkeypatch)
    async with open_pool(workers=1, spares=1) as pool:
        budget = Budget(instructions=10**13, timeout=0.2)
        await pool.load("hang", FREEZER, budget=budget, host=freezer(pool))
        await pool.load("neighbour", FREEZER)
        assert (await pool.call("neighbour", "bump")).value == 1
        old = pool.worker_pids()
        ticks = Ticks()
        t0 = time.monotonic()
        async with trio.open_nursery() as n:
            n.start_soon(ticks.run)
            with pytest.raises(TimeLimitError) as e:
                await pool.call("hang", "hang")
            n.cancel_scope.cancel()
        elapsed = time.monotonic() - t0
        assert ticks.count >= 1  # the event loop ran while the worker was wedged
        assert e.value.kind == "timeout" and "hard deadline" in str(e.value)
        assert budget.deadline <= elapsed
        assert looks == [None]  # killed at its deadline: a stopped worker is not given more time
        # The neighbour, hosted in the same worker, is served again (its chunk re-ran).
        assert (await pool.call("neighbour", "ok")).value == "fine"
        assert (await pool.call("neighbour", "bump")).value == 1
        # The plugin that killed it is not loaded again (see test_pool_lost.py).
        with pytest.raises(CrashError, match="got its sandbox worker killed"):
            await pool.call("hang", "ok")
        assert pool.worker_pids() != old and pool.restarts == 1


async def test_worker_death_is_a_crash_and_the_pool_recovers():
    async with open_pool(workers=1, spares=1) as pool:
        async def kill_my_worker():
            os.kill(pool.worker_pids()[0], signal.SIGKILL)
            await trio.sleep(0.5)
            return 1

        await pool.load("p", "function f() return host.kill() end\nfunction g() return 7 end",
                        host={"host.kill": kill_my_worker})
        with pytest.raises(CrashError) as e:
            await pool.call("p", "f")
        assert e.value.kind == "crash"
        assert (await pool.call("p", "g")).value == 7
        assert pool.restarts == 1


async def test_a_stop_signal_to_the_whole_group_leaves_the_call_in_flight_to_finish():
    # Ctrl-C reaches every process of the terminal's group, systemd's stop every process of the
    # unit: the engine finishes its alerts in flight, so the worker must outlive the signal.
    async with open_pool(workers=1, spares=1) as pool:
        pid = pool.worker_pids()[0]

        async def stop_everyone():
            for signum in (signal.SIGINT, signal.SIGTERM):
                os.kill(pid, signum)  # while the call waits on this host function
            return 1

        await pool.load("p", "function f() return host.stop() + 6 end", host={"host.stop": stop_everyone})
        assert (await pool.call("p", "f")).value == 7
        assert pool.worker_pids()[0] == pid and pool.restarts == 0


async def test_calls_queued_behind_a_hung_call_run_after_the_replacement():
    async with open_pool(workers=1, spares=1) as pool:
        frozen = trio.Event()
        await pool.load("hang", FREEZER, budget=Budget(instructions=10**13, timeout=0.1), host=freezer(pool, frozen))
        await pool.load("other", FREEZER)
        wedged = pool._slots[0]
        results = []

        async def hang():
            with pytest.raises(TimeLimitError):
                await pool.call("hang", "hang")

        async def other():
            # Queued while the worker is wedged, behind the hung call's answer to host.freeze: a fixed
            # 20 ms was not always after it, and the call sent first was the one blamed and lost.
            await frozen.wait()
            await until(lambda: wedged.cpu.locked() or pool.restarts)
            results.append((await pool.call("other", "ok")).value)
            results.append(pool.restarts)

        async with trio.open_nursery() as n:
            n.start_soon(hang)
            n.start_soon(other)
        assert results == ["fine", 1]  # served by the replacement


async def test_forbidden_is_reported_and_the_pool_serves_on(pool):
    await pool.load("p", "function f() pcall(function() return os.execute end) return 1 end\n"
                         "function g() return 2 end")
    with pytest.raises(ForbiddenError):
        await pool.call("p", "f")
    assert (await pool.call("p", "g")).value == 2


async def test_calls_to_one_plugin_run_in_order(pool):
    await pool.load("seq", "log = {}\nfunction add(x) log[#log + 1] = x return #log end\n"
                           "function all() return log end")
    async with trio.open_nursery() as n:
        for i in range(50):
            n.start_soon(pool.call, "seq", "add", i)
            await trio.sleep(0)
    assert (await pool.call("seq", "all")).value == list(range(50))


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


async def test_a_worker_that_dies_while_idle_is_replaced():
    async with open_pool(workers=1, spares=1) as pool:
        await pool.load("p", "n = 0\nfunction f() n = n + 1 return n end")
        assert (await pool.call("p", "f")).value == 1
        pid = pool.worker_pids()[0]
        os.kill(pid, signal.SIGKILL)
        with trio.fail_after(HANG):
            while _alive(pid):
                await trio.sleep(0.001)
        # Called at once, whether or not the death was noticed yet: the request never reached
        # the dead worker, so it goes to the successor instead of failing.
        assert (await pool.call("p", "f")).value == 1  # loaded again: fresh state
        assert pool.restarts == 1


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except FileNotFoundError:
        return False


async def test_globals_read_and_set_survive_a_worker_restart(pool):
    await pool.load("g", "plugin = {name = 'g', symbols = {'EURUSD'}}\n"
                         "function get() return params.risk end")
    assert await pool.get_global("g", "plugin") == {"name": "g", "symbols": ["EURUSD"]}
    assert await pool.get_global("g", "nothing") is None
    await pool.set_global("g", "params", {"risk": 2})
    assert (await pool.call("g", "get")).value == 2
    with pytest.raises(ScriptError, match="cannot replace the global"):
        await pool.set_global("g", "string", {})
    os.kill(pool.worker_pids()[pool._plugins["g"].slot], signal.SIGKILL)
    with trio.fail_after(HANG):
        while True:
            try:
                assert (await pool.call("g", "get")).value == 2
                break
            except CrashError:
                await trio.sleep(0.01)


async def test_a_global_that_cannot_cross_is_an_error(pool):
    await pool.load("f", "plugin = {hook = function() end}")
    with pytest.raises(ScriptError):
        await pool.get_global("f", "plugin")


class _CountingSocket(socket.socket):
    """A socket that counts its reads, and the reads that found nothing (a poll)."""

    reads = polls = 0

    def recv(self, *args):
        self.reads += 1
        try:
            return super().recv(*args)
        except BlockingIOError:
            self.polls += 1
            raise


def test_an_idle_worker_sleeps_in_recv_and_never_polls():
    """Between requests the worker blocks in recv: each read returns a request (or the EOF
    that ends it), none finds the socket empty. Requests come 10 ms apart, so a worker that
    polled after its answers would be caught reading an empty socket."""
    import threading

    import msgpack

    from sandbox.worker import serve

    ours, theirs = socket.socketpair()
    counting = _CountingSocket(fileno=theirs.detach())
    server = threading.Thread(target=serve, args=(counting,), daemon=True)
    server.start()
    unpacker = msgpack.Unpacker(raw=False)
    try:
        for rid in range(1, 6):
            time.sleep(0.01)
            ours.sendall(msgpack.packb(["ping", rid]))
            reply = None
            while reply is None:
                unpacker.feed(ours.recv(1 << 16))
                reply = next(unpacker, None)
            assert reply[:2] == ["ok", rid]
    finally:
        ours.close()
    server.join(10)
    assert not server.is_alive()
    assert (counting.reads, counting.polls) == (6, 0)


async def test_the_engine_sleeps_on_the_socket_while_its_worker_runs():
    """``exchange`` reads the socket once after sending, then sleeps on it until the answer
    comes: it does not poll. The "worker" here is this test, answering 20 ms later."""
    import mmap

    import msgpack

    from sandbox.process import WorkerProcess
    from sandbox.worker import PROGRESS

    ours, theirs = socket.socketpair()
    counting = _CountingSocket(fileno=ours.detach())
    counting.setblocking(False)
    w = WorkerProcess(None, counting, mmap.mmap(-1, PROGRESS.size))
    theirs.setblocking(False)
    unpacker = msgpack.Unpacker(raw=False)

    async def answer() -> None:
        await trio.lowlevel.wait_readable(theirs)
        unpacker.feed(theirs.recv(1 << 16))
        request = next(unpacker)
        await trio.sleep(0.02)
        theirs.send(msgpack.packb(["ok", request[1], None, "", [], 0]))

    reads = []
    try:
        for rid in range(1, 4):
            before = counting.reads
            async with trio.open_nursery() as nursery:
                nursery.start_soon(answer)
                reply = await w.exchange(["ping", rid], timeout=30)
            assert reply[:2] == ["ok", rid]
            reads.append(counting.reads - before)
    finally:
        counting.close()
        theirs.close()
    assert reads == [2, 2, 2]  # one that found nothing, one once the answer came


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


# Integer keys that all fall on one slot of a table's hash part (multiples of its size less one):
# each insertion walks the chain, and the resize into that size walks it for every key again,
# all inside one instruction, past every hook: seconds of C work in one SETTABLE.
COLLIDING = """
function fill() local t = {} for i = 1, 100000 do t[i * 131071] = true end return 1 end
"""


async def test_keys_colliding_in_a_tables_hash_part_are_ended_by_the_hard_deadline(pool):
    # A known gap (docs/security.md): the hook cannot interrupt the resize, so the hard deadline
    # is what ends it; the plugin is then not served (the engine switches it off until its file is
    # saved again), and its neighbours are served by the replaced worker.
    await pool.load("colliding", COLLIDING, budget=Budget(timeout=0.1))
    await pool.load("neighbour", "function quick(x) return x * 2 end")
    with pytest.raises(TimeLimitError, match="hard deadline"):
        await pool.call("colliding", "fill")
    assert pool.lost("colliding") is not None
    assert (await pool.call("neighbour", "quick", 1)).value == 2
