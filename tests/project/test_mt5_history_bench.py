"""bench/mt5_history_bench.py at tiny counts, in a process of its own: the MT5 Trades page's
bench runs, and what it reads is the page of the seeded trades (the figures are for the bench)."""

import json
import subprocess
import sys

from support.paths import ROOT


def test_the_mt5_history_bench_reads_the_seeded_year_then_each_fill():
    # The timeout only stops a hung run (a few seconds of CPU).
    run = subprocess.run([sys.executable, "-m", "bench.mt5_history_bench", "--trades", "20", "--runs", "2"], cwd=ROOT,
                         capture_output=True, text=True, timeout=1800)
    assert run.returncode == 0, run.stderr[-2000:]
    out = json.loads(run.stdout)
    assert out["deals"] == 2 * (20 + 1) + 2 * 2   # the seeded trades and the template's, then the fills'
    assert out["by_plugin"]["engine"]["trades"] == 21 and out["by_plugin"]["unknown"]["trades"] == 2
    assert out["read after a fill ms"]["least"] > 0
