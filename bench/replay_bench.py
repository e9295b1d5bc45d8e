"""``moonhook replay``'s speed (issue 22: at least 5,000 alerts a second with 10 plugins).

Each figure is process CPU per alert of the replay loop (``engine.app.replay.runner.replay``,
in process: the sandbox inline, the book in memory), measured in a fresh subprocess of its own
(``python -m bench.replay_bench --child KIND N``), rounds alternating the kinds; alerts a
second are 1e6 over the median. The alerts alternate entries with a stop (buy, sell) and
closes, one a minute, so every alert is executed.

- ``all``: the engine bench's 10 plugins (``engine_bench.PLUGIN``: on_alert and on_order),
  all on EURUSD: each alert through 10 on_alert calls, its order through 10 on_order calls;
- ``per_symbol``: the same 10 plugins, each on a symbol of its own (one strategy per chart),
  the alerts spread over the 10 symbols: each alert through 1 on_alert and 1 on_order;
- ``none``: no plugin (parsing, deciding, the book): the loop without the sandbox;
- ``floor``: the sandbox's own work for ``all``'s alerts: the two folds through
  ``sandbox.worker.Worker.handle``, in process, back to back (what ``all`` cannot go below);
- ``command``: the wall time of ``moonhook replay`` over 20,000 such alerts (about a year of
  a busy trader's alerts) with ``all``'s scripts, from the shell, start-up included.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from .engine_bench import PLUGIN
from .stats import pick

ROOT = Path(__file__).resolve().parent.parent
T0 = 1704067200  # 2024-01-01 UTC
SYMBOLS = ("EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCAD", "USDCHF", "NZDUSD", "EURGBP", "EURJPY", "GBPJPY")
COMMAND_ALERTS = 20_000

ROWS = [
    ("replay_all_per_s", "moonhook replay: alerts a second, 10 plugins all on the alert's symbol (10 on_alert and "
     "10 on_order calls an alert), in-process loop", None, "alerts/s", "", ">= 5,000"),
    ("replay_all_us", "  CPU per alert", None, "us", "", ""),
    ("replay_floor_per_s", "  the sandbox's own work for the same alerts (the two folds, in process, back to back): "
     "the most the loop could do", None, "alerts/s", "", ""),
    ("replay_per_symbol_per_s", "  10 plugins, each on a symbol of its own (one strategy per chart)", None,
     "alerts/s", "", ">= 5,000"),
    ("replay_none_per_s", "  no plugin (parsing, deciding, the book)", None, "alerts/s", "", ""),
    ("replay_command_s", "  `moonhook replay` over 20,000 alerts with the 10 plugins, start-up included", None, "s",
     "", "seconds"),
]


def _scripts(folder: Path, kind: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(10 if kind != "none" else 0):
        symbols = '{"EURUSD"}' if kind == "all" else '{"%s"}' % SYMBOLS[i]
        (folder / f"p{i}.lua").write_text(PLUGIN.format(symbols=symbols, priority=i))


def _bodies(n: int, kind: str) -> list[tuple[float, str]]:
    out = []
    for k in range(n):
        symbol = SYMBOLS[(k // 4) % len(SYMBOLS)] if kind == "per_symbol" else "EURUSD"
        price = 1.08 + (k % 50) * 0.0001 if "JPY" not in symbol else 150 + (k % 50) * 0.01
        stop = 0.002 if "JPY" not in symbol else 0.2
        if k % 4 == 0:
            body = f"buy {symbol} volume=0.1 price={price:.5f} sl={price - stop:.5f}"
        elif k % 4 == 1:
            body = f"sell {symbol} volume=0.1 price={price:.5f} sl={price + stop:.5f}"
        else:
            body = f"close {symbol} price={price:.5f}"
        out.append((T0 + 60 * k, body))
    return out


def _loop(kind: str, n: int) -> float:
    """Process CPU per alert (us) of the replay loop for ``kind``."""
    import trio

    from engine.app.replay import RecordedAlert
    from engine.app.replay.runner import replay
    from engine.domain.config import EngineConfig

    with tempfile.TemporaryDirectory() as tmp:
        scripts = Path(tmp) / "scripts"
        _scripts(scripts, kind)
        alerts = [RecordedAlert(t, body, f"bench:{i + 1}") for i, (t, body) in enumerate(_bodies(n, kind))]
        trio.run(replay, EngineConfig(), scripts, alerts[:200])  # warm-up: imports, first compilations
        started = time.process_time()
        out = trio.run(replay, EngineConfig(), scripts, alerts)
        spent = time.process_time() - started
    assert len(out.trades) >= n // 4, "the bench's alerts should trade"
    return 1e6 * spent / n


def _floor(n: int) -> float:
    """Process CPU per alert (us) of the two folds ``all`` makes, in the sandbox alone."""
    from sandbox import codec, protocol
    from sandbox.budget import Budget
    from sandbox.worker import Worker

    from engine.domain.alerts import parse_body

    worker, budget = Worker(), Budget()
    pids = [f"p{i}" for i in range(10)]
    for i, pid in enumerate(pids):
        worker.handle(protocol.load(i, pid, PLUGIN.format(symbols='{"EURUSD"}', priority=i), f"@{pid}.lua",
                                    budget.instructions, budget.timeout, budget.memory, [], i))
        worker.handle(protocol.set_global(i, pid, "params", *codec.encode([{"max_volume": 5}])))
    alerts = [{**parse_body(body).to_plain(), "alert_id": i} for i, (_, body) in enumerate(_bodies(n, "all"))]
    order = {"kind": "market", "client_id": "a1-engine-open", "symbol": "EURUSD", "side": "buy", "volume": 0.1,
             "price": 1.08, "sl": 1.078, "plugin": "engine", "alert_id": 1}
    rid = 0
    started = time.process_time()
    for data in alerts:
        for hook, value in (("on_alert", data), ("on_order", order)):
            rid += 1
            worker.handle(protocol.fold(rid, pids, hook, *codec.encode([value])))
    return 1e6 * (time.process_time() - started) / n


def _command(alerts: int = COMMAND_ALERTS) -> float:
    """Wall seconds of ``moonhook replay`` over ``alerts`` alerts with ``all``'s scripts."""
    with tempfile.TemporaryDirectory() as tmp:
        _scripts(Path(tmp) / "scripts", "all")
        with open(Path(tmp) / "alerts.jsonl", "w") as f:
            for t, body in _bodies(alerts, "all"):
                f.write(json.dumps({"time": t, "body": body}) + "\n")
        script = Path(sys.executable).with_name("moonhook")
        started = time.monotonic()
        subprocess.run([str(script), "replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", "--json"],
                       cwd=tmp, check=True, capture_output=True, timeout=600)
        return time.monotonic() - started


