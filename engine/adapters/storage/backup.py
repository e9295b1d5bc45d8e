"""A consistent copy of the journal's SQLite file while the engine runs (``moonhook backup``), and of
the file as it was before an upgrade (``before_upgrade``).

Copying ``moonhook.db`` with ``cp`` while the engine writes can give a torn file, and leaves
out what is still in its ``-wal``. SQLite's online backup reads one consistent snapshot
through a reader of its own (in WAL mode a reader neither waits for the engine nor holds it
up), then the copy is checked, made private, synced and renamed into place: under its name
there is a whole, checked copy or nothing.
"""

from __future__ import annotations

import filecmp
import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from datetime import date
from itertools import count
from pathlib import Path


@dataclass(frozen=True)
class Backup:
    path: Path
    schema: int      # the journal's schema version (its migrations)
    alerts: int
    size: int        # bytes


def backup(source: Path, dest: Path) -> Backup:
    """Copies the SQLite file ``source`` to ``dest``, a new file (mode 0600). Raises
    FileNotFoundError (no ``source``), IsADirectoryError (``dest`` is a folder: the file in it is to be
    named), FileExistsError (``dest`` exists: a backup is never overwritten) and sqlite3.DatabaseError
    (``source`` is not a sound SQLite file)."""
    if not source.is_file():
        raise FileNotFoundError(f"{source}: no journal there (is engine.data the right folder?)")
    # Read-only: a connection that can write, closed as the last one it sees, copies the WAL back and
    # deletes it. An engine whose locks on the file were dropped (moonhooks up to schema 16 dropped
    # their own) is not seen: its next commits went to the deleted WAL, lost at its next kill.
    with closing(sqlite3.connect(source.resolve().as_uri() + "?mode=ro", uri=True)) as reader:
        return copy_of(reader, source, dest)


def before_upgrade(source: Path, schema: int) -> Backup:
    """``backup`` of the journal ``source``, at ``schema``, beside it before its upgrade: ``moonhook.schema-16.db``,
    or ``moonhook.schema-16-2.db`` (and on) where an earlier upgrade's copy holds the name: the way back to the
    moonhook that wrote it, never overwritten. A copy there already of the journal as it is now (a start killed
    in the upgrade left it; the upgrade rolled back) is kept as this one's, no second made beside it. Raises
    OSError and sqlite3.Error when it cannot be made."""
    earlier = []
    for n in count(1):
        dest = source.with_name(f"{source.stem}.schema-{schema}{f'-{n}' if n > 1 else ''}{source.suffix}")
        if dest.exists():
            earlier.append(dest)
            continue
        try:
            made = backup(source, dest)
        except FileExistsError:
            continue   # made meanwhile under that name: the next one
        same = next((path for path in reversed(earlier) if _same_bytes(path, dest)), None)
        if same is None:
            return made
        dest.unlink()
        return Backup(same, made.schema, made.alerts, made.size)


def _same_bytes(path: Path, other: Path) -> bool:
    """Whether two files hold the same bytes: two copies ``backup`` made of one journal unchanged between
    them do (SQLite's backup copies its pages as they are), so a copy equal to a fresh one is that journal's."""
    try:
        return filecmp.cmp(path, other, shallow=False)
    except OSError:
        return False


def copy_of(reader: sqlite3.Connection, source: Path, dest: Path) -> Backup:
    """``backup`` from the open connection ``reader`` to the file ``source`` (which may be gone:
    ``Database`` writes back a file deleted under it)."""
    if dest.is_dir():   # `moonhook backup backups/`: the copy meant to go in it
        raise IsADirectoryError(f"{dest}: a folder: name the copy in it ({dest / f'{date.today()}.db'})")
    if dest.exists():
        raise FileExistsError(f"{dest}: exists already; give the backup a new name")
    if dest.parent.exists() and not dest.parent.is_dir():   # else mkdir says "File exists" of it
        raise NotADirectoryError(20, os.strerror(20), str(dest.parent))
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    part.unlink(missing_ok=True)   # a copy an earlier try left half-made
    os.close(os.open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        with closing(sqlite3.connect(part)) as copy:
            reader.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")   # one file, whole by itself
            verdict = copy.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise sqlite3.DatabaseError(f"{source}: the copy fails SQLite's integrity check ({verdict})")
            schema = copy.execute("PRAGMA user_version").fetchone()[0]
            alerts = copy.execute("SELECT COUNT(*) FROM alerts").fetchone()[0] if _has(copy, "alerts") else 0
        with open(part, "rb") as f:
            os.fsync(f.fileno())
        _place(part, dest)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return Backup(dest, schema, alerts, dest.stat().st_size)


def _place(part: Path, dest: Path) -> None:
    """Moves the finished ``part`` to ``dest`` unless a file came to be there while it was written
    (FileExistsError): a hard link fails on a name taken, where a rename would replace the file."""
    try:
        os.link(part, dest)
    except FileExistsError:
        raise FileExistsError(f"{dest}: exists already (made while the backup was written); "
                              "give the backup a new name") from None
    except OSError:   # a file system without hard links: the check before the copy is all there is
        if dest.exists():
            raise FileExistsError(f"{dest}: exists already; give the backup a new name") from None
        os.replace(part, dest)
        return
    part.unlink()


def _has(db: sqlite3.Connection, table: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [table]).fetchone() is not None

