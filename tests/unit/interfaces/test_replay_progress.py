"""moonhook replay's progress bar: nothing for a replay shorter than SHOW_AFTER, then alerts
done out of the total and the time left, gone at the end (the clock is the test's)."""

import io
from pathlib import Path

from rich.console import Console

from engine.interfaces.replay_command import SHOW_AFTER, _bar


def test_the_bar_shows_only_once_a_replay_has_run_a_second_and_counts_alerts():
    now = [100.0]
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    update = _bar(Path("scripts"), 1000, clock=lambda: now[0], console=console)
    for done in range(1, 200):
        now[0] += SHOW_AFTER / 400
        update(done)
    assert out.getvalue() == ""  # half a second in: silent
    now[0] += SHOW_AFTER
    update(600)
    update(-1)
    shown = out.getvalue()
    assert "replay scripts" in shown and "600/1000" in shown
