"""Where an alert's CPU goes, stage by stage (issue 20): the CPU per alert of four servers at
a steady 100 alerts/s over HTTP, each taking one stage away from the next, so that their
differences give each stage's cost.

- ``raw``: Hypercorn and a plain ASGI endpoint that reads the body and answers at once (the
  HTTP server's own floor);
- ``paused``: moonhook with 10 plugins, the engine paused: each alert parsed, journaled
  (fsync in a thread) and answered, not processed;
- ``plugins:0:0``: the alerts processed with no plugin loaded (paper broker, ledger, status,
  notification);
- ``plugins:10:10``: 10 plugins, each with on_alert and on_order, concerned with the alert.

Each round runs the four in turn, each on its own server process (``webhook_server.py``):
once it is up and a settling second has passed, the bench's keep-alive client
(``webhook_bench.steady``, in this process, not counted) sends alerts at 100/s; the CPU time
(user + system, psutil) of the server's process and its sandbox workers, from just before the
first alert until 0.4 s after the last answer (the processing's tail), over the alerts sent.
The figures are medians over rounds; a stage is the difference of two medians, so the stages
add up to the total."""

from __future__ import annotations

import statistics
import time

import trio

from .scaling_bench import _cpu, _processes
from .stats import pick
from .webhook_bench import Server, steady

RATE = 100.0
SETTLE = 1.0
TAIL = 0.4
MODES = ("raw", "paused", "plugins:0:0", "plugins:10:10")


def _cpu_per_alert(mode: str, seconds: float) -> tuple[float, int]:
    """CPU ms per alert sent to a fresh ``mode`` server at 100 alerts/s for ``seconds``, and
    how many alerts were sent."""
    server = Server(mode)
    try:
        time.sleep(SETTLE)
        processes = _processes(server.process.pid)  # the workers are started with the engine
        before = _cpu(processes)
        latencies = trio.run(steady, server.url, RATE, seconds, None if mode == "raw" else b'"accepted"')
        time.sleep(TAIL)
        spent = _cpu(processes) - before
    finally:
        server.stop()
    return 1000 * spent / len(latencies), len(latencies)


def bench_stages(seconds: float, rounds: int) -> dict:
    runs: dict[str, list[float]] = {mode: [] for mode in MODES}
    alerts = 0
    for _ in range(rounds):  # alternated, so that every stage meets the same machine
        for mode in MODES:
            ms, sent = _cpu_per_alert(mode, seconds)
            runs[mode].append(round(ms, 3))
            alerts += sent
    median = {mode: statistics.median(values) for mode, values in runs.items()}
    raw, paused, bare, ten = (median[m] for m in MODES)
    per_round = list(zip(*(runs[m] for m in MODES)))
    stages = {
        "stage_http_ms": (raw, [r[0] for r in per_round]),
        "stage_webhook_ms": (paused - raw, [r[1] - r[0] for r in per_round]),
        "stage_processing_ms": (bare - paused, [r[2] - r[1] for r in per_round]),
        "stage_plugins_ms": (ten - bare, [r[3] - r[2] for r in per_round]),
        "stage_total_ms": (ten, [r[3] for r in per_round]),
    }
    results: dict = {"stage_modes_ms": runs, "stage_alerts": alerts, "stage_seconds": seconds}
    for key, (value, each) in stages.items():
        results[key] = round(value, 2)
        results[f"{key}_runs"] = [round(v, 2) for v in each]  # each round's own difference: the noise
    return results


def run_all(size: str = "full") -> dict:
    seconds, rounds = pick(size, full=(8.0, 3), quick=(3.0, 1), tiny=(0.5, 1))
    return bench_stages(seconds, rounds)
