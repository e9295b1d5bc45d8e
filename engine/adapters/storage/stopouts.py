"""The stop-outs told, kept in the journal (table ``stop_outs``, migration 19): the dashboard's
overview, ``/health`` and Telegram's ``/status`` show the last one after a restart too, as they
did only until it. One row a stop-out, by its admin message's key (``engine/core/stopouts.py``):
one told again after a crash (``again``) is written over, not kept twice.
"""

from __future__ import annotations

import json
from typing import Any

from engine.adapters.storage.database import Database


class StopOutLog:
    def __init__(self, database: Database):
        self._d = database

    @staticmethod
    def insert(db: Any, key: str, summary: dict[str, Any]) -> None:
        """Keeps ``summary`` (a stop-out in plain values, with its ``time``) inside the caller's
        transaction ``db``."""
        db.execute("INSERT OR REPLACE INTO stop_outs (key, time, summary) VALUES (?, ?, ?)",
                   [key, summary["time"], json.dumps(summary)])

    def last(self) -> dict[str, Any] | None:
        """The latest stop-out kept (by its time), or None."""
        with self._d.lock:
            row = self._d.db.execute("SELECT summary FROM stop_outs ORDER BY time DESC, rowid DESC LIMIT 1").fetchone()
        return None if row is None else json.loads(row[0])
