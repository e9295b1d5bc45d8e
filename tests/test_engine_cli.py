"""`moonhook run` as a trader starts it: a real process, alerts on standard input."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_run_loads_the_scripts_and_executes_alerts_from_stdin(tmp_path):
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    alerts = "\n".join([
        "buy EURUSD volume=0.1 price=1.1 sl=1.09",
        "buy EURUSD volume=0.1 price=1.1",            # the demo refuses entries without a stop
        "sell EURUSD volume=-1",                      # bad input: named, nothing journaled
        "buy EURUSD volume=0.1 price=1.1 sl=1.09",    # a repeat within the window
    ]) + "\n"
    p = subprocess.run([sys.executable, "-m", "engine.cli", "run", "--scripts", str(tmp_path / "scripts"),
                        "--data", str(tmp_path / "data")], input=alerts, capture_output=True, text=True,
                       cwd=ROOT, timeout=60)
    assert p.returncode == 0, p.stderr
    out = [json.loads(line) for line in p.stdout.splitlines()]
    assert out[0]["status"] == "done" and out[0]["outcome"]["orders"][0]["ok"] is True
    assert out[1]["status"] == "rejected" and out[1]["outcome"]["reason"] == "entries need a stop loss"
    assert out[2] == {"error": "volume: must be a positive number, got '-1'"}
    assert out[3]["status"] == "duplicate" and out[3]["of"] == out[0]["id"]
    assert "demo saw EURUSD buy" in p.stderr
    assert (tmp_path / "data" / "moonhook.db").exists()
