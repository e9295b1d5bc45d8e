"""The SQLite file that keeps the journal: opened durable, its schema migrated at start.

WAL with synchronous=FULL: once a write has committed, it survives a kill -9 or a power cut.
One connection serves the engine, guarded by a lock: SQLite serialises writers anyway, and
the engine's writes are small.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Callable

import sqlite_utils

Migration = Callable[[sqlite_utils.Database], None]


def _v1(db: sqlite_utils.Database) -> None:
    db["alerts"].create(
        {
            "id": int,            # what the webhook answers; never reused
            "received_at": float,
            "source": str,        # json | text
            "source_id": str,     # the alert's own id field, if it had one
            "content_hash": str,
            "symbol": str,
            "action": str,
            "alert": str,         # the parsed alert as JSON (never the secret)
            "status": str,        # received | processing | done | rejected | duplicate | failed
            "duplicate_of": int,
            "outcome": str,       # JSON: what each plugin did, the orders, latency
            "updated_at": float,
        },
        pk="id",
        not_null={"received_at", "source", "content_hash", "alert", "status"},
    )
    db.execute("CREATE INDEX alerts_dedup_id ON alerts (source_id, received_at)")
    db.execute("CREATE INDEX alerts_dedup_hash ON alerts (content_hash, received_at)")
    db.execute("CREATE INDEX alerts_unfinished ON alerts (status) WHERE status IN ('received', 'processing')")


# Append only: a released migration is never edited, the next change is a new function.
MIGRATIONS: tuple[Migration, ...] = (_v1,)


class Database:
    """The journal's database. Use ``transaction()`` for writes that belong together."""

    def __init__(self, path: Path | str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA busy_timeout=5000")
        self.db = sqlite_utils.Database(conn)
        self.lock = threading.RLock()
        self._migrate()

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    def _migrate(self) -> None:
        with self.lock:
            current = self.schema_version
            if current > len(MIGRATIONS):
                raise RuntimeError(f"{self.path}: schema version {current} is newer than this moonhook "
                                   f"({len(MIGRATIONS)}); upgrade moonhook or restore a backup")
            for version, migrate in enumerate(MIGRATIONS[current:], start=current + 1):
                with self.transaction():
                    migrate(self.db)
                    self.db.execute(f"PRAGMA user_version = {version}")

    def transaction(self) -> "_Transaction":
        """``with db.transaction():`` BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on an exception."""
        return _Transaction(self)

    def close(self) -> None:
        with self.lock:
            self.db.conn.close()


class _Transaction:
    def __init__(self, database: Database):
        self._d = database

    def __enter__(self) -> sqlite_utils.Database:
        self._d.lock.acquire()
        try:
            self._d.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._d.lock.release()
            raise
        return self._d.db

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self._d.db.execute("ROLLBACK" if exc_type else "COMMIT")
        finally:
            self._d.lock.release()
