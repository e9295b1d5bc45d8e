"""``storage.backup``: a whole, checked copy of the journal or nothing under the backup's name."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from engine.adapters.storage import AlertJournal, Database, backup
from engine.adapters.storage.backup import copy_of
from engine.domain.alerts import parse_body


def test_a_copy_of_a_journal_being_written_has_its_committed_alerts_and_nothing_half_made(tmp_path):
    database = Database(tmp_path / "data" / "moonhook.db")
    journal = AlertJournal(database)
    for n in range(5):
        journal.record(parse_body(f"buy EURUSD volume=0.1 id=n{n}"))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "copy.db.part").write_text("left by a try that died")
    made = backup(database.path, tmp_path / "out" / "copy.db")     # the engine's connection still open
    assert (made.alerts, made.schema) == (5, database.schema_version)
    assert not (tmp_path / "out" / "copy.db.part").exists()
    with sqlite3.connect(made.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("delete",)   # one file, whole by itself
    database.close()


def test_no_journal_a_taken_name_or_a_damaged_file_leave_nothing_behind(tmp_path):
    with pytest.raises(FileNotFoundError, match="no journal there"):
        backup(tmp_path / "missing.db", tmp_path / "copy.db")
    taken = tmp_path / "taken.db"
    taken.write_text("mine")
    with pytest.raises(FileExistsError, match="exists already"):
        backup(taken, taken)
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.raises(sqlite3.DatabaseError):
        backup(damaged, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists() and not (tmp_path / "copy.db.part").exists()
    assert taken.read_text() == "mine"


def test_a_folder_given_as_the_backup_is_told_to_name_the_copy_in_it(tmp_path):
    # `moonhook backup backups/` was answered "backups: exists already; give the backup a new name".
    database = Database(tmp_path / "moonhook.db")
    (tmp_path / "backups").mkdir()
    with pytest.raises(IsADirectoryError, match=r"^.*/backups: a folder: name the copy in it \(.*/backups/"
                                                r"\d{4}-\d{2}-\d{2}\.db\)$"):
        backup(database.path, tmp_path / "backups")
    assert list((tmp_path / "backups").iterdir()) == []
    database.close()


class _Raced(sqlite3.Connection):
    """A reader during whose copy another program saves a file under the backup's name."""

    taken: Path

    def backup(self, target, **kwargs) -> None:
        self.taken.write_text("another program's file")
        super().backup(target, **kwargs)


def test_a_file_made_under_the_backups_name_while_it_is_written_is_never_replaced(tmp_path):
    # The name was looked at before the copy only, and the copy renamed over whatever was there.
    database = Database(tmp_path / "moonhook.db")
    AlertJournal(database).record(parse_body("buy EURUSD volume=0.1 id=r"))
    dest = tmp_path / "copy.db"
    with closing(sqlite3.connect(database.path, factory=_Raced)) as reader:
        reader.taken = dest
        with pytest.raises(FileExistsError, match="made while the backup was written"):
            copy_of(reader, database.path, dest)
    assert dest.read_text() == "another program's file" and not list(tmp_path.glob("*.part"))
    database.close()
