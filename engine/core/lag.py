"""The event-loop lag monitor: how long the loop was not free to run a ready task, and which
task held it.

Everything the engine does shares one Trio thread; a task step that blocks (a slow query, a
CPU-bound loop) delays every alert behind it. An instrument remembers the longest task step
(one ``perf_counter`` call a step); a task wakes every ``interval`` seconds, measures how late
it woke, and takes the longer of the two as the interval's lag. A lag over the bound is
logged with the task that ran longest; repeats are folded into one warning a window (the
notifications' throttle), told with their count when it ends.

The interval is 0.5 s while the engine works: each wake-up costs CPU (a 0.1 s one cost about
0.35 % of a core on the development machine), and the longest step is caught whatever the
interval. An interval in which no other task ran has nothing to measure (no task was waiting
for the loop), so the monitor then sleeps until another task runs, or a folded warning's
summary is due: an idle engine is not woken twice a second for it (a Trio wake-up from idle
costs about 0.35 ms of CPU on the development machine: 0.04-0.07 % of a core at 2 a second).
Idle intervals are therefore not observed: the lag histogram counts the intervals in which
something ran.
"""

from __future__ import annotations

import logging
import math
from collections import deque
from time import perf_counter
from typing import Callable

import trio

from engine.adapters.notify.throttle import Throttle

log = logging.getLogger("moonhook.lag")

WINDOW = 60.0  # seconds over which ``worst`` looks back
INTERVAL = 0.5


class LongestStep(trio.abc.Instrument):
    """Remembers the longest task step since ``take``. Each step's start ends the step before
    it (the scheduler's own time between them counted in), and waiting for I/O ends it too, so
    idle time is not a step: one hook a step rather than two, which under a saturating load
    halves the instrument's cost (two hooks cost about 5 % of the loop)."""

    def __init__(self, owner: trio.lowlevel.Task | None = None) -> None:
        self._started = perf_counter()
        self._task: str | None = None  # the step running, None while the loop waits
        self.longest = 0.0
        self.task = ""
        self.owner = owner    # the lag monitor's task: its own steps are not activity
        self.active = False   # another task stepped since ``take``
        self.on_activity: Callable[[], None] | None = None  # called once, at another task's next step

    def before_task_step(self, task: trio.lowlevel.Task) -> None:
        now = perf_counter()
        if self._task is not None:
            self._ended(now)
        self._started, self._task = now, task.name
        if task is not self.owner:
            self.active = True
            if self.on_activity is not None:
                wake, self.on_activity = self.on_activity, None
                wake()

    def before_io_wait(self, timeout: float) -> None:
        if self._task is not None:
            self._ended(perf_counter())
            self._task = None

    def _ended(self, now: float) -> None:
        held = now - self._started
        if held > self.longest:
            self.longest, self.task = held, self._task or ""

    def take(self) -> tuple[float, str]:
        """The longest step since the last call (seconds, the task's name), and starts over
        (``active`` too)."""
        found = self.longest, self.task
        self.longest, self.task, self.active = 0.0, "", False
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
        steps = LongestStep(trio.lowlevel.current_task())
        trio.lowlevel.add_instrument(steps)
        try:
            while True:
                slept = perf_counter()
                await trio.sleep(self.interval)
                now = perf_counter()
                active = steps.active
                held, task = steps.take()
                lag = max(now - slept - self.interval, held)
                self._forget(now)
                self._recent.append((now, lag))
                self._observe(lag)
                self._check(lag, held, task, now)
                if not active:
                    await self._until_active(steps)
        finally:
            try:
                trio.lowlevel.remove_instrument(steps)
            except KeyError:  # Trio removed it (it raised)
                pass

    async def _until_active(self, steps: LongestStep) -> None:
        """Returns once another task runs (the instrument tells it; steps taken meanwhile
        count in the next interval), or when a folded warning's summary is due."""
        woken = trio.Event()
        token = trio.lowlevel.current_trio_token()
        steps.on_activity = lambda: token.run_sync_soon(woken.set)  # not from inside the scheduler
        due = self._throttle.next_deadline()
        try:
            with trio.move_on_at(math.inf if due is None else trio.current_time() + due - perf_counter()):
                await woken.wait()
        finally:
            steps.on_activity = None
        if not woken.is_set():
            self._check(0.0, 0.0, "", perf_counter())  # tell the summaries due

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
