"""Shadow mode's cost to the live path (issue 22: at most 10 %).

``moonhook run`` as a user starts it (a moonhook.toml, 10 plugins in scripts/), once without
``[shadow]`` and once with the same 10 plugins in scripts-next/ as its shadow, a fresh folder
and process each round, the two alternated (off, on, off, on ...) so both meet the same
machine. Each round sends a steady 100 alerts/s over HTTP for a few seconds (the webhook
bench's hand-written keep-alive client, which disturbs the server least), then waits until
every alert is executed (and, with the shadow, run by it). Per round:

- the webhook's answer latency (client side: from before the request is written to the
  whole answer read), its median;
- receipt to broker call: ``latency_ms`` of each order in the ledger (``/api/orders``), its
  median;
- the CPU per alert of the engine's process and its sandbox workers (psutil, user+system),
  from before the load until the last alert is executed and the shadow has run it.

The ratios are on/off of the medians of each pair of rounds, then their median; the target
is the latency's (answer and receipt to broker) ratio <= 1.10.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
import trio

from engine.interfaces.listening import recorded_port

from .engine_bench import _write_plugins
from .scaling_bench import _cpu
from .stats import pick, summary
from .webhook_bench import steady

RATE = 100.0
PLUGINS = 10
TARGET = 1.10
SECRET = "bench-shadow-secret"
TOKEN = "bench-shadow-token"

# The table's rows (bench/report.py's ROWS format: key, label, field, unit, study, target).
ROWS = [
    ("shadow_off_answer_ms", "shadow mode off: webhook answer at 100 alerts/s, 10 plugins (`moonhook run`)",
     "median", "ms", "", ""),
    ("shadow_on_answer_ms", "  shadow on, the same 10 plugins as its shadow (alternated rounds)", "median", "ms",
     "", ""),
    ("shadow_answer_ratio", "  ratio on / off (median of alternated pairs)", None, "x", "", "<= 1.10"),
    ("shadow_off_to_broker_ms", "  receipt to broker call, shadow off", "median", "ms", "", ""),
    ("shadow_on_to_broker_ms", "  the same, shadow on", "median", "ms", "", ""),
    ("shadow_to_broker_ratio", "  ratio on / off", None, "x", "", "<= 1.10"),
    ("shadow_off_cpu_ms_per_alert", "  CPU per alert, engine and workers, shadow off", None, "ms", "", ""),
    ("shadow_on_cpu_ms_per_alert", "  the same, shadow on (the shadow's own run of each alert included)", None,
     "ms", "", ""),
    ("shadow_cpu_ratio", "  ratio on / off", None, "x", "", ""),
    ("shadow_behind", "  alerts the shadow had not run 60 s after the load (all rounds)", None, "", "", "0"),
    ("shadow_target", "  latency ratios against 1.10", None, "", "", "<= 1.10"),
]


def _moonhook() -> list[str]:
    script = Path(sys.executable).with_name("moonhook")
    return [str(script)] if script.exists() else [sys.executable, "-m", "engine.interfaces.cli"]


class _Run:
    """``moonhook run`` in ``folder`` (a moonhook.toml and 10 plugins, the shadow's too when
    ``shadow``), up once its API answers with every plugin loaded."""

    def __init__(self, folder: Path, shadow: bool):
        _write_plugins(folder / "scripts", PLUGINS, PLUGINS)
        toml = (f'[server]\nhost = "127.0.0.1"\nport = 0\nsecret = "{SECRET}"\napi_token = "{TOKEN}"\n'
                '[engine]\ndedup_window = 0\n[paper]\nbalance = 1000000000.0\n')  # margin never runs out
        if shadow:
            _write_plugins(folder / "scripts-next", PLUGINS, PLUGINS)
            toml += '[shadow]\nscripts = "scripts-next"\n'
        (folder / "moonhook.toml").write_text(toml)
        (folder / "moonhook.toml").chmod(0o600)
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOONHOOK_")}
        self.shadow = shadow
        self.process = subprocess.Popen([*_moonhook(), "run"], cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        # Its log drained in a thread, so the engine never blocks on a full pipe.
        threading.Thread(target=lambda: [None for _ in self.process.stderr], daemon=True).start()
        self.client: httpx.Client | None = None   # once the engine has recorded its port
        deadline = time.monotonic() + 60
        while (port := recorded_port(folder / "data")) is None or not self._up(port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"moonhook run did not start (exit code {self.process.poll()})")
            time.sleep(0.1)
        self.engine = psutil.Process(self.process.pid)

    def _up(self, port: int) -> bool:
        """Whether the engine on ``port`` (the system's choice, recorded in its data folder) serves every plugin."""
        if self.client is None:
            self.base = f"http://127.0.0.1:{port}"
            self.url = f"{self.base}/webhook/{SECRET}"
            self.client = httpx.Client(base_url=self.base, timeout=30, headers={"Authorization": f"Bearer {TOKEN}"})
        try:
            if len(self.client.get("/api/plugins").json()["plugins"]) != PLUGINS:
                return False
            return not self.shadow or len(self.client.get("/api/shadow").json()["plugins"]) == PLUGINS
        except (httpx.HTTPError, ValueError, KeyError):
            return False

    def cpu(self) -> float:
        return _cpu([self.engine, *self.engine.children(recursive=True)])

    def settled(self, sent: int, timeout: float = 60) -> tuple[list[dict], int]:
        """The ledger's orders once all ``sent`` alerts are executed (and run by the shadow);
        and how many the shadow had still to run then (0 unless ``timeout`` passed)."""
        deadline = time.monotonic() + timeout
        while True:
            orders = self.client.get("/api/orders", params={"limit": 500}).json()["recent"]
            shadow = self.client.get("/api/shadow").json() if self.shadow else {"alerts": sent, "behind": 0}
            if (len(orders) >= sent and shadow["alerts"] >= sent) or time.monotonic() > deadline:
                return orders, max(sent - shadow["alerts"], 0)
            time.sleep(0.1)

    def stop(self) -> None:
        self.client.close()
        self.process.send_signal(2)  # SIGINT, as a user stops it
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def round_once(shadow: bool, seconds: float, settle: float = 1.0) -> dict:
    """One round: a fresh ``moonhook run``, ``RATE`` alerts/s for ``seconds``; the answer
    latencies (s), each order's receipt-to-broker ``latency_ms``, CPU ms per alert, behind."""
    with tempfile.TemporaryDirectory(prefix="moonhook-shadow-bench-") as folder:
        run = _Run(Path(folder), shadow)
        try:
            time.sleep(settle)  # the start's last work not counted
            c0 = run.cpu()
            answers = trio.run(steady, run.url, RATE, seconds)
            orders, behind = run.settled(len(answers))
            cpu = run.cpu() - c0
        finally:
            run.stop()
    to_broker = [o["latency_ms"] for o in orders if o.get("latency_ms") is not None]
    return {"answers": answers, "to_broker_ms": to_broker, "cpu_ms_per_alert": cpu / max(len(answers), 1) * 1000,
            "behind": behind, "sent": len(answers), "executed": len(orders)}


def bench_shadow(rounds: int, seconds: float) -> dict[str, list[dict]]:
    """``rounds`` pairs, each off then on, alternated."""
    out: dict[str, list[dict]] = {"off": [], "on": []}
    for _ in range(rounds):
        for mode in ("off", "on"):
            out[mode].append(round_once(mode == "on", seconds))
    return out


def run_all(size: str = "full") -> dict:
    """The rows of ``ROWS``: to be registered in bench/run.py's ``measure``."""
    rounds, seconds = pick(size, (6, 5.0), (4, 3.0), (1, 1.0))
    figures = bench_shadow(rounds, seconds)
    off, on = figures["off"], figures["on"]

    def ratio(key, scale=1.0) -> float:
        pairs = [statistics.median(b[key]) / statistics.median(a[key]) for a, b in zip(off, on)]
        return round(statistics.median(pairs), 3)

    answer_ratio = ratio("answers")
    broker_ratio = ratio("to_broker_ms")
    cpu_off = statistics.median(r["cpu_ms_per_alert"] for r in off)
    cpu_on = statistics.median(r["cpu_ms_per_alert"] for r in on)
    met = answer_ratio <= TARGET and broker_ratio <= TARGET
    return {
        "shadow_off_answer_ms": summary([r["answers"] for r in off], scale=1000),
        "shadow_on_answer_ms": summary([r["answers"] for r in on], scale=1000),
        "shadow_answer_ratio": answer_ratio,
        "shadow_answer_ratio_runs": [round(statistics.median(b["answers"]) / statistics.median(a["answers"]), 3)
                                     for a, b in zip(off, on)],
        "shadow_off_to_broker_ms": summary([r["to_broker_ms"] for r in off]),
        "shadow_on_to_broker_ms": summary([r["to_broker_ms"] for r in on]),
        "shadow_to_broker_ratio": broker_ratio,
        "shadow_to_broker_ratio_runs": [
            round(statistics.median(b["to_broker_ms"]) / statistics.median(a["to_broker_ms"]), 3)
            for a, b in zip(off, on)],
        "shadow_off_cpu_ms_per_alert": round(cpu_off, 3),
        "shadow_on_cpu_ms_per_alert": round(cpu_on, 3),
        "shadow_cpu_ratio": round(cpu_on / cpu_off, 3),
        "shadow_behind": sum(r["behind"] for r in on),
        "shadow_target": (f"{'met' if met else 'not met'}: answer x{answer_ratio}, receipt to broker "
                          f"x{broker_ratio} against x{TARGET}"),
        "shadow_rounds": {mode: [{k: v for k, v in r.items() if k not in ("answers", "to_broker_ms")} for r in runs]
                          for mode, runs in figures.items()},
    }
