"""The benchmark suite's machine-readable output: ``python -m bench --json --tiny`` runs every
benchmark once with tiny counts, in a process of its own, and names a figure for every row
of the table (the figures themselves are for ``make bench``, not for tests)."""

import json
import math
import subprocess
import sys

from bench.report import ROWS, table

from support.paths import ROOT


def test_the_tiny_run_gives_a_figure_for_every_row_and_the_table_shows_them():
    # The timeout only stops a hung run: about 70 s of CPU, it took 308 s of wall time at a load of
    # 18 on 2 cores, past the 300 s this was (a failure of the machine's load, not of the code).
    run = subprocess.run([sys.executable, "-m", "bench", "--json", "--tiny"], cwd=ROOT, capture_output=True,
                         text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout)
    for key, label, field, unit, study, target in ROWS:
        value = results[key]
        if field:  # a summary: median and p99 of the runs, and the noise between them
            assert {"median", "p99", "min", "max", "runs"} <= set(value), key
            assert all(math.isfinite(value[k]) for k in ("median", "p99", "min", "max")), (key, value)
            assert value["min"] <= value["median"] <= value["max"], (key, value)
        else:
            assert isinstance(value, (int, float, str)) and value == value, (key, value)
    assert results["e2e_1000_rss_mb"] > results["e2e_1_rss_mb"] > 10         # really measured
    assert results["telegram_1_bot_msgs"] > 0 and results["reload_alerts_lost"] == 0
    # issue 20's figures: each from its own path, at tiny sizes (a burst of 20 stands in for 500 and 1,000)
    for name in ("500", "1000"):
        burst = results[f"burst_{name}_rounds"][0]
        assert burst["sent"] == results[f"burst_{name}_size"] > 0
        assert burst["answered_200"] + burst["non_200"] + burst["errors"] == burst["sent"], burst
        assert burst["executed"] <= burst["answered_200"]
        raw = results[f"burst_{name}_raw_rounds"][0]  # the same burst against the bare HTTP server
        assert raw["sent"] == burst["sent"] and raw["answered_200"] + raw["non_200"] + raw["errors"] == raw["sent"], raw
    assert results["floor_cycles"] > 0 and len(results["wake_us_runs"]) == len(results["worker_fold_cold_us_runs"])
    assert results["receipt_to_broker_200_alerts"] > 0 and results["cpu_per_alert_executed"] > 0
    assert results["receipt_to_broker_200_p50_target"].split(":")[0] in ("met", "not met")
    # issue 20's stages: a CPU figure per alert for each server and each stage's difference
    stages = ("stage_http_ms", "stage_webhook_ms", "stage_processing_ms", "stage_plugins_ms", "stage_total_ms")
    for key in stages:
        assert isinstance(results[key], (int, float)) and math.isfinite(results[key]), (key, results[key])
        assert all(isinstance(v, (int, float)) for v in results[f"{key}_runs"]), key
    assert results["stage_alerts"] > 0
    assert set(results["stage_modes_ms"]) == {"raw", "paused", "plugins:0:0", "plugins:10:10"}
    shown = table(results)
    assert shown.count("\n") == len(ROWS) + 1
    assert all(label in shown for _, label, *_ in ROWS)
