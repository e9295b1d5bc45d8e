"""The journal is private: the data folder is made 0700, its databases 0600 (trades and alerts)."""

from __future__ import annotations

import stat
import subprocess
import sys

from engine.adapters.storage import Database
from support.engine_support import running


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_a_new_engine_makes_its_data_folder_and_journal_private(tmp_path):
    async with running(tmp_path) as engine:
        database = engine.config.database
        modes = {p.name: mode(p) for p in database.parent.iterdir() if p.name.startswith(database.name)}
    assert mode(database.parent) == 0o700
    assert "moonhook.db-wal" in modes and modes == {name: 0o600 for name in modes}


def test_an_existing_readable_database_is_narrowed(tmp_path):
    path = tmp_path / "old.db"
    Database(path).close()
    path.chmod(0o644)
    Database(path).close()
    assert mode(path) == 0o600


def _read_elsewhere(path) -> str:
    """The store's keys as another process reads them (the sqlite3 shell, ``moonhook backup``),
    closing its connection after."""
    code = f"import sqlite3; print(sqlite3.connect({str(path)!r}).execute('SELECT key FROM store').fetchall())"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()


def test_the_second_connection_on_a_file_leaves_the_first_ones_locks(tmp_path):
    # Making the journal's file private opened and closed it: that dropped the engine connection's
    # locks, a reader in another process then deleted the WAL at its close, and the next commits
    # went to the deleted file, lost at a kill -9.
    path = tmp_path / "moonhook.db"
    engine = Database(path, fsync=False)
    journal = Database(path, shared_lock=False, turn=engine.turn)
    with journal.transaction() as db:
        db.execute("INSERT INTO store (plugin, key, value, updated_at) VALUES ('p', 'a', '1', 0)")
    assert _read_elsewhere(path) == "[('a',)]"
    with journal.transaction() as db:
        db.execute("INSERT INTO store (plugin, key, value, updated_at) VALUES ('p', 'b', '1', 0)")
    assert _read_elsewhere(path) == "[('a',), ('b',)]"
    journal.close()
    engine.close()
