"""``GET /metrics`` (names, types and counts, over real HTTP), the event-loop lag monitor, and
the monitors' notifications told once and then throttled."""

from __future__ import annotations

import logging
import os
import re
import signal
import time

import trio
from prometheus_client.parser import text_string_to_metric_families

from engine.domain.config import MonitorConfig
from engine.core.monitor import MB
from engine.domain.config.telegram import TelegramConfig

from support.engine_support import process, running, submit
from support.waits import HANG
from support.web_support import AUTH, serving

SCRIPTS = {
    "guard": 'plugin = {symbols = {"GBPUSD"}}\nfunction on_alert(a) return false, "no pound today" end',
    "broken": 'plugin = {symbols = {"USDJPY"}}\nfunction on_alert(a) error("boom") end',
    "slow": 'plugin = {symbols = {"AUDUSD"}, budget = {instructions = 10000}}\n'
            'function on_alert(a) while true do end end',
}

TYPES = {
    "moonhook_alerts": "counter",
    "moonhook_alert_to_broker_seconds": "histogram",
    "moonhook_alert_to_fill_seconds": "histogram",
    "moonhook_hook_seconds": "histogram",
    "moonhook_plugin_failures": "counter",
    "moonhook_sandbox_worker_restarts": "counter",
    "moonhook_broker_call_seconds": "histogram",
    "moonhook_broker_errors": "counter",
    "moonhook_outbox_depth": "gauge",
    "moonhook_resident_memory_bytes": "gauge",
    "moonhook_event_loop_lag_seconds": "gauge",
    "moonhook_event_loop_lag_histogram_seconds": "histogram",
    "moonhook_open_positions": "gauge",
    "moonhook_plugins": "gauge",
    "moonhook_connections_refused": "counter",   # the web server's (web/refusals.py)
}


