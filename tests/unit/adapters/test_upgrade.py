"""A journal an older moonhook left, opened by this one: its schema brought up to date whole or
not at all, so that a failed upgrade never strands the trader between two versions."""

import sqlite3
from contextlib import contextmanager

import pytest

from engine.adapters.storage import MIGRATIONS, AlertJournal, Database, SchemaError
from engine.adapters.storage import database as database_module
from engine.domain.alerts import parse_body

OLDER = 7   # a moonhook from before the dashboard's indexes (schema 8) and everything since


@contextmanager
def moonhook_of(monkeypatch, migrations):
    """Inside the block, ``Database`` is that of a moonhook whose schema has ``migrations``."""
    with monkeypatch.context() as m:
        m.setattr(database_module, "MIGRATIONS", tuple(migrations))
        yield


def left_by_older(monkeypatch, path) -> int:
    """The journal an older moonhook left at ``path``, an alert in flight in it (its id)."""
    with moonhook_of(monkeypatch, MIGRATIONS[:OLDER]):
        db = Database(path)
        alert_id = AlertJournal(db).record(parse_body("buy EURUSD volume=0.1 price=1.1 id=inflight"), now=1000).id
        db.close()
    return alert_id


def disk_full(db) -> None:
    """A migration that fails as SQLite does when the disk fills while it builds an index."""
    db.execute("CREATE TABLE half_made (x)")
    raise sqlite3.OperationalError("database or disk is full")


def test_an_upgrade_that_fails_leaves_the_file_as_the_older_moonhook_left_it(tmp_path, monkeypatch):
    path = tmp_path / "moonhook.db"
    alert_id = left_by_older(monkeypatch, path)
    with moonhook_of(monkeypatch, (*MIGRATIONS, disk_full)), pytest.raises(SchemaError) as failed:
        Database(path)
    assert (f"upgrade from schema {OLDER} to {len(MIGRATIONS) + 1} failed (database or disk is full); the file was "
            f"left as it was, at schema {OLDER}") in str(failed.value)
    with moonhook_of(monkeypatch, MIGRATIONS[:OLDER]):  # the trader goes back to the moonhook that worked
        db = Database(path)
        assert db.schema_version == OLDER
        assert not {"plans", "untold_events", "half_made"} & set(db.db.table_names())
        assert [r["id"] for r in AlertJournal(db).unfinished()] == [alert_id]   # still to be run
        db.close()
    db = Database(path)   # and, the disk freed, the upgrade runs whole
    assert db.schema_version == len(MIGRATIONS)
    assert [r["id"] for r in AlertJournal(db).unfinished()] == [alert_id]


def test_a_newer_journal_is_refused_unchanged(tmp_path, monkeypatch):
    path = tmp_path / "moonhook.db"
    Database(path).close()
    before = path.read_bytes()
    with moonhook_of(monkeypatch, MIGRATIONS[:OLDER]), pytest.raises(SchemaError) as refused:
        Database(path)
    assert f"schema version {len(MIGRATIONS)} is newer than this moonhook ({OLDER})" in str(refused.value)
    assert path.read_bytes() == before
