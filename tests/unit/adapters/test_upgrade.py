"""A journal an older moonhook left, opened by this one: its schema brought up to date whole or
not at all, so that a failed upgrade never strands the trader between two versions; a newer
one refused unchanged; and what the older one left that this one reads otherwise made right."""

import json
import sqlite3
import time
from contextlib import closing

import pytest

from engine.adapters.storage import MIGRATIONS, AlertJournal, Database, SchemaError
from engine.adapters.storage.backup import before_upgrade
from engine.adapters.storage.switches import PAUSE, Switch, Switches
from engine.domain.alerts import parse_body

from support.engine_support import running
from support.fakes import FakeBroker
from support.older_journal import moonhook_of

OLDER = 7   # a moonhook from before the dashboard's indexes (schema 8) and everything since
LEFT_PAUSED = 14   # the last schema whose moonhook left 'paused' the alerts a resume did not run
DAY = 86400.0


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
    assert (f"upgrade from schema {OLDER} to {len(MIGRATIONS) + 1} failed in migration {len(MIGRATIONS) + 1} "
            f"(database or disk is full); the file was left as it was, at schema {OLDER}") in str(failed.value)
    assert not path.with_name(f"moonhook.schema-{OLDER}.db").exists()   # the file itself is the way back
    with moonhook_of(monkeypatch, MIGRATIONS[:OLDER]):  # the trader goes back to the moonhook that worked
        db = Database(path)
        assert db.schema_version == OLDER
        assert not {"plans", "untold_events", "half_made"} & set(db.db.table_names())
        assert [r["id"] for r in AlertJournal(db).unfinished()] == [alert_id]   # still to be run
        db.close()
    db = Database(path)   # and, the disk freed, the upgrade runs whole
    assert db.schema_version == len(MIGRATIONS)
    assert [r["id"] for r in AlertJournal(db).unfinished()] == [alert_id]


def _dump(path) -> list[str]:
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def test_an_upgrade_keeps_the_file_as_it_was_beside_it_and_never_overwrites_an_earlier_copy(tmp_path, monkeypatch):
    path = tmp_path / "moonhook.db"
    left_by_older(monkeypatch, path)
    earlier = path.with_name(f"moonhook.schema-{OLDER}.db")
    earlier.write_bytes(b"an earlier upgrade's copy")
    before = _dump(path)
    Database(path).close()
    kept = path.with_name(f"moonhook.schema-{OLDER}-2.db")
    assert _dump(kept) == before and earlier.read_bytes() == b"an earlier upgrade's copy"
    with moonhook_of(monkeypatch, MIGRATIONS[:OLDER]):  # the way back: the older moonhook opens the copy
        db = Database(kept)
        assert db.schema_version == OLDER and len(AlertJournal(db).unfinished()) == 1
        db.close()


def test_an_earlier_copy_of_the_journal_as_it_was_before_more_writes_is_not_taken_for_its_copy(tmp_path, monkeypatch):
    """A copy is kept in place of a new one only when it is the journal as it is now (a start killed in the
    upgrade, tests/e2e/test_walk_upgrade.py): one the older moonhook wrote more after is another way back."""
    path = tmp_path / "moonhook.db"
    left_by_older(monkeypatch, path)
    earlier = before_upgrade(path, OLDER).path
    assert earlier.name == f"moonhook.schema-{OLDER}.db"
    with moonhook_of(monkeypatch, MIGRATIONS[:OLDER]):
        db = Database(path)
        AlertJournal(db).record(parse_body("buy EURUSD volume=0.1 price=1.1 id=later"), now=2000)
        db.close()
    before, then = _dump(path), _dump(earlier)
    Database(path).close()
    assert _dump(path.with_name(f"moonhook.schema-{OLDER}-2.db")) == before and _dump(earlier) == then


def test_an_upgrade_whose_copy_cannot_be_made_is_not_begun(tmp_path, monkeypatch):
    path = tmp_path / "moonhook.db"
    left_by_older(monkeypatch, path)
    path.with_name(f"moonhook.schema-{OLDER}.db.part").mkdir()   # in the copy's way: it cannot be written
    before = _dump(path)
    with pytest.raises(SchemaError) as refused:
        Database(path)
    assert f"not upgraded from schema {OLDER} to {len(MIGRATIONS)}: a copy of it" in str(refused.value)
    assert _dump(path) == before


def test_a_newer_journal_is_refused_unchanged(tmp_path, monkeypatch):
    path = tmp_path / "moonhook.db"
    Database(path).close()
    before = path.read_bytes()
    with moonhook_of(monkeypatch, MIGRATIONS[:OLDER]), pytest.raises(SchemaError) as refused:
        Database(path)
    assert f"schema version {len(MIGRATIONS)} is newer than this moonhook ({OLDER})" in str(refused.value)
    assert path.read_bytes() == before


