"""A trader goes back to an older moonhook on the journal a newer one left: `moonhook run` says
why it cannot start in one line, and leaves the file as it found it."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from engine.adapters.storage import MIGRATIONS

from support.e2e_support import init, outcome


def test_a_journal_a_newer_moonhook_left_is_refused_in_one_line_and_left_unchanged(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=n1")["id"])["status"] == "done"
    assert run.interrupt() == 0
    journal = user.home / "bot" / "data" / "moonhook.db"
    with closing(sqlite3.connect(journal)) as db:                  # as a newer moonhook's migration leaves it
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    before = journal.read_bytes()

    refused = user.moonhook("run", cwd="bot")
    assert refused.returncode == 2, outcome(refused)
    assert refused.stderr.strip().splitlines()[-1] == (
        f"moonhook: data/moonhook.db: schema version {len(MIGRATIONS) + 1} is newer than this moonhook "
        f"({len(MIGRATIONS)}): run the moonhook that wrote it, or restore a backup taken before it; the file was "
        "not changed")
    assert "Traceback" not in refused.stderr
    assert journal.read_bytes() == before