def samples(text: str) -> dict[str, dict]:
    """{family name: {"type": ..., (sample name, sorted labels): value}}."""
    out: dict[str, dict] = {}
    for family in text_string_to_metric_families(text):
        found = out[family.name] = {"type": family.type}
        for s in family.samples:
            found[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


async def test_metrics_name_and_count_what_the_engine_did(tmp_path):
    async with running(tmp_path, SCRIPTS) as engine, serving(engine) as client:
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1"))["status"] == "done"
        assert (await process(engine, "buy GBPUSD volume=0.1 price=1.3"))["status"] == "rejected"
        assert (await process(engine, "buy USDJPY volume=0.1 price=150"))["status"] == "done"   # broken skipped
        assert (await process(engine, "buy AUDUSD volume=0.1 price=0.7"))["status"] == "done"   # slow skipped
        assert (await process(engine, "buy EURUSD volume=0.005 price=1.1"))["status"] == "failed"  # refused
        assert (await submit(engine, "buy EURUSD volume=0.1 price=1.1")).duplicate
        os.kill(engine.pool.worker_pids()[0], signal.SIGKILL)
        with trio.fail_after(HANG):  # bounds a hang
            while engine.pool.restarts < 1:
                await trio.sleep(0.01)
        assert (await client.get("/metrics")).status_code == 401
        assert (await client.get("/metrics", headers={"Authorization": "Bearer nope"})).status_code == 401
        response = await client.get("/metrics", headers=AUTH)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    m = samples(response.text)
    assert {name: m[name]["type"] for name in TYPES if name in m} == TYPES

    def value(family: str, sample: str, **labels: str) -> float:
        return m[family][(sample, tuple(sorted(labels.items())))]

    alerts = {s: value("moonhook_alerts", "moonhook_alerts_total", status=s)
              for s in ("done", "rejected", "failed", "duplicate", "paused")}
    assert alerts == {"done": 3, "rejected": 1, "failed": 1, "duplicate": 1, "paused": 0}
    assert value("moonhook_plugin_failures", "moonhook_plugin_failures_total",
                 plugin="broken", hook="on_alert", kind="script") == 1
    assert value("moonhook_plugin_failures", "moonhook_plugin_failures_total",
                 plugin="slow", hook="on_alert", kind="instructions") == 1
    assert ("moonhook_plugin_failures_total", (("hook", "on_alert"), ("kind", "script"), ("plugin", "guard"))) \
        not in m["moonhook_plugin_failures"]
    assert value("moonhook_hook_seconds", "moonhook_hook_seconds_count", plugin="guard", hook="on_alert") == 1
    assert value("moonhook_broker_call_seconds", "moonhook_broker_call_seconds_count", kind="market") == 4
    assert value("moonhook_broker_errors", "moonhook_broker_errors_total", kind="market") == 1
    assert value("moonhook_alert_to_broker_seconds", "moonhook_alert_to_broker_seconds_count") == 4
    assert value("moonhook_alert_to_fill_seconds", "moonhook_alert_to_fill_seconds_count") == 3
    assert value("moonhook_sandbox_worker_restarts", "moonhook_sandbox_worker_restarts_total") == 1
    assert value("moonhook_open_positions", "moonhook_open_positions") == 3
    assert value("moonhook_plugins", "moonhook_plugins", state="active") == 3
    assert value("moonhook_resident_memory_bytes", "moonhook_resident_memory_bytes") > 20 * MB
    assert value("moonhook_outbox_depth", "moonhook_outbox_depth", queue="outbox") == 0  # no [telegram]


async def test_a_task_holding_the_event_loop_is_named_once_then_throttled(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="moonhook.lag")

    def warnings(task: str) -> list[str]:
        """The lag warnings naming ``task`` (all of them for "")."""
        return [r.getMessage() for r in caplog.records
                if r.name == "moonhook.lag" and (f"task '{task}'" if task else "") in r.getMessage()]

    async def hold(seconds: float) -> None:
        time.sleep(seconds)  # blocks the whole Trio run, as a slow synchronous call would

    async def told(task: str) -> list[str]:
        with trio.fail_after(HANG):  # bounds a hang: a summary is due 3 s after the first warning
            while not warnings(task):
                await trio.sleep(0.02)
        return warnings(task)

    def held_intervals() -> float:
        """The lag monitor's intervals seen with a lag over 0.25 s (its histogram, as scraped)."""
        registry = engine.metrics.registry
        return (registry.get_sample_value("moonhook_event_loop_lag_histogram_seconds_count")
                - registry.get_sample_value("moonhook_event_loop_lag_histogram_seconds_bucket", {"le": "0.25"}))

    # Over 250 ms only: the engine's start may hold the loop a little on a busy machine. The
    # second hold must come within the first warning's window: 3 s leave a busy machine room.
    async with running(tmp_path, monitor=MonitorConfig(lag_alert_ms=250),
                       telegram=TelegramConfig(throttle_seconds=3.0)) as engine, serving(engine) as client:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(hold, 0.4, name="hold the loop")
        [first] = await told("hold the loop")
        held = re.match(r"event loop held (\d+) ms by task 'hold the loop'; over monitor.lag_alert_ms \(250\)", first)
        assert held and int(held.group(1)) >= 400
        m = samples((await client.get("/metrics", headers=AUTH)).text)
        assert m["moonhook_event_loop_lag_seconds"][("moonhook_event_loop_lag_seconds", ())] >= 0.4
        # Counted over 0.25 s: a busy machine may make the 0.4 s hold measure past 0.5 s.
        lags = m["moonhook_event_loop_lag_histogram_seconds"]
        assert (lags[("moonhook_event_loop_lag_histogram_seconds_count", ())]
                - lags[("moonhook_event_loop_lag_histogram_seconds_bucket", (("le", "0.25"),))]) >= 1

        seen = held_intervals()
        async with trio.open_nursery() as nursery:  # again, within the window: folded
            nursery.start_soon(hold, 0.4, name="hold again")
        with trio.fail_after(HANG):  # the monitor has measured it (it checks in the same step)
            while held_intervals() <= seen:
                await trio.sleep(0.02)
        assert warnings("hold again") == []
        with trio.fail_after(HANG):  # the window ends 3 s after the first warning: told with the count
            while not (summaries := [w for w in warnings("") if " more like this in the last 3 s)" in w]):
                await trio.sleep(0.02)
        [summary] = summaries
        # The second hold's; or, a lag of the machine's folded after it, that one's (it tells the last).
        folded = int(re.search(r"\((\d+) more like this in the last 3 s\)$", summary)[1])
        assert "task 'hold again'" in summary or folded > 1, summary
        assert len(warnings("hold the loop")) == 1


async def test_the_latency_and_memory_monitors_tell_once_then_fold_the_repeats(tmp_path):
    monitor = MonitorConfig(latency_alert_ms=0.001, memory_alert_mb=1, interval_seconds=0.05)
    # The repeats must come within their key's window: 2 s leave a busy machine room for the
    # three alerts and the memory samples (0.05 s apart).
    async with running(tmp_path, monitor=monitor, dedup_window=0,
                       telegram=TelegramConfig(throttle_seconds=2.0)) as engine:
        # Memory over, under, over... the limit: each crossing is a message of its key.
        readings = iter([2 * MB, MB // 2, 2 * MB, MB // 2, 2 * MB])
        engine.monitor.memory_bytes = lambda: next(readings, MB // 2)
        ids = [(await process(engine, "buy EURUSD volume=0.1 price=1.1"))["id"] for _ in range(3)]

        def told(prefix: str) -> list[tuple[float, str]]:
            return [(at, text) for at, text in engine.database.db.execute(
                "SELECT created_at, text FROM outbox ORDER BY id") if text.startswith(prefix)]

        def texts(prefix: str) -> list[str]:
            return [text for _, text in told(prefix)]

        with trio.fail_after(HANG):  # the windows end 2 s after their first message: this bounds a hang
            while len(texts("memory: ")) < 4 or len(texts("alert ")) < 2:
                await trio.sleep(0.05)
        latency = told("alert ")
        over = [(at, text) for at, text in told("memory: ") if "over monitor.memory_alert_mb" in text]
        back = told("memory: back to")
    assert [text.startswith(f"alert {n} took ") for n, (_, text) in zip((ids[0], ids[2]), latency)] == [True, True]
    assert len(latency) == 2 and latency[1][1].endswith("(2 more like this in the last 2 s)")
    assert len(over) == 2 and over[1][1].endswith("(2 more like this in the last 2 s)")
    assert len(back) == 2 and back[1][1].endswith("(2 more like this in the last 2 s)")
    # Once, then folded: the first of each key went out as it came, the repeats only when its
    # window ended, 2 s later (the outbox's times, less what the first write may have waited:
    # a lower bound that a busy machine only makes longer).
    for first, summary in (latency, over, back):
        assert " more like this" not in first[1] and summary[0] - first[0] > 1.0, (first, summary)
