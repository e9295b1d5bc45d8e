"""The SQLite file that keeps the journal: opened durable, its schema migrated at start.

WAL mode. Every commit survives a kill -9 (it is in the operating system's cache). The
journal's connection commits new alerts (and every other durable write) with
synchronous=FULL: its commit fsyncs the WAL, so an acknowledged alert survives a power cut.
Its status changes and notifications commit without an fsync (``transaction(fsync=False)``).
The engine's own connection (paper broker, ledger, store) commits with synchronous=NORMAL,
without an fsync of its own. Both append to the same WAL file, so the journal's next fsync
makes them durable too, and whatever the journal says was done for an alert is durable with
it. A power cut can lose only what happened after the journal's last fsync, and recovery
redoes that: its orders carry the same client ids.

Each connection is guarded by a lock: SQLite serialises writers anyway. The journal's
commits run in a thread while the engine goes on (see ``JournalWriter`` in
engine/core/writer.py).
"""

from __future__ import annotations

import importlib
import logging
import os
import sqlite3
import sys
import threading
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import trio

from engine.adapters.storage.backup import before_upgrade, copy_of
from engine.adapters.storage.migrations import MIGRATIONS


def _import_without(module: str, hidden: tuple[str, ...]) -> ModuleType:
    """``module`` imported with the modules ``hidden`` out of its reach, unless they are loaded
    already. sqlite-utils imports numpy and pandas whenever they are installed, only to store
    their values; moonhook stores neither, and where they are installed (numpy comes with the
    bench's matplotlib; a trader's Python often has pandas) they cost the engine 15 MB (numpy)
    to 60 MB (pandas) and a fraction of a second at each start."""
    blocked = [name for name in hidden if name not in sys.modules]
    for name in blocked:
        sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
    try:
        return importlib.import_module(module)
    finally:
        for name in blocked:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


if TYPE_CHECKING:
    import sqlite_utils
else:
    sqlite_utils = _import_without("sqlite_utils", ("numpy", "pandas"))


class WriteTurn:
    """Whose turn it is to write the file, as the event loop sees it. SQLite lets one
    connection write at a time, and a connection that finds the other writing waits in
    SQLite's busy handler, which would hold up the whole event loop. The journal writer takes
    the turn while its commit's fsync runs in a thread; the engine's own writes, which run on
    the loop without yielding, first wait for the turn here (``Database.writable``).

    Turns are fair: writes that waited for a commit go before the journal writer's next one.
    Under a flood of alerts the writer always has a batch ready, and without this a lane's
    write could wait out several commits in a row."""

    def __init__(self) -> None:
        self._free = trio.Event()
        self._free.set()
        self._waiting = 0

    async def take(self) -> None:
        """Takes the turn once every write that waited for it has had it."""
        while self._waiting:
            await trio.lowlevel.cancel_shielded_checkpoint()
        self._free = trio.Event()

    def give(self) -> None:
        self._free.set()

    async def wait(self) -> None:
        if self._free.is_set():
            return
        self._waiting += 1
        try:
            while not self._free.is_set():
                await self._free.wait()
        finally:
            self._waiting -= 1


def select(db: sqlite_utils.Database | sqlite3.Connection, sql: str,
           args: Sequence[Any] | dict[str, Any] = ()) -> list[dict[str, Any]]:
    """The rows of a SELECT as dicts. sqlite-utils' ``query`` wraps each statement outside a
    transaction in a SAVEPOINT and its RELEASE (in case it is no SELECT): two more statements
    for each of the reads on an alert's path."""
    cursor = db.execute(sql, args)
    keys = [d[0] for d in cursor.description]
    return [dict(zip(keys, row)) for row in cursor]


