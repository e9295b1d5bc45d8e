"""Engine figures (issue 3): from ``engine.submit`` to the broker call, with 10 plugins that
each run on_alert and on_order, and with 1,000 loaded of which 10 concern the symbol; the
resident memory of the whole engine (its process and its sandbox workers) in each case."""

from __future__ import annotations

import os
import sqlite3
import tempfile
from pathlib import Path
from time import perf_counter
from typing import Any

import trio

from engine.domain.alerts import parse_body
from engine.domain.config import EngineConfig
from engine.domain.config.paper import PaperConfig
from engine.app import open_engine
from engine.interfaces.telegram import TelegramHub

from .stats import pick, summary

PLUGIN = """
plugin = {{symbols = {symbols}, priority = {priority}, params = {{max_volume = 5}}}}
local seen = 0
function on_alert(a)
  seen = seen + 1
  if a.side and not a.sl then return false, "no stop" end
  return nil
end
function on_order(o)
  if o.volume and o.volume > params.max_volume then return false, "too big" end
end
"""


GAP = 0.005


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _children(parent: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry))
    return found


# The benches open thousands of positions and close none: an account whose margin never runs
# out, so that every run measures fills, not "not enough money" refusals.
BENCH_PAPER = PaperConfig(balance=1_000_000_000.0)


def alert_body(n: int, tag: str) -> str:
    """The benchmarks' alert number ``n``: buys and sells in turn, each with its stop, so the
    whole path runs (plugins, on_order, the paper fill); ``tag`` keeps ids unique per bench."""
    side = "buy" if n % 2 else "sell"
    return f"{side} EURUSD volume=0.01 price=1.1 sl={'1.09' if side == 'buy' else '1.11'} id={tag}{n}"


def _write_plugins(folder: Path, total: int, concerned: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(total):
        symbols = '{"EURUSD"}' if i < concerned else f'{{"SYM{i}"}}'
        (folder / f"p{i:04d}.lua").write_text(PLUGIN.format(symbols=symbols, priority=i))


async def bench_submit_to_broker(total: int, concerned: int = 10, alerts: int = 300, runs: int = 5,
                                 **settings: Any) -> dict:
    """Latency from submit to the broker's execute being entered, and the engine's RSS;
    ``settings`` go to the EngineConfig (``telegram=``, say)."""
    with tempfile.TemporaryDirectory() as tmp:
        scripts = Path(tmp) / "scripts"
        _write_plugins(scripts, total, concerned)
        config = EngineConfig(scripts=scripts, data=Path(tmp) / "data", dedup_window=0,
                              **{"paper": BENCH_PAPER, **settings})
        t0 = perf_counter()
        hub = TelegramHub(config.telegram) if config.telegram.enabled else None  # as `moonhook run` starts it
        async with open_engine(config, services=[hub] if hub else []) as engine:
            load_s = perf_counter() - t0
            stamps: list[float] = []
            execute = engine.broker.execute

            async def timed(request):
                stamps.append(perf_counter())
                return await execute(request)
            engine.broker.execute = timed  # the broker call, as the pipeline makes it

            series, durable = [], []
            n = 0
            for _ in range(runs):
                latencies, acknowledged = [], []
                for _ in range(alerts):
                    n += 1
                    alert = parse_body(alert_body(n, "b"))
                    stamps.clear()
                    start = perf_counter()
                    await engine.submit(alert)
                    acknowledged.append(perf_counter() - start)  # durable: the commit's fsync done
                    await engine.drain()
                    latencies.append(stamps[0] - start)
                    # Alerts apart, as TradingView sends them: the last one's notifications
                    # and bookkeeping are done before the next arrives.
                    await trio.sleep(GAP)
                series.append(latencies)
                durable.append(acknowledged)
            pids = [os.getpid(), *_children(os.getpid())]  # the workers and the warm spare
            rss_mb = sum(_rss_kb(p) for p in pids) / 1024
            plugins = len(engine.plugins)
    assert plugins == total, f"only {plugins} of {total} plugins loaded"
    return {"latency_ms": summary(series, scale=1000), "durable_ms": summary(durable, scale=1000),
            "rss_mb": round(rss_mb, 1), "load_ms_per_plugin": round(load_s * 1000 / total, 3), "processes": len(pids)}


async def bench_commit_floor(commits: int = 300, runs: int = 5) -> dict:
    """The disk's floor under every alert: one row inserted and committed with WAL and
    synchronous=FULL (what the journal requires before an alert is acted on), on the loop's
    own thread and through a thread as the journal writer does, alerts apart."""
    inline, threaded = [], []
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "floor.db", isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body TEXT)")
        for _ in range(runs):
            a, b = [], []
            for _ in range(commits):
                for times, commit in ((a, db.execute), (b, None)):
                    start = perf_counter()
                    db.execute("BEGIN")
                    db.execute("INSERT INTO t (body) VALUES (?)", ["x" * 300])
                    if commit is None:
                        await trio.to_thread.run_sync(db.execute, "COMMIT")
                    else:
                        commit("COMMIT")
                    times.append(perf_counter() - start)
                    await trio.sleep(GAP)
            inline.append(a)
            threaded.append(b)
        db.close()
    return {"inline_ms": summary(inline, scale=1000), "thread_ms": summary(threaded, scale=1000)}


async def run_all(size: str = "full") -> dict:
    alerts, runs, many = pick(size, (300, 5, 1000), (20, 2, 10), (5, 1, 20))
    floor = await bench_commit_floor(alerts, runs)
    ten = await bench_submit_to_broker(10, alerts=alerts, runs=runs)
    thousand = await bench_submit_to_broker(many, alerts=alerts, runs=runs)
    return {
        "submit_to_broker_10_ms": ten["latency_ms"],
        "submit_durable_10_ms": ten["durable_ms"],
        "commit_floor_ms": floor["inline_ms"],
        "commit_floor_thread_ms": floor["thread_ms"],
        "submit_to_broker_1000_ms": thousand["latency_ms"],
        "submit_1000_over_10": round(thousand["latency_ms"]["median"] / ten["latency_ms"]["median"], 2),
        "engine_rss_10_mb": ten["rss_mb"],
        "engine_rss_1000_mb": thousand["rss_mb"],
        "engine_start_ms_per_plugin_1000": thousand["load_ms_per_plugin"],
    }
