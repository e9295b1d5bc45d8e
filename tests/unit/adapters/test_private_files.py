"""The journal is private: the data folder is made 0700, its databases 0600 (trades and alerts)."""

from __future__ import annotations

import stat

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