def private_file(path: Path) -> None:
    """Creates ``path``'s folder (0700) and the file itself (0600) private to this user before
    SQLite opens it: the journal holds trades and alerts. SQLite gives its -wal and -shm files the
    database's mode. An existing database that others could read is narrowed; an existing folder
    is left as the user made it.

    An existing file is never opened here: closing any descriptor of a file drops every POSIX
    lock this process holds on it, those of an engine connection already open on it too (the
    journal's is the second on one file). A reader in another process (``moonhook backup``, the
    sqlite3 shell) would then find no other connection, checkpoint and delete the WAL at its close,
    and every later commit would go to the deleted WAL, unseen by others and lost at a kill."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if file.stat().st_mode & 0o077:
                file.chmod(0o600)
        except FileNotFoundError:
            pass


MEMORY = ":memory:"   # a database of this process alone (replay's), never a file
log = logging.getLogger("moonhook.storage")


class SchemaError(RuntimeError):
    """The file's schema cannot be this moonhook's: newer than it, or its upgrade failed. Either
    way the file is left as it was, and the engine has not started."""


class Database:
    """The journal's database (or MEMORY's). Use ``transaction()`` for writes that belong together."""

    def __init__(self, path: Path | str, *, shared_lock: bool = True, fsync: bool = True,
                 turn: WriteTurn | None = None, autocheckpoint: bool = True):
        """``shared_lock=False`` guards the connection with a plain lock that any thread may
        release, so that a transaction begun in one thread can commit in another; its users
        must never nest it. ``fsync=False`` commits with synchronous=NORMAL (see above).
        Connections to one file share their ``turn``. ``autocheckpoint=False``: this
        connection's commits never copy the WAL back into the file (SQLite's automatic
        checkpoint, with its fsyncs, runs in whichever commit passes 1,000 pages: on the event
        loop it held it for 190 ms); ``checkpoint`` does, where it may block."""
        self.path = Path(path)
        self.turn = turn or WriteTurn()
        if str(path) != MEMORY:
            private_file(self.path)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        self.fsync = fsync
        conn.execute(f"PRAGMA synchronous={'FULL' if fsync else 'NORMAL'}")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        if not autocheckpoint:
            conn.execute("PRAGMA wal_autocheckpoint=0")
        self.db = sqlite_utils.Database(conn)
        self._file = _identity(self.path)
        self._said: str | None = None  # why the file is no longer this connection's (``check_file``)
        self.lock: threading.RLock | threading.Lock = threading.RLock() if shared_lock else threading.Lock()
        self._migrate()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        """Runs the migrations the file has not had, all in one transaction (the version read
        inside it): an upgrade that fails (a full disk, a kill) leaves the file whole at the
        schema it had, which the moonhook that wrote it still opens. Raises SchemaError."""
        latest, current, version, kept = len(MIGRATIONS), None, None, None
        try:
            with self.transaction():
                current = self.schema_version
                if current > latest:
                    raise SchemaError(f"{self.path}: schema version {current} is newer than this moonhook ({latest}): "
                                      "run the moonhook that wrote it, or restore a backup taken before it; the file "
                                      "was not changed")
                if current == 0:
                    log.info("%s: a new journal, at schema %d", self.path, latest)
                elif current < latest:
                    kept = self._keep(current, latest)
                    log.info("%s: upgrading the journal from schema %d to %d; the file as it was is kept as %s "
                             "(the moonhook that wrote it opens that one)", self.path, current, latest, kept)
                for version, migrate in enumerate(MIGRATIONS[current:], start=current + 1):
                    migrate(self.db)
                self.db.execute(f"PRAGMA user_version = {latest}")
        except sqlite3.Error as e:
            if current is None or current >= latest:
                raise   # not an upgrade: the file could not be opened at all
            if kept is not None:
                kept.unlink(missing_ok=True)   # the file itself is as it was: no second copy of it
            # The migration named (migrations.py's _vN): what a report of the failure needs first.
            raise SchemaError(f"{self.path}: its upgrade from schema {current} to {latest} failed in migration "
                              f"{version} ({e}); the file was left as it was, at schema {current} (the moonhook that "
                              "wrote it still opens it): correct that and start again") from e

    def _keep(self, current: int, latest: int) -> Path:
        """A copy of the file at schema ``current``, beside it, before its upgrade (``backup.before_upgrade``).
        Raises SchemaError when it cannot be made: the file is then not upgraded."""
        try:
            return before_upgrade(self.path, current).path
        except (OSError, sqlite3.Error) as e:
            raise SchemaError(f"{self.path}: not upgraded from schema {current} to {latest}: a copy of it as it is, "
                              f"to go back to, could not be made beside it ({e}); the file was not changed: make "
                              "room there and start again") from e

    async def writable(self) -> None:
        """Returns when no other connection of the engine is committing: a write transaction
        begun right after (without yielding) does not wait for SQLite's lock."""
        await self.turn.wait()

    def transaction(self, locked: bool = False, fsync: bool = True) -> "_Transaction":
        """``with db.transaction():`` BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception.
        ``locked``: the caller holds ``lock`` already; the transaction releases it at its end.
        ``fsync=False`` on a connection opened with fsync: this commit is not fsynced
        (synchronous=NORMAL for it alone), and is durable with the connection's next fsync."""
        return _Transaction(self, locked, relaxed=self.fsync and not fsync)

    @contextmanager
    def reader(self) -> Iterator[Any]:
        """A connection for a read that may be long (a search through the whole journal) and
        must not hold up the writes: the file's own read-only connection, closed after (in WAL
        mode it reads the last commit, and no commit waits for it), where this connection's
        lock would keep the journal writer, and the alerts it acknowledges, waiting; the memory
        database's one connection, under its lock."""
        if str(self.path) == MEMORY:
            with self.lock:
                yield self.db.conn
            return
        conn = sqlite3.connect(self.path.resolve().as_uri() + "?mode=ro", uri=True)
        try:
            yield conn
        finally:
            conn.close()

    def checkpoint(self) -> None:
        """Copies the WAL back into the database file (PASSIVE: it waits for no reader or
        writer); blocks for its fsyncs, so it is for a thread."""
        with self.lock:
            self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")

    def check_file(self) -> None:
        """Raises SQLITE_READONLY when ``path`` is no longer the file this connection writes
        (SQLite itself does not tell in WAL mode): deleted or replaced under the running engine,
        every commit would go to a file that is gone at the stop. A deleted file is first written
        back, as it stands, from this connection (which still reads it)."""
        if self._file is None or _identity(self.path) == self._file:
            return
        if self._said is not None:
            said = self._said
        elif self.path.exists():
            said = "was deleted or replaced while moonhook ran; its writes would be lost: restart moonhook"
        else:
            try:
                copy_of(self.db.conn, self.path, self.path)
                said = "was deleted while moonhook ran: it is written back as it stood; restart moonhook on it"
            except (OSError, sqlite3.Error) as e:
                said = f"was deleted while moonhook ran, and could not be written back ({e}); do not stop moonhook"
            self._said = said  # told alike from now on, not as the written-back file replacing it
        error = sqlite3.OperationalError(f"{self.path} {said}")
        error.sqlite_errorcode, error.sqlite_errorname = 8, "SQLITE_READONLY"  # as SQLITE_READONLY_DBMOVED
        raise error

    def close(self) -> None:
        with self.lock:
            self.db.conn.close()


