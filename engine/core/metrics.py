"""The engine's Prometheus instruments, served by ``GET /metrics`` through the operations
facade (``engine/app/operations.py``).

Each engine owns its registry: tests open many engines in one process, and a metric of the
global default registry would count them all. What happens per alert costs a few
``observe``/``inc`` calls on label children looked up once and kept; what is a state (memory,
outbox depth, open positions, plugins) is a gauge the facade sets when scraped.
"""

from __future__ import annotations

from time import perf_counter
from typing import TYPE_CHECKING, Any, Iterator

import trio
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, disable_created_metrics, generate_latest
from prometheus_client.core import CounterMetricFamily

from sandbox import Pool

from engine.domain.orders import OrderRequest, OrderResult
from engine.core.lag import LagMonitor

if TYPE_CHECKING:
    from engine.core.plugins import Plugin
    from engine.core.run import Run
    from engine.adapters.storage import Recorded

# A ``*_created`` series beside each labelled counter and histogram doubles the series count
# (a plugin's hooks) for nothing a dashboard uses. The setting is the process's: this is it.
disable_created_metrics()

# Alert latencies are milliseconds when things go well, seconds when a broker is slow.
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# A hook is tens of microseconds; its budget's timeout is seconds.
HOOK_BUCKETS = (0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1.0, 5.0)
LAG_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATUSES = ("done", "rejected", "failed", "paused", "duplicate")  # an alert's final statuses
PLUGIN_STATES = ("active", "disabled", "failed", "loading")


class _Restarts:
    """``moonhook_sandbox_worker_restarts_total``, read from the pool when scraped (the pool
    counts; a prometheus ``Counter`` cannot be set)."""

    def __init__(self, pool: Pool):
        self._pool = pool

    def collect(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily("moonhook_sandbox_worker_restarts",
                                  "Sandbox worker processes that died and were replaced.", value=self._pool.restarts)


class Metrics:
    """One engine's metrics: the engine and its hooks report to it as things happen; ``render``
    answers a scrape. ``lag`` is the event-loop lag monitor, run in the engine's nursery."""

    def __init__(self, pool: Pool, lag_alert_ms: float, throttle_seconds: float):
        r = self.registry = CollectorRegistry()
        self.alerts = Counter("moonhook_alerts", "Alerts by final status, counted when the status is durable "
                              "(an alert journaled while paused and executed later counts twice).",
                              ["status"], registry=r)
        self._alerts = {s: self.alerts.labels(s) for s in STATUSES}
        self.to_broker = Histogram("moonhook_alert_to_broker_seconds",
                                   "From an alert's receipt to its first broker call.", buckets=BUCKETS, registry=r)
        self.to_fill = Histogram("moonhook_alert_to_fill_seconds",
                                 "From an alert's receipt to the broker's answer executing its first order "
                                 "(the broker call returned ok).", buckets=BUCKETS, registry=r)
        self.hook_seconds = Histogram("moonhook_hook_seconds",
                                      "Hook calls that returned, by plugin and hook: timed by the engine for a "
                                      "single call, by the worker for each plugin of a fold.",
                                      ["plugin", "hook"], buckets=HOOK_BUCKETS, registry=r)
        self._hooks: dict[tuple[str, str], Any] = {}
        self.failures = Counter("moonhook_plugin_failures",
                                "Hook calls skipped, by plugin, hook and kind: the sandbox's (script, instructions, "
                                "timeout, memory, forbidden, crash) or answer (an answer the engine refused).",
                                ["plugin", "hook", "kind"], registry=r)
        self.broker_seconds = Histogram("moonhook_broker_call_seconds", "Broker calls (orders), by request kind.",
                                        ["kind"], buckets=BUCKETS, registry=r)
        self.broker_errors = Counter("moonhook_broker_errors", "Orders the broker refused, by request kind.",
                                     ["kind"], registry=r)
        self._broker: dict[str, tuple[Any, Any]] = {}
        self.outbox = Gauge("moonhook_outbox_depth", "Notifications waiting: queue=outbox, written and not yet "
                            "routed to Telegram chats; queue=telegram, routed and not yet sent (0 without "
                            "[telegram]: messages then go to the log only).", ["queue"], registry=r)
        self.memory = Gauge("moonhook_resident_memory_bytes",
                            "Resident memory of the engine's process and its sandbox workers.", registry=r)
        self.positions = Gauge("moonhook_open_positions", "Positions open at the broker (NaN: it could not say).",
                               registry=r)
        self.plugins = Gauge("moonhook_plugins", "Plugin files by state (failed: the last save did not load).",
                             ["state"], registry=r)
        self.lag_seconds = Histogram("moonhook_event_loop_lag_histogram_seconds",
                                     "The event loop's lag over each 0.5 s in which a task ran: the longer of "
                                     "its longest task step and how late the lag monitor's sleep woke up.",
                                     buckets=LAG_BUCKETS, registry=r)
        self.lag = LagMonitor(lag_alert_ms, throttle_seconds, self.lag_seconds.observe)
        self.worst_lag = Gauge("moonhook_event_loop_lag_seconds",
                               "The largest event-loop lag measured over the last minute.", registry=r)
        r.register(_Restarts(pool))

    # -- per alert, per call: cheap ---------------------------------------------------------

    def recorded(self, recorded: "Recorded", paused: bool) -> None:
        """An alert journaled: a duplicate, or one journaled while paused, is final at once."""
        if recorded.duplicate or paused:
            self.alert("duplicate" if recorded.duplicate else "paused")

    def alert(self, status: str) -> None:
        child = self._alerts.get(status)
        if child is None:
            child = self._alerts[status] = self.alerts.labels(status)
        child.inc()

    def alert_timing(self, run: "Run") -> None:
        """An alert processed: its receipt to its first broker call and to its first fill."""
        if run.first_call is not None:
            self.to_broker.observe(run.first_call - run.received)
        if run.first_fill is not None:
            self.to_fill.observe(run.first_fill - run.received)

    def executed(self, request: OrderRequest, result: OrderResult, sent: float, run: "Run | None") -> None:
        """The broker answered ``request``, sent at ``sent`` (perf_counter)."""
        now = perf_counter()
        children = self._broker.get(request.kind)
        if children is None:
            children = self._broker[request.kind] = (self.broker_seconds.labels(request.kind),
                                                     self.broker_errors.labels(request.kind))
        children[0].observe(now - sent)
        if not result.ok:
            children[1].inc()
        elif run is not None and run.first_fill is None:
            run.first_fill = now

    def hook(self, plugin: "Plugin", hook: str, seconds: float | None) -> None:
        if seconds is None:
            return
        key = (plugin.name, hook)
        child = self._hooks.get(key)
        if child is None:
            child = self._hooks[key] = self.hook_seconds.labels(*key)
        child.observe(seconds)

    def failed(self, plugin: "Plugin", hook: str, kind: str) -> None:
        self.failures.labels(plugin.name, hook, kind).inc()

    # -- scraped --------------------------------------------------------------------------

    async def render(self) -> bytes:
        """The text exposition; rendered in a thread (thousands of plugins' histograms take a
        while). The gauges are set by whoever scrapes, just before."""
        return await trio.to_thread.run_sync(generate_latest, self.registry)