def left_paused(monkeypatch, path, pause: Switch, *received_at: float) -> list[int]:
    """The journal a moonhook of schema LEFT_PAUSED left: alerts journaled while paused, received
    at ``received_at``, still 'paused' (taken by no resume, or left by one), and the last pause
    or resume ``pause``."""
    with moonhook_of(monkeypatch, MIGRATIONS[:LEFT_PAUSED]):
        db = Database(path)
        journal = AlertJournal(db)
        ids = [journal.record(parse_body(f"buy EURUSD volume=0.1 price=1.1 id=p{n}"), now=at).id
               for n, at in enumerate(received_at)]
        for alert_id in ids:
            journal.set_status(alert_id, "paused")
        Switches(db).set(pause)
        db.close()
    return ids


async def test_alerts_an_older_resume_left_are_not_run_by_a_resume_after_the_upgrade(tmp_path, monkeypatch):
    now = time.time()
    (left,) = left_paused(monkeypatch, tmp_path / "data" / "moonhook.db",
                          Switch(PAUSE, "running", "api", now - 2 * DAY), now - 3 * DAY)   # resumed without it
    broker = FakeBroker()
    async with running(tmp_path, use_broker=broker, max_alert_age=0) as engine:   # no age limit to stop it
        engine.pause()
        assert await engine.resume(execute_missed=True) == 0
        await engine.drain()
        assert broker.requests == []                             # a trade skipped three days ago stays skipped
        row = engine.journal.get(left)
        assert row["status"] == "skipped" and "an earlier resume left it" in row["outcome"]["reason"]


async def test_alerts_of_the_pause_the_upgrade_came_in_still_wait_for_its_resume(tmp_path, monkeypatch):
    now = time.time()
    left, missed = left_paused(monkeypatch, tmp_path / "data" / "moonhook.db",
                               Switch(PAUSE, "paused", "api", now - 3600), now - 3 * DAY, now - 600)
    broker = FakeBroker()
    async with running(tmp_path, use_broker=broker, max_alert_age=0) as engine:
        assert engine.paused
        assert await engine.resume(execute_missed=True) == 1
        await engine.drain()
        assert [r.client_id for r in broker.requests] == [f"a{missed}-engine-open"]
        assert [engine.journal.get(i)["status"] for i in (left, missed)] == ["skipped", "done"]


def test_a_new_journal_is_said_made_not_upgraded(tmp_path, monkeypatch, caplog):
    """A trader's first `moonhook run` logged "upgrading the journal from schema 0 to 16", as if
    an older journal had been found in a folder that had none."""
    caplog.set_level("INFO", logger="moonhook.storage")
    Database(tmp_path / "new.db").close()
    left_by_older(monkeypatch, tmp_path / "old.db")
    Database(tmp_path / "old.db").close()
    said = [r.getMessage() for r in caplog.records]
    assert f"{tmp_path / 'new.db'}: a new journal, at schema {len(MIGRATIONS)}" in said
    assert any(s.startswith(f"{tmp_path / 'old.db'}: upgrading the journal from schema {OLDER} to {len(MIGRATIONS)};")
               for s in said)
    assert not any("from schema 0" in s for s in said)


def test_alerts_journaled_with_their_credential_fields_have_them_taken_off_the_file(tmp_path, monkeypatch):
    # A JSON alert's passphrase was journaled as it came until the parse dropped it: read without it since, but
    # kept on disk, in every copy made after.
    path = tmp_path / "moonhook.db"
    with moonhook_of(monkeypatch, MIGRATIONS[:24]):
        db = Database(path)
        journal = AlertJournal(db)
        ids = [journal.record(parse_body(f"buy EURUSD volume=0.1 id=x{n}"), now=1000 + n).id for n in range(3)]
        db.close()
    left = [{"action": "buy", "Passphrase": "hunter2", "note": {"api_key": "k-1", "x": 1}, "symbol": "EURUSD",
             "text": "x" * 6000, "z": {"password": "hunter3" * 900}},   # in the row's overflow pages, which a rewrite frees
            {"action": "buy", "coin": "token", "symbol": "EURUSD"}]   # "token" as a value: kept as it was
    with closing(sqlite3.connect(path)) as raw, raw:
        for alert_id, alert in zip(ids, left):
            raw.execute("UPDATE alerts SET alert = ? WHERE id = ?", [json.dumps(alert, sort_keys=True), alert_id])
        before = dict(raw.execute("SELECT id, alert FROM alerts"))
    Database(path).close()
    with closing(sqlite3.connect(path)) as raw:
        after = dict(raw.execute("SELECT id, alert FROM alerts"))
    assert json.loads(after[ids[0]]) == {"action": "buy", "note": {"x": 1}, "symbol": "EURUSD", "text": "x" * 6000,
                                         "z": {}}
    assert [b for b in (b"hunter2", b"k-1", b"hunter3") if b in path.read_bytes()] == []   # nor left in a freed page
    assert b"hunter2" in path.with_name("moonhook.schema-24.db").read_bytes()   # the way back: the file as it was
    assert after[ids[1]] == before[ids[1]] and after[ids[2]] == before[ids[2]]
