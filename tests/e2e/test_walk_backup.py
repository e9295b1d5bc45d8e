"""A trader backs up the journal while `moonhook run` trades, then restores it: `moonhook backup`
writes a whole, checked, private copy (never over an earlier one), and a restored copy brings
back the alerts and the paper account as they were when it was taken."""

from __future__ import annotations

import shutil
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing

from support.e2e_support import DEADLINE, init, outcome
from support.upgrade_fixtures import FIXTURES


def test_a_backup_taken_while_trading_restores_the_journal_and_the_account(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    for n in range(3):
        assert run.settled(run.webhook(f"buy EURUSD volume=0.1 price=1.1 sl=1.09 id=b{n}")["id"])["status"] == "done"
    made = user.moonhook("backup", "backups/monday.db", cwd="bot")
    assert made.returncode == 0, outcome(made)
    assert "data/moonhook.db copied to backups/monday.db: schema " in made.stdout and ", 3 alerts, " in made.stdout
    copy = user.home / "bot" / "backups" / "monday.db"
    assert stat.S_IMODE(copy.stat().st_mode) == 0o600                     # the journal holds trades: private
    with sqlite3.connect(copy) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    again = user.moonhook("backup", "backups/monday.db", cwd="bot")
    assert again.returncode == 2 and "backups/monday.db: exists already" in again.stderr
    assert not list(copy.parent.glob("*.part"))

    late = run.settled(run.webhook("buy EURUSD volume=0.2 price=1.1 sl=1.09 id=late")["id"])  # after the backup
    assert late["status"] == "done"
    assert run.interrupt() == 0
    data = user.home / "bot" / "data"
    for leftover in data.glob("moonhook.db*"):                               # restored as docs/operations.md says
        leftover.unlink()
    shutil.copy(copy, data / "moonhook.db")

    restored = user.start("run", config=config, cwd="bot")
    assert [a["source_id"] for a in restored.get("/api/alerts")["alerts"]] == ["b2", "b1", "b0"]
    assert [p["volume"] for p in restored.get("/api/positions")["positions"]] == [0.1, 0.1, 0.1]
    assert restored.interrupt() == 0


def test_a_backup_of_the_first_alert_counts_it_in_the_singular(user):
    # The README's first steps (one alert, then a backup) ended on "1 alerts".
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09")["id"])["status"] == "done"
    made = user.moonhook("backup", "backups/today.db", cwd="bot")
    assert made.returncode == 0 and ", 1 alert, " in made.stdout, outcome(made)
    assert run.interrupt() == 0


def test_a_backup_to_a_path_that_cannot_be_a_file_says_what_is_wrong_with_it(user):
    # It said "[Errno 17] File exists: 'moonhook.toml'" of a path under a file.
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    made = user.moonhook("backup", "moonhook.toml/monday.db", cwd="bot")
    assert (made.returncode, made.stderr) == (2, "moonhook: backup: Not a directory: moonhook.toml/monday.db\n")
    assert run.interrupt() == 0


def test_what_is_written_after_a_backup_survives_a_power_cut(user):
    """`moonhook backup` (or the sqlite3 shell) reads the journal while the engine runs. Once it
    closed, the engine's next commits went to a WAL that reader had deleted: an alert answered
    and a script's store.set after it were gone at the restart that followed a kill -9."""
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "note.lua").write_text(
        "function on_alert(a) store.set('seen:' .. a.alert_id, a.volume) end\n")
    run = user.start("run", config=config, cwd="bot")
    assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=before")["id"])["status"] == "done"
    made = user.moonhook("backup", "backups/monday.db", cwd="bot")
    assert made.returncode == 0, outcome(made)
    after = run.settled(run.webhook("buy EURUSD volume=0.2 price=1.1 sl=1.09 id=after")["id"])
    assert after["status"] == "done"
    run.kill()  # SIGKILL to the engine and its workers: a power cut as the file system keeps it

    with sqlite3.connect(user.home / "bot" / "data" / "moonhook.db") as db:
        notes = db.execute("SELECT key, value FROM store WHERE plugin = 'note' ORDER BY key").fetchall()
    assert notes == [("seen:1", '["v",[0.1]]'), ("seen:2", '["v",[0.2]]')], notes
    again = user.start("run", config=config, cwd="bot")
    assert [a["source_id"] for a in again.get("/api/alerts")["alerts"]] == ["after", "before"]
    assert again.interrupt() == 0


# A moonhook of schema 16 or before (until 32761cd) as it ran: its connection to the journal had lost every
# POSIX lock of its process on the file (its second connection opened and closed the file), so a
# reader in another process took itself for the last one. It notes "a", waits for the backup, notes
# "b" and is killed (kill -9, its connection never closed).
OLDER_ENGINE = """
import os, sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("PRAGMA wal_autocheckpoint=0")
note = "INSERT INTO store (plugin, key, value, updated_at) VALUES ('keeper', ?, '[\\"v\\",[1]]', 0)"
db.execute(note, ["a"])
os.close(os.open(sys.argv[1], os.O_RDONLY))
print("ready", flush=True)
sys.stdin.readline()
db.execute(note, ["b"])
os._exit(0)
"""


def test_a_backup_before_the_upgrade_leaves_the_older_moonhooks_journal_whole(user):
    """The docs' upgrade: a `moonhook backup` first. Taken with the new moonhook while the older one
    still trades, it deleted the older one's WAL at its close: every commit after it (an alert
    answered, its trade) was gone at the older one's next kill. The backup reads, and opens the
    journal read-only: it never writes the WAL back nor deletes it, whoever else has the file open."""
    shutil.copytree(FIXTURES / "schema-10", user.home / "bot")
    journal = user.home / "bot" / "data" / "moonhook.db"
    older = subprocess.Popen([sys.executable, "-c", OLDER_ENGINE, str(journal)], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert older.stdout.readline() == "ready\n"
        made = user.moonhook("backup", "backups/before-the-upgrade.db", cwd="bot")
        assert made.returncode == 0, outcome(made)
        older.stdin.write("go on\n")
        older.stdin.flush()
        assert older.wait(timeout=DEADLINE) == 0
    finally:
        older.kill()
    with closing(sqlite3.connect(journal)) as db:
        assert db.execute("SELECT key FROM store WHERE plugin = 'keeper' AND key IN ('a', 'b') ORDER BY key"
                          ).fetchall() == [("a",), ("b",)]
    with closing(sqlite3.connect(user.home / "bot" / "backups" / "before-the-upgrade.db")) as db:
        assert db.execute("SELECT key FROM store WHERE key IN ('a', 'b')").fetchall() == [("a",)]
