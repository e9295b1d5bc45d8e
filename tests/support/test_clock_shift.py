"""``support/clock_shift.py`` moves the wall clock of what a walk starts, and of the test, by the
same seconds: a walk that relies on it at midday would otherwise pass on the real clock, and fail
only when run near a day's turn."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from support.clock_shift import at_midday, install
from support.e2e_support import User

DAY = 86_400
READ = "import time; print(time.time(), time.time_ns())"


def test_a_process_started_with_only_the_users_path_reads_the_clock_moved(tmp_path):
    """As the MetaTrader 5 worker is started, the engine's sys.path its PYTHONPATH: the shift is in the
    file found there, in no variable, which that worker is not handed."""
    user = User(tmp_path)
    install(user, 3 * DAY)
    before = time.time()
    shown = subprocess.run([sys.executable, "-c", READ], env={**os.environ, "PYTHONPATH": user.env["PYTHONPATH"]},
                           capture_output=True, text=True, check=True, timeout=60)
    after = time.time()
    seconds, ns = map(float, shown.stdout.split())
    assert before + 3 * DAY <= seconds <= after + 3 * DAY, (before, seconds, after)
    assert before + 3 * DAY <= ns / 1e9 <= after + 3 * DAY, (before, ns, after)


def test_at_midday_moves_the_test_and_its_commands_to_twelve_hours_into_the_day(tmp_path, monkeypatch):
    user = User(tmp_path)
    real = time.time()
    seconds = at_midday(user, monkeypatch, lambda now: now - now % DAY)
    assert time.time() % DAY >= DAY / 2 and time.time() - real >= seconds  # this process, from midday on
    shown = subprocess.run([sys.executable, "-c", READ], env=user.env, capture_output=True, text=True, check=True,
                           timeout=60)
    child = float(shown.stdout.split()[0])
    assert DAY / 2 <= child % DAY and child <= time.time(), (child, time.time())
