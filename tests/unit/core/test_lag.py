"""The loop-lag monitor (engine/lag.py) sleeps while nothing else runs, and still catches what
held the loop, and still tells a folded warning's summary when its window ends."""

from __future__ import annotations

import logging
import re
import time

import trio

from engine.core.lag import LagMonitor

from support.waits import HANG


async def test_an_idle_loop_is_not_sampled_and_work_wakes_the_monitor(autojump_clock, caplog):
    # Trio's clock jumps whenever every task waits: a monitor waking each interval would
    # observe 120 intervals during the minute below.
    caplog.set_level(logging.WARNING, logger="moonhook.lag")
    seen: list[float] = []
    monitor = LagMonitor(bound_ms=100, throttle_seconds=60, observe=seen.append)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(monitor.run, name="lag monitor")
        await trio.sleep(60)
        assert len(seen) <= 2
        idle = len(seen)

        time.sleep(0.2)                  # this step (the one that woke at 60 s) holds the loop
        await trio.sleep(1)              # the monitor, woken by this task's step, has measured it
        assert len(seen) > idle and max(seen) >= 0.2
        assert any("event loop held" in r.getMessage() and "test_an_idle_loop" in r.getMessage()
                   for r in caplog.records)

        await trio.sleep(60)             # idle again: the monitor sleeps again
        assert len(seen) <= idle + 4
        nursery.cancel_scope.cancel()


async def test_a_folded_warning_is_told_when_its_window_ends_while_idle():
    # The real clock: the throttle's windows are timed on perf_counter.
    told = trio.Event()

    class Summary(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            # At least the hold folded below; a loaded machine's late wake-ups fold in too.
            if re.search(r"\(\d+ more like this in the last 2 s\)", record.getMessage()):
                told.set()

    handler = Summary()
    logger = logging.getLogger("moonhook.lag")
    logger.addHandler(handler)
    try:
        monitor = LagMonitor(bound_ms=20, throttle_seconds=2.0, interval=0.05)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(monitor.run, name="lag monitor")
            await trio.sleep(0.1)
            time.sleep(0.05)             # held: told
            await trio.sleep(0.1)
            time.sleep(0.05)             # held again within the window (2 s): folded
            await trio.sleep(0.1)        # measured
            # From here this task only waits: nothing runs but the monitor, which must wake
            # for the window's end by itself.
            with trio.fail_after(HANG):
                await told.wait()
            nursery.cancel_scope.cancel()
    finally:
        logger.removeHandler(handler)