def _identity(path: Path) -> tuple[int, int] | None:
    """The file at ``path`` (device, inode); None for MEMORY or no file."""
    try:
        found = os.stat(path) if str(path) != MEMORY else None
    except FileNotFoundError:
        return None
    return None if found is None else (found.st_dev, found.st_ino)


class _Transaction:
    def __init__(self, database: Database, locked: bool = False, relaxed: bool = False):
        self._d = database
        self._locked = locked
        self._relaxed = relaxed  # synchronous=NORMAL for this transaction only

    def __enter__(self) -> sqlite_utils.Database:
        if not self._locked:
            self._d.lock.acquire()
        conn = self._d.db.conn
        try:
            self._d.check_file()
            if self._relaxed:  # the level cannot change inside a transaction
                conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._restore()
            self._d.lock.release()
            raise
        return self._d.db

    def _restore(self) -> None:
        if self._relaxed:  # never left relaxed: the next transaction may be a durable one
            self._d.db.conn.execute("PRAGMA synchronous=FULL")

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                try:
                    self._d.db.execute("COMMIT")
                except BaseException:
                    self._rollback()
                    raise
            else:
                self._rollback()
        finally:
            try:
                self._restore()
            finally:
                self._d.lock.release()

    def _rollback(self) -> None:
        if self._d.db.conn.in_transaction:
            self._d.db.execute("ROLLBACK")
