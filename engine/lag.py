"""The event-loop lag monitor: how long the loop was not free to run a ready task, and which
task held it.

Everything the engine does shares one Trio thread; a task step that blocks (a slow query, a
CPU-bound loop) delays every alert behind it. An instrument remembers the longest task step
(one ``perf_counter`` call a step); a task wakes every ``interval`` seconds, measures how late
it woke, and takes the longer of the two as the interval's lag. A lag over the bound is
logged with the task that ran longest; repeats are folded into one warning a window (the
notifications' throttle), told with their count when it ends.

The interval is 0.5 s: each wake-up of an idle engine costs CPU (a 0.1 s one cost about 0.35 %
of a core on the development machine), and the longest step is caught whatever the interval.
"""

from __future__ import annotations

import logging
from collections import deque
from time import perf_counter
from typing import Callable

import trio

from .notify.throttle import Throttle

log = logging.getLogger("moonhook.lag")

WINDOW = 60.0  # seconds over which ``worst`` looks back
INTERVAL = 0.5


class LongestStep(trio.abc.Instrument):
    """Remembers the longest task step since ``take``. Each step's start ends the step before
    it (the scheduler's own time between them counted in), and waiting for I/O ends it too, so
    idle time is not a step: one hook a step rather than two, which under a saturating load
    halves the instrument's cost (two hooks cost about 5 % of the loop)."""

    def __init__(self) -> None:
        self._started = perf_counter()
        self._task: str | None = None  # the step running, None while the loop waits
        self.longest = 0.0
        self.task = ""

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        now = perf_counter()
        if self._task is not None:
            self._ended(now)
        self._started, self._task = now, task.name

    def before_io_wait(self, timeout: float) -> None:
        if self._task is not None:
            self._ended(perf_counter())
            self._task = None

    def _ended(self, now: float) -> None:
        held = now - self._started
        if held > self.longest:
            self.longest, self.task = held, self._task or ""

    def take(self) -> tuple[float, str]:
        """The longest step since the last call (seconds, the task's name), and starts over."""
        found = self.longest, self.task
        self.longest, self.task = 0.0, ""
        return found


class LagMonitor:
    """The lag task (``run``, in the engine's nursery) and what it measured (``worst``)."""

    def __init__(self, bound_ms: float, throttle_seconds: float, observe: Callable[[float], None] = lambda lag: None,
                 interval: float = INTERVAL):
        """Warns when the lag is over ``bound_ms``; ``observe(lag)`` is given each interval's
        lag (seconds)."""
        self.bound_ms = bound_ms
        self.interval = interval
        self._observe = observe
        self._throttle = Throttle(throttle_seconds)
        self._recent: deque[tuple[float, float]] = deque()  # (when, lag) over the last WINDOW

    def worst(self) -> float:
        """The largest lag measured over the last minute (seconds; 0 before the first)."""
        self._forget(perf_counter())
        return max((lag for _, lag in self._recent), default=0.0)

    def _forget(self, now: float) -> None:
        while self._recent and self._recent[0][0] < now - WINDOW:
            self._recent.popleft()

    async def run(self) -> None:
        """Measures until cancelled; the instrument is installed meanwhile."""
        steps = LongestStep()
        trio.lowlevel.add_instrument(steps)
        try:
            while True:
                slept = perf_counter()
                await trio.sleep(self.interval)
                now = perf_counter()
                held, task = steps.take()
                lag = max(now - slept - self.interval, held)
                self._forget(now)
                self._recent.append((now, lag))
                self._observe(lag)
                self._check(lag, held, task, now)
        finally:
            try:
                trio.lowlevel.remove_instrument(steps)
            except KeyError:  # Trio removed it (it raised)
                pass

    def _check(self, lag: float, held: float, task: str, now: float) -> None:
        for _, text, _ in self._throttle.due(now):
            log.warning("%s", text)
        if lag * 1000 <= self.bound_ms:
            return
        if held >= lag:
            text = f"event loop held {held * 1000:.0f} ms by task {task!r}"
        else:
            text = (f"event loop {lag * 1000:.0f} ms late; the longest task step was {held * 1000:.0f} ms "
                    f"(by {task!r}): many steps in a row, or the machine")
        text += f"; over monitor.lag_alert_ms ({self.bound_ms:g})"
        if self._throttle.admit(("errors", text, "lag"), now):
            log.warning("%s", text)
