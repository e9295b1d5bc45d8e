"""The study's table, measured (issue 8): alert latency and resident memory by plugin count,
end to end over real HTTP, and the engine's CPU idle and at 100 alerts/s.

Each count runs the engine in its own server process (``webhook_server.py``, mode
``plugins:N:C``): N plugins, each with on_alert and on_order, all concerned with EURUSD up to
20, then 10 concerned (the study stopped before 100). This process posts one alert at a time
(10 ms apart, as alerts arrive) with httpx and times each from the POST to the paper broker's
fill, read from the server's ``/bench/fills`` (the system's monotonic clock, shared by both
processes). Memory: the server process and its sandbox workers. CPU: the same processes'
CPU time over a window, idle and while alerts arrive at 100/s, as a share of one core; and
(issue 20) per executed alert: that CPU from the window's start until the last alert sent has
been executed, over the alerts executed (the paper broker's fills, ``/bench/fills``).

``bench_idle_run``: the idle CPU of the product as a user starts it, not of the bench's
server: ``moonhook init`` in a temporary folder (one example plugin), then ``moonhook run``
there as a subprocess (scripts/ and moonhook.toml watched, the monitor on); once its banner
is out and a settling second has passed, the CPU time (utime + stime, from /proc) of the
engine's process and of its sandbox workers over a window, as a share of one core; the
median over runs. The one change to what init writes: port 0 (any free port), so that the
bench does not depend on 8080 being free.
"""

from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from pathlib import Path

import httpx
import psutil

from .engine_bench import alert_body
from .stats import pick, summary
from .webhook_bench import Server

COUNTS = (1, 3, 5, 10, 20, 100, 1000)
STUDY = {1: (380, 210), 3: (420, 280), 5: (480, 350), 10: (650, 500), 20: (1200, 800)}  # ms, MB
GAP = 0.01


