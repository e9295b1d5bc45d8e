"""What the administrators hear about without asking: a slow alert, the engine's memory, the
broker's connection (``[monitor]``).

Each is an "admin" notification (the monitoring plan: the engine's health, for whoever runs
it) with its own key, so the throttle folds a storm of them into one message a window.
Memory counts the engine's process, its sandbox workers and the broker's helper process
(MetaTrader 5's worker), sampled every ``interval_seconds``; crossing the limit is told once,
and so is getting back under it.
"""

from __future__ import annotations

import logging
from typing import Callable

import psutil
import trio

from engine.domain.orders import Connection, Notice
from engine.domain.config import MonitorConfig
from engine.adapters.notify import Notifier

log = logging.getLogger("moonhook.monitor")

MB = 1024 * 1024
HYSTERESIS = 0.9  # back under the limit: under this share of it


class Monitor:
    def __init__(self, config: MonitorConfig, notifier: Notifier, workers: Callable[[], list[int]]):
        """``workers()`` lists the process ids of the sandbox workers and the broker's helpers."""
        self.config = config
        self._notifier = notifier
        self._workers = workers
        self._over = False
        self._down = False   # "broker disconnected" told, and no "connected" since

    def latency(self, alert_id: int, ms: float) -> None:
        """An alert reached the broker ``ms`` after its receipt."""
        if ms > self.config.latency_alert_ms:
            self._notifier.send("admin", f"alert {alert_id} took {ms:.0f} ms from receipt to the broker "
                                          f"(monitor.latency_alert_ms is {self.config.latency_alert_ms:g})",
                                key="latency")

    def connection(self, event: Connection) -> None:
        """Tells the broker's connection lost, or found: "connected again" only after "disconnected" was told,
        as "again" reads "it was lost"; plain "connected" when it never was (its start failed: told "not
        reachable at the start") or when moonhook made its session again itself (nothing lost was told)."""
        if event.connected:
            # Two keys: the throttle folds a key's messages, and would hold a loss's "again" behind "connected".
            said, key = ("broker connected again", "broker:up") if self._down else ("broker connected", "broker:on")
            self._down = False
            self._notifier.send("admin", said + (f": {event.detail}" if event.detail else ""), key=key)
        else:
            self._down = not event.at_start   # found after a start that could not connect: "connected"
            # Two keys too: a loss soon after the start's failure is another event, not told a throttle later.
            said, key = ("broker not reachable at the start", "broker:start") if event.at_start else (
                "broker disconnected", "broker:down")
            self._notifier.send("admin", said + (f": {event.detail}" if event.detail else "")
                                + "; alerts wait for it until they expire (engine.max_alert_age), plugins' and "
                                  "admins' orders are refused until it is back", key=key)

    def notice(self, event: Notice) -> None:
        self._notifier.send("admin", f"broker: {event.text}", key=event.key)

    def memory_bytes(self) -> int:
        """Resident memory of the engine, its sandbox workers and the broker's helper (MT5's worker)."""
        total = psutil.Process().memory_info().rss
        for pid in self._workers():
            try:
                total += psutil.Process(pid).memory_info().rss
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                pass  # a worker being replaced
        return total

    async def run(self) -> None:
        """Samples memory until cancelled."""
        limit = self.config.memory_alert_mb * MB
        while True:
            used = await trio.to_thread.run_sync(self.memory_bytes)
            if used > limit and not self._over:
                self._over = True
                self._notifier.send("admin", f"memory: {used / MB:.0f} MB resident, over monitor.memory_alert_mb "
                                              f"({self.config.memory_alert_mb:g} MB)", key="memory")
            elif used < limit * HYSTERESIS and self._over:
                self._over = False
                self._notifier.send("admin", f"memory: back to {used / MB:.0f} MB resident", key="memory:ok")
            await trio.sleep(self.config.interval_seconds)
