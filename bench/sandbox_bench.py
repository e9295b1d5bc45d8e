"""Sandbox figures (issue 2): load, hook round trip, host call, memory, hung-worker replacement."""

from __future__ import annotations

import os
import signal
import time

import trio

from sandbox import Budget, TimeLimitError, open_pool
from sandbox.runtime import LuaSandbox

from .stats import pick, summary

# A realistic 50-line strategy.
STRATEGY = """
plugin = { name = "bench", symbols = "*", priority = 100, params = { max_spread = 3, risk = 1 } }
local seen = 0
local function pips(a, b, point) return math.abs(a - b) / (point * 10) end

function on_alert(alert)
  seen = seen + 1
  if alert.action ~= "buy" and alert.action ~= "sell" then return nil end
  if not alert.sl then return false, "no stop loss" end
  local distance = pips(alert.price, alert.sl, 0.00001)
  if distance < 5 then return false, "stop too close" end
  local volume = math.floor((alert.risk or 1) * 10 / distance * 100) / 100
  return { volume = volume, comment = string.format("bench %d", seen) }
end

function on_order(order)
  if order.volume and order.volume > 50 then return false, "too big" end
  return nil
end

function with_host(alert)
  local price = market.price(alert.symbol)
  return { spread = price.ask - price.bid }
end

function hang()
  host.freeze()  -- stops this worker from outside, as a wedged C call would (no script can)
  while true do end
end

function ping() return 1 end
""" + "\n".join(f"-- padding line {i}" for i in range(20))

ALERT = {"symbol": "EURUSD", "action": "buy", "price": 1.0850, "sl": 1.0800, "tp": 1.0950,
         "risk": 1.0, "id": "bench-1", "comment": "tv"}


async def _price(symbol: str) -> dict:
    return {"bid": 1.0849, "ask": 1.0851, "time": 0}


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def bench_inprocess_load(n: int = 200, runs: int = 5) -> dict:
    """Runtime creation + prelude + compiling and running a 50-line strategy, in one process."""
    out = []
    for _ in range(runs):
        times = []
        for _ in range(n):
            t = time.perf_counter()
            sb = LuaSandbox(Budget(), ("market.price",), 1)
            sb.load(STRATEGY, "bench.lua")
            times.append(time.perf_counter() - t)
        out.append(times)
    return summary(out, 1e3)


async def bench_pool(plugins: int = 200, calls: int = 3000, runs: int = 5) -> dict:
    results: dict = {}
    async with open_pool(workers=2, spares=1) as pool:
        host = {"market.price": _price}
        # load per plugin, through the pool (send source, compile, set up, answer)
        load_runs = []
        for r in range(runs):
            times = []
            for i in range(plugins):
                t = time.perf_counter()
                await pool.load(f"p{r}_{i}", STRATEGY, budget=Budget(), host=host)
                times.append(time.perf_counter() - t)
            load_runs.append(times)
        results["load_ms"] = summary(load_runs, 1e3)

        # memory per loaded plugin: worker RSS before and after loading the next batch
        before = sum(_rss(pid) for pid in pool.worker_pids())
        for i in range(plugins):
            await pool.load(f"m{i}", STRATEGY, host=host)
        after = sum(_rss(pid) for pid in pool.worker_pids())
        results["memory_per_plugin_kb"] = round((after - before) / plugins / 1024, 1)
        results["lua_heap_per_plugin_kb"] = round(pool.memory("m0") / 1024, 1)

        # the floor: one request to the worker and back, no Lua (same run, same machine)
        worker = pool._slots[0]
        ping_runs = []
        for _ in range(runs):
            times = []
            for i in range(calls):
                t = time.perf_counter()
                await worker.exchange(["ping", -i], 5.0)
                times.append(time.perf_counter() - t)
            ping_runs.append(times)
        results["ipc_floor_us"] = summary(ping_runs, 1e6)

        for label, fn in (("hook_us", "on_alert"), ("hook_with_host_call_us", "with_host")):
            call_runs = []
            for _ in range(runs):
                times = []
                for _ in range(calls):
                    t = time.perf_counter()
                    await pool.call("m0", fn, ALERT)
                    times.append(time.perf_counter() - t)
                call_runs.append(times)
            results[label] = summary(call_runs, 1e6)
    return results


async def bench_replacement(runs: int = 5, neighbours: int = 20) -> dict:
    """From the hung call's hard deadline to the first answer from a plugin that shared its
    worker (the successor has started and loaded every plugin again). The worker is hung from
    outside (SIGSTOP from a host function): every budget is enforced inside Lua, so no script
    can hang it."""
    after_deadline = []
    async with open_pool(workers=1, spares=1) as pool:
        budget = Budget(instructions=10**13, timeout=0.1)
        async def freeze():
            os.kill(pool.worker_pids()[0], signal.SIGSTOP)
        await pool.load("hang", STRATEGY, budget=budget, host={"host.freeze": freeze})
        for i in range(neighbours):
            await pool.load(f"n{i}", STRATEGY)
        for _ in range(runs):
            t0 = time.perf_counter()
            try:
                await pool.call("hang", "hang")
            except TimeLimitError:
                pass
            await pool.call(f"n{neighbours - 1}", "ping")
            after_deadline.append(time.perf_counter() - t0 - budget.deadline)
            await trio.sleep(0.3)  # let the next spare start
    return {"replace_ms": summary([[x] for x in after_deadline], 1e3), "plugins_reloaded": neighbours + 1}


# A hook walking a table of n string keys: with pairs (the sandbox's defined order, sandbox/walk.lua)
# and with `next` (Lua's own order: what pairs did before).
WALKS = """
tables = {}
for _, n in ipairs({10, 1000}) do
  local t = {}
  for i = 1, n do t["key" .. i] = i end
  tables[n] = t
end
function with_pairs(n) local s = 0 for _, v in pairs(tables[n]) do s = s + v end return s end
function with_next(n) local s = 0 for _, v in next, tables[n] do s = s + v end return s end
"""


def bench_pairs(calls: int = 2000, runs: int = 5) -> dict:
    """A hook call walking a 10-key and a 1,000-key table, in process: pairs and next runs alternated."""
    sb = LuaSandbox(Budget(), (), 1)
    sb.load(WALKS, "walks.lua")
    out: dict = {}
    for n in (10, 1000):
        total = ("ok", None, "v", n * (n + 1) // 2)
        assert sb.call("with_pairs", "v", (n,)) == sb.call("with_next", "v", (n,)) == total
        times: dict = {"with_pairs": [], "with_next": []}
        for _ in range(runs):
            for fn in times:
                run = []
                for _ in range(calls):
                    t = time.perf_counter()
                    sb.call(fn, "v", (n,))
                    run.append(time.perf_counter() - t)
                times[fn].append(run)
        out[f"pairs_{n}_us"] = summary(times["with_pairs"], 1e6)
        out[f"next_{n}_us"] = summary(times["with_next"], 1e6)
    return out


async def run_all(size: str = "full") -> dict:
    n, calls, runs = pick(size, (200, 3000, 5), (50, 500, 3), (10, 50, 1))
    return {
        "machine": {"cores": os.cpu_count()},
        "load_inprocess_ms": bench_inprocess_load(n, runs),
        **bench_pairs(pick(size, 2000, 500, 20), runs),
        **await bench_pool(n, calls, runs),
        **await bench_replacement(runs, pick(size, 20, 20, 3)),
    }
