"""The alert journal on a real SQLite file: durable, migrated, and recognising repeats."""

import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest

from engine.domain.alerts import parse_body
from engine.app import open_engine
from engine.app.settings import load_settings
from engine.adapters.storage import MIGRATIONS, AlertJournal, Database

from support.paths import ROOT


@pytest.fixture
def journal(tmp_path):
    db = Database(tmp_path / "data" / "moonhook.db")
    yield AlertJournal(db, dedup_window=60)
    db.close()


def test_opened_durable_and_migrated(tmp_path):
    db = Database(tmp_path / "m.db")
    assert db.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert db.schema_version == len(MIGRATIONS) and "alerts" in db.db.table_names()
    db.close()
    again = Database(tmp_path / "m.db")  # migrating twice changes nothing
    assert again.schema_version == len(MIGRATIONS)
    again.close()


def _pragmas(db) -> tuple[str, int, str]:
    """journal_mode, synchronous (2 FULL, 1 NORMAL) and the file of the connection ``db``."""
    mode = db.execute("PRAGMA journal_mode").fetchone()[0]
    synchronous = db.execute("PRAGMA synchronous").fetchone()[0]
    file = next(row[2] for row in db.execute("PRAGMA database_list") if row[1] == "main")
    return mode, synchronous, file


async def test_the_running_engine_journals_on_a_connection_that_fsyncs_its_commits(tmp_path):
    """The pragmas of the connections the engine itself writes through, opened as `moonhook
    run` opens them (its settings file, the file watcher): a kill -9 cannot show a missing
    fsync, so nothing else would notice the journal's connection losing synchronous=FULL."""
    config = tmp_path / "moonhook.toml"
    config.write_text('[engine]\nscripts = "scripts"\ndata = "data"\n', encoding="utf-8")
    (tmp_path / "scripts").mkdir()
    settings = load_settings(config).engine
    async with open_engine(settings, watch=True, settings_file=config,
                           reload_settings=lambda: load_settings(config).engine) as engine:
        recorded = await engine.submit(parse_body("buy EURUSD volume=0.1 price=1.1"))
        await engine.drain()  # the journal's writer and the engine's connection have both written
        assert engine.journal.get(recorded.id)["status"] == "done"
        # What the journal writer commits on: its transaction's connection.
        with engine.journal.transaction() as db:
            journal = _pragmas(db)
        engine_own = _pragmas(engine.database.db)  # the paper broker, ledger, store, outbox
    database = str(settings.database.resolve())
    assert journal == ("wal", 2, database)  # FULL: an acknowledged alert survives a power cut
    # NORMAL, no fsync of its own: durable with the journal's next fsync of the same WAL file
    assert engine_own == ("wal", 1, database)


def test_a_newer_schema_is_refused(tmp_path):
    conn = sqlite3.connect(tmp_path / "m.db")
    conn.execute("PRAGMA user_version = 99")
    conn.close()
    with pytest.raises(RuntimeError, match="newer than this moonhook"):
        Database(tmp_path / "m.db")


def test_repeat_by_content_within_the_window(journal):
    alert = parse_body("buy EURUSD volume=1")
    first = journal.record(alert, now=1000)
    assert not first.duplicate
    again = journal.record(parse_body("buy,EURUSD,volume=1"), now=1015)  # same content
    assert again.duplicate_of == first.id and again.id != first.id
    assert journal.get(again.id)["status"] == "duplicate"
    later = journal.record(alert, now=1100)  # outside the window: a new signal
    assert not later.duplicate
    other = journal.record(parse_body("buy EURUSD volume=2"), now=1101)
    assert not other.duplicate


def test_repeat_by_alert_id(journal):
    a = parse_body('{"id": "tv-1", "action": "buy", "symbol": "EURUSD", "volume": 1}')
    b = parse_body('{"id": "tv-1", "action": "buy", "symbol": "EURUSD", "volume": 1, "plot_0": 2}')
    c = parse_body('{"id": "tv-2", "action": "buy", "symbol": "EURUSD", "volume": 1}')
    first = journal.record(a, now=10)
    other = journal.record(b, now=11)
    assert (other.duplicate_of, other.other_content) == (first.id, True)  # same id, content differs
    assert not journal.record(c, now=12).duplicate  # same content, another id
    retry = journal.record(a, now=13)
    assert (retry.duplicate_of, retry.other_content) == (first.id, False)  # the same body again


def test_status_outcome_and_recovery_list(journal):
    ids = [journal.record(parse_body(f"buy EURUSD volume={v}"), now=v).id for v in (1, 2, 3)]
    journal.set_status(ids[0], "received")
    journal.set_status(ids[1], "done", {"plugins": {"trend": "pass"}, "latency_ms": 0.7})
    assert [a["id"] for a in journal.unfinished()] == [ids[0], ids[2]]
    done = journal.get(ids[1])
    assert done["outcome"] == {"plugins": {"trend": "pass"}, "latency_ms": 0.7}
    assert done["alert"]["volume"] == 2.0
    assert [a["id"] for a in journal.recent(2)] == [ids[2], ids[1]]
    with pytest.raises(ValueError, match="unknown alert status"):
        journal.set_status(ids[0], "finished")
    with pytest.raises(ValueError, match="unknown alert status"):
        journal.set_status(ids[0], "processing")  # never written by any version, no longer known


def test_a_failed_transaction_leaves_nothing(journal, tmp_path):
    db = journal._d
    with pytest.raises(ZeroDivisionError):
        with db.transaction() as t:
            t.execute("INSERT INTO alerts (received_at, source, content_hash, alert, status) "
                      "VALUES (1, 'text', 'h', '{}', 'received')")
            1 / 0
    assert journal.recent() == []


WRITER = """
import sys
from engine.domain.alerts import parse_body
from engine.adapters.storage import AlertJournal, Database
j = AlertJournal(Database(sys.argv[1]))
i = 0
while True:
    i += 1
    r = j.record(parse_body(f"buy EURUSD volume={i}"))
    print(r.id, flush=True)
"""


def test_every_acknowledged_alert_survives_kill_9(tmp_path):
    path = tmp_path / "m.db"
    p = subprocess.Popen([sys.executable, "-c", WRITER, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    acknowledged = []
    deadline = time.monotonic() + 20
    while len(acknowledged) < 200 and time.monotonic() < deadline:
        acknowledged.append(int(p.stdout.readline()))
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    assert len(acknowledged) == 200
    db = Database(path)
    stored = {row["id"] for row in db.db.query("SELECT id FROM alerts")}
    assert set(acknowledged) <= stored
    assert db.db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()


def test_alerts_are_numbered_past_the_floor_and_never_below_the_newest(journal):
    """``floor()``: the highest id seen outside the file (a restored backup's journal would number
    its alerts again from its own newest). Past it, then on from the newest as ever."""
    assert journal.record(parse_body("buy EURUSD id=one")).id == 1
    journal.floor = lambda: 7
    assert [journal.record(parse_body(f"buy EURUSD id={n}")).id for n in ("two", "three")] == [8, 9]
    journal.floor = lambda: 3
    assert journal.record(parse_body("buy EURUSD id=four")).id == 10
