"""The wall clock of a walk moved to the middle of a trading day, so that a walk that must stay
inside one day (a day's loss limit, a strategy's sum of the day) passes at 23:59:59 as at noon,
without waiting for the day to turn.

``at_midday(user, monkeypatch, day_start)`` moves both clocks below to the middle of the day,
``here_at_midday(monkeypatch)`` this process's only (an engine run in the test, paper broker).
``install(user, seconds)``: this module copied as ``sitecustomize.py`` into a folder first on the
PYTHONPATH of the commands ``user`` runs, the shift written into the copy. It adds ``seconds`` to
``time.time()`` and ``time.time_ns()`` in every Python process started from there: ``moonhook run``
and ``status`` (the engine's clock, the journal's times) and the MetaTrader 5 worker with the
stand-in terminal in it (handed the engine's ``sys.path``, not its environment: hence the shift in
the file, not in a variable). ``shifted(monkeypatch, seconds)`` moves the test's own ``time.time``
alike, for the stand-in terminal the test drives. The monotonic clocks (deadlines, timers) are left
alone, and so is a Lua script's ``os.time()`` without the engine's ``time.now()`` (C's clock).
Test-only: nothing of it is in the product.
"""

from __future__ import annotations

import time

SHIFT = 0.0  # seconds added to the wall clock; install() writes the copy's
HALF_A_DAY = 12 * 3600.0


def utc_day(now: float) -> float:
    """The start of the UTC day ``now`` is in: engine.trading_day's default, and the UTC date."""
    return now - now % 86_400


def at_midday(user, monkeypatch, day_start) -> float:
    """The wall clock of ``user``'s commands and of this test moved to 12:00:00 of the day it is in
    (12 hours after ``day_start(now)``): a minute's room before the minute turns, an hour's before
    the hour, half a day's before the day; the seconds it moved."""
    now = time.time()
    seconds = day_start(now) + HALF_A_DAY - now
    install(user, seconds)
    shifted(monkeypatch, seconds)
    return seconds


def install(user, seconds: float) -> None:
    """The commands ``user`` runs from now on see the wall clock ``seconds`` ahead."""
    from pathlib import Path

    site = user.home / "clock"
    site.mkdir(exist_ok=True)
    text, line = Path(__file__).read_text(encoding="utf-8"), "\nSHIFT = 0.0 "
    assert text.count(line) == 1, f"{line!r} is not in {__file__} once"
    (site / "sitecustomize.py").write_text(text.replace(line, f"\nSHIFT = {float(seconds)!r} "), encoding="utf-8")
    user.on_path(site)


def here_at_midday(monkeypatch, day_start=utc_day) -> float:
    """This process's wall clock moved to 12 hours into its day, for an engine the test runs in it
    (``engine_support.running`` reads ``time.time`` as it starts one); the seconds it moved."""
    now = time.time()
    seconds = day_start(now) + HALF_A_DAY - now
    shifted(monkeypatch, seconds)
    return seconds


def shifted(monkeypatch, seconds: float) -> None:
    """This process's ``time.time()`` ``seconds`` ahead, until the test ends."""
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + seconds)


if __name__ == "sitecustomize" and SHIFT:
    _time, _time_ns, _ns = time.time, time.time_ns, round(SHIFT * 1e9)
    time.time = lambda: _time() + SHIFT
    time.time_ns = lambda: _time_ns() + _ns