def _processes(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _rss_mb(pid: int) -> float:
    return round(sum(p.memory_info().rss for p in _processes(pid)) / 2**20, 1)


def _cpu_seconds(pid: int, workers_only: bool = False) -> float:
    return _cpu(_processes(pid)[1 if workers_only else 0:])


def _cpu(processes: list[psutil.Process]) -> float:
    """User and system CPU seconds of ``processes`` (those gone count nothing)."""
    total = 0.0
    for p in processes:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass
    return total


def _post(client: httpx.Client, server: Server, n: int) -> tuple[int, float]:
    start = time.monotonic()
    answer = client.post(server.url, content=alert_body(n, "s"))
    answer.raise_for_status()
    return answer.json()["id"], start


def _fills(client: httpx.Client, server: Server, ids: list[int]) -> dict[str, float]:
    base = server.url.split("/webhook")[0]
    deadline = time.monotonic() + 10
    while True:
        fills = client.get(f"{base}/bench/fills").json()
        if all(str(i) in fills for i in ids) or time.monotonic() > deadline:
            return fills
        time.sleep(0.05)


def bench_count(total: int, alerts: int, runs: int) -> dict:
    concerned = total if total <= 20 else 10
    server = Server(f"plugins:{total}:{concerned}")
    try:
        with httpx.Client(timeout=10) as client:
            series = []
            n = 0
            for _ in range(runs):
                starts = {}
                for _ in range(alerts):
                    n += 1
                    alert_id, start = _post(client, server, n)
                    starts[alert_id] = start
                    time.sleep(GAP)
                fills = _fills(client, server, list(starts))
                series.append([fills[str(i)] - s for i, s in starts.items() if str(i) in fills])
            rss = _rss_mb(server.process.pid)
    finally:
        server.stop()
    return {"latency_ms": summary(series, scale=1000), "rss_mb": rss}


def bench_cpu(seconds: float, rate: float = 100.0) -> dict:
    """CPU of the engine's processes (10 plugins), idle and at ``rate`` alerts/s, % of a core."""
    server = Server("plugins:10:10")
    try:
        pid = server.process.pid
        time.sleep(1.0)  # the start's work done
        c0, t0 = _cpu_seconds(pid), time.monotonic()
        time.sleep(seconds)
        idle = (_cpu_seconds(pid) - c0) / (time.monotonic() - t0) * 100
        with httpx.Client(timeout=10) as client:
            c0, w0, t0 = _cpu_seconds(pid), _cpu_seconds(pid, workers_only=True), time.monotonic()
            n = 0
            while time.monotonic() - t0 < seconds:
                n += 1
                _post(client, server, n)
                time.sleep(max(0.0, t0 + n / rate - time.monotonic()))
            elapsed = time.monotonic() - t0
            active = (_cpu_seconds(pid) - c0) / elapsed * 100
            workers = (_cpu_seconds(pid, workers_only=True) - w0) / elapsed * 100
            achieved = n / elapsed
            # Per executed alert: the CPU until the last one sent has been executed (one
            # look at /bench/fills after the queue's drain, more only if it has not).
            deadline = time.monotonic() + 10
            time.sleep(0.2)
            while (executed := len(client.get(server.url.split("/webhook")[0] + "/bench/fills").json())) < n \
                    and time.monotonic() < deadline:
                time.sleep(0.2)
            per_alert = (_cpu_seconds(pid) - c0) / max(executed, 1) * 1000
            per_alert_workers = (_cpu_seconds(pid, workers_only=True) - w0) / max(executed, 1) * 1000
    finally:
        server.stop()
    return {"idle_pct": round(idle, 2), "active_pct": round(active, 1), "workers_pct": round(workers, 1),
            "rate": round(achieved, 1), "executed": executed, "sent": n,
            "ms_per_alert": round(per_alert, 3), "workers_ms_per_alert": round(per_alert_workers, 3)}


def _moonhook() -> list[str]:
    """The ``moonhook`` command as installed beside this Python (the console script users
    run), else the same entry point through the module."""
    script = Path(sys.executable).with_name("moonhook")
    if script.exists():
        return [str(script)]
    found = shutil.which("moonhook")
    return [found] if found else [sys.executable, "-m", "engine.interfaces.cli"]


def _idle_run_once(seconds: float, settle: float = 1.0) -> tuple[float, float]:
    """One ``moonhook run`` in a fresh ``moonhook init`` folder: the CPU of the engine's
    process and of its workers over ``seconds`` once it is up, each in % of a core."""
    command = _moonhook()
    with tempfile.TemporaryDirectory(prefix="moonhook-idle-") as folder:
        subprocess.run([*command, "init"], cwd=folder, check=True, capture_output=True, timeout=60)
        config = Path(folder, "moonhook.toml")
        config.write_text(re.sub(r"(?m)^port\s*=\s*\d+\s*$", "port = 0", config.read_text(), count=1))
        if tomllib.loads(config.read_text())["server"].get("port") != 0:
            raise RuntimeError("could not set [server] port = 0 in the moonhook.toml init wrote")
        env = {k: v for k, v in os.environ.items() if not k.startswith("MOONHOOK_")}
        process = subprocess.Popen([*command, "run"], cwd=folder, env=env, stdin=subprocess.DEVNULL,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            up = threading.Event()

            def read() -> None:  # until the banner, then drained so the engine never blocks on it
                for line in process.stderr:
                    if line.startswith("moonhook: listening on"):
                        up.set()
                up.set()  # it ended without one: reported below

            threading.Thread(target=read, daemon=True).start()
            if not up.wait(60) or process.poll() is not None:
                raise RuntimeError(f"moonhook run did not start (exit code {process.poll()})")
            time.sleep(settle)  # the start's last work (its threads' exit) not counted
            engine = psutil.Process(process.pid)
            workers = engine.children(recursive=True)
            e0, w0, t0 = _cpu([engine]), _cpu(workers), time.monotonic()
            time.sleep(seconds)
            e1, w1, elapsed = _cpu([engine]), _cpu(workers), time.monotonic() - t0
        finally:
            process.send_signal(2)  # SIGINT, as a user stops it
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    return (e1 - e0) / elapsed * 100, (w1 - w0) / elapsed * 100


def bench_idle_run(seconds: float, runs: int) -> dict:
    """Idle CPU of ``moonhook run`` as a user starts it (``_idle_run_once``), median of runs."""
    figures = [_idle_run_once(seconds) for _ in range(runs)]
    totals = [round(e + w, 3) for e, w in figures]
    return {"total_pct": round(statistics.median(totals), 3), "runs": totals,
            "engine_pct": round(statistics.median(e for e, _ in figures), 3),
            "workers_pct": round(statistics.median(w for _, w in figures), 3)}


def run_all(size: str = "full") -> dict:
    alerts, runs, seconds = pick(size, (200, 3, 10.0), (30, 1, 3.0), (3, 1, 0.5))
    out: dict = {}
    for total in COUNTS:
        figures = bench_count(total, alerts, runs)
        out[f"e2e_{total}_ms"] = figures["latency_ms"]
        out[f"e2e_{total}_rss_mb"] = figures["rss_mb"]
    cpu = bench_cpu(seconds)
    out.update(cpu_idle_pct=cpu["idle_pct"], cpu_active_100_pct=cpu["active_pct"],
               cpu_active_workers_pct=cpu["workers_pct"], cpu_active_rate=cpu["rate"],
               cpu_per_alert_ms=cpu["ms_per_alert"], cpu_per_alert_workers_ms=cpu["workers_ms_per_alert"],
               cpu_per_alert_executed=cpu["executed"], cpu_per_alert_sent=cpu["sent"])
    idle_seconds, idle_runs = pick(size, (30.0, 5), (10.0, 1), (0.5, 1))
    idle = bench_idle_run(idle_seconds, idle_runs)
    out.update(cpu_idle_run_pct=idle["total_pct"], cpu_idle_run_pct_runs=idle["runs"],
               cpu_idle_run_engine_pct=idle["engine_pct"], cpu_idle_run_workers_pct=idle["workers_pct"],
               cpu_idle_run_window_s=idle_seconds)
    return out
