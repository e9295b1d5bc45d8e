"""Runs the benchmarks and prints each figure beside the old plugin system's and the target.

``python -m bench`` prints the table; ``--json`` one JSON object of every figure; ``--write``
also writes BENCHMARKS.md and its plot. ``--quick`` is a smoke run of a few minutes,
``--tiny`` every row once in seconds (what the test suite runs)."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import trio

from . import (burst_bench, dashboard_bench, engine_bench, floor_bench, reload_bench, replay_bench, sandbox_bench,
               scaling_bench, shadow_bench, stages_bench, telegram_bench, webhook_bench)
from .report import ROWS, machine, plot, table

ROOT = Path(__file__).resolve().parent.parent
COMMAND = "make bench (python -m bench --write)"


def measure(size: str) -> dict:
    results = trio.run(sandbox_bench.run_all, size)
    results.update(trio.run(engine_bench.run_all, size))
    results.update(trio.run(reload_bench.run_all, size))
    results.update(trio.run(telegram_bench.run_all, size))
    results.update(webhook_bench.run_all(size))
    results.update(scaling_bench.run_all(size))
    results.update(stages_bench.run_all(size))
    results.update(floor_bench.run_all(size))
    results.update(burst_bench.run_all(size))
    results.update(dashboard_bench.run_all(size))
    results.update(replay_bench.run_all(size))
    results.update(shadow_bench.run_all(size))
    return results


def write(results: dict, root: Path = ROOT) -> None:
    plot(results, root / "benchmarks.png")
    notes = (root / "bench" / "NOTES.md").read_text() if (root / "bench" / "NOTES.md").exists() else ""
    (root / "BENCHMARKS.md").write_text(
        f"# Benchmarks\n\nLast measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {machine()}, "
        f"with `{COMMAND}`. The old plugin system's figures are from its own study.\n\n"
        f"{table(results)}\n\n![latency and memory against plugin count](benchmarks.png)\n\n{notes}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench")
    p.add_argument("--json", action="store_true", help="print one JSON object of every figure")
    p.add_argument("--quick", action="store_true", help="fewer repetitions (a smoke run)")
    p.add_argument("--tiny", action="store_true", help="every row once, with tiny counts (the test suite's run)")
    p.add_argument("--write", action="store_true", help="also write BENCHMARKS.md and benchmarks.png")
    a = p.parse_args(argv)
    results = measure("tiny" if a.tiny else "quick" if a.quick else "full")
    missing = [key for key, *_ in ROWS if key not in results]
    if missing:
        raise SystemExit(f"bench: no figure for {', '.join(missing)}")
    print(json.dumps(results) if a.json else table(results))
    if a.write:
        write(results)
    return 0
