"""A kill -9 at chosen commits of a paper session (support/crash_sweep.py, support/crash_point.py),
then a restart and the rest of the alerts: the session ends as the same session never cut. Every
alert answered before the kill is journaled and done once; no client id has two paper orders,
no position opens twice, no trades message is told twice (a repeat marked "told at this start",
docs/plugins.md, is no second telling), and the plugin's store holds what it would have.

The points are named by what the commit writes, so each hits the same step whatever the
engine's other tasks commit around it. A sweep of every commit of the session, after and before
each (about 140 cuts, 8 minutes on 8 cores), found nothing more; it runs with
``CRASH_SWEEP=1 python -m pytest tests/e2e/test_walk_crash_points.py``."""

from __future__ import annotations

import os

import pytest

from support.crash_sweep import clean, cuts

# (what the commit writes, and which of those commits; whether the kill comes before it)
POINTS = (
    ("INSERT INTO alerts#1", False),          # k1 journaled, perhaps unanswered: run by the recovery
    ("INSERT INTO orders#1", False),          # k1's order in the ledger, not at the broker
    ("INSERT INTO paper_deals#1", False),     # k1's order booked, its ledger row and its fill not
    ("UPDATE alerts SET#2", True),            # k1 all done but its status (#1 is the migration's)
    ("INSERT INTO outbox#2", False),          # k2's fill in the trades chat, still kept untold
    ("DELETE FROM paper_positions#1", False),  # k4's close booked, not answered
    ("UPDATE paper_orders SET#1", False),     # k5's price filled the buy limit, untold; k5 not run
    ("DELETE FROM paper_positions#2", False),  # k6's price hit the take-profit, untold
)


def test_a_kill_at_any_of_these_commits_ends_as_the_session_never_cut(tmp_path):
    expected = clean(tmp_path / "clean")
    found = cuts(tmp_path, POINTS, expected, threads=4, reach=lambda at: True)
    assert not found, "\n".join(found)


@pytest.mark.skipif(not os.environ.get("CRASH_SWEEP"), reason="the whole sweep: CRASH_SWEEP=1 (minutes)")
def test_a_kill_at_every_commit_of_the_session_ends_as_the_session_never_cut(tmp_path):
    expected = clean(tmp_path / "clean", trace=tmp_path / "commits.txt")
    commits = len((tmp_path / "commits.txt").read_text().splitlines())
    points = [(str(n), before) for n in range(1, commits + 1) for before in (False, True)]
    threads = int(os.environ["CRASH_SWEEP"]) if os.environ["CRASH_SWEEP"].isdigit() else 8
    # A run's last commits (the stop's) may batch into fewer than the clean run's: left unreached
    found = cuts(tmp_path, points, expected, threads, reach=lambda at: int(at) <= commits - 3)
    assert not found, "\n".join(found)