def _child(kind: str, n: int) -> float:
    run = subprocess.run([sys.executable, "-m", "bench.replay_bench", "--child", kind, str(n)], cwd=ROOT,
                         capture_output=True, text=True, timeout=900, check=True)
    return json.loads(run.stdout)


def bench_replay(n: int, runs: int, command_alerts: int = COMMAND_ALERTS) -> dict:
    kinds = ("all", "floor", "per_symbol", "none")
    figures: dict[str, list[float]] = {k: [] for k in kinds}
    command: list[float] = []
    for _ in range(runs):  # alternated, so that each figure meets the same machine
        for kind in kinds:
            figures[kind].append(_child(kind, n))
        command.append(_command(command_alerts))
    out: dict = {"replay_alerts": n}
    for kind, values in figures.items():
        us = statistics.median(values)
        out[f"replay_{kind}_per_s"] = round(1e6 / us)
        out[f"replay_{kind}_per_s_runs"] = [round(1e6 / v) for v in values]
        if kind == "all":
            out["replay_all_us"], out["replay_all_us_runs"] = round(us, 1), [round(v, 1) for v in values]
    out["replay_command_s"] = round(statistics.median(command), 2)
    out["replay_command_s_runs"] = [round(v, 2) for v in command]
    return out


def run_all(size: str = "full") -> dict:
    n, runs = pick(size, full=(5000, 5), quick=(2000, 3), tiny=(300, 1))
    # The tiny run's command replays its 300 alerts: the path measured is the same, its 20,000 took 10 s more.
    return bench_replay(n, runs, pick(size, COMMAND_ALERTS, COMMAND_ALERTS, n))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        kind, count = sys.argv[2], int(sys.argv[3])
        print(json.dumps(_floor(count) if kind == "floor" else _loop(kind, count)))
    else:
        print(json.dumps(run_all(sys.argv[1] if len(sys.argv) > 1 else "quick"), indent=1))
