"""How long the suite waits before it calls a wait a hang, and the wait on a condition every
in-process test uses. One bound for all: a test waits for an event, never for a time, and the
bound only turns a hang into a failure, so it is set for a loaded 2-core machine (the sandbox's
and MetaTrader's worker processes started, SQLite files synced, other suites running beside).
"""

from __future__ import annotations

from typing import Any, Callable

import trio

HANG = 60.0  # seconds: far beyond any healthy wait, a process start on a busy machine included


async def until(check: Callable[[], Any], bound: float = HANG) -> None:
    """Returns as soon as ``check()`` holds; raises trio.TooSlowError after ``bound`` seconds."""
    with trio.fail_after(bound):
        while not check():
            await trio.sleep(0.01)


class Ticks:
    """Counts 10 ms sleeps: proof that the event loop kept running (``run`` in a nursery, until cancelled)."""

    def __init__(self) -> None:
        self.count = 0

    async def run(self) -> None:
        while True:
            await trio.sleep(0.01)
            self.count += 1
