"""The outbox: notifications written durably before anything tries to send them.

The engine only ever appends here, which costs one small write and never waits on a
network; the senders (the log today, Telegram in its own issue) take messages from here and
mark them sent, so a message survives a restart and is sent once.
"""

from __future__ import annotations

import time
from typing import Any

from engine.adapters.storage.database import Database, select

MAX_TEXT = 16 * 1024


class Outbox:
    def __init__(self, database: Database):
        self._d = database

    def add(self, kind: str, text: str, key: str | None = None) -> int:
        return self.add_many([(kind, text, key)])

    def add_many(self, messages: list[tuple[str, str, str | None]], kept_only: bool = False) -> int:
        """Writes (kind, text, key) messages in one transaction; returns the last id."""
        with self._d.transaction() as db:
            return self.insert(db, messages, kept_only)

    @staticmethod
    def insert(db: Any, messages: list[tuple[str, str, str | None]], kept_only: bool = False) -> int:
        """Writes (kind, text, key) messages inside the transaction ``db``; returns the last id.

        ``kept_only``: nothing delivers them (no Telegram): they are kept as a record, marked
        done at once, so that turning Telegram on later does not send a backlog of old news."""
        now, last = time.time(), 0
        for kind, text, key in messages:
            last = db.execute("INSERT INTO outbox (created_at, kind, key, text, sent_at) VALUES (?, ?, ?, ?, ?)",
                              [now, kind, key, kept(text), now if kept_only else None]).lastrowid
        return last

    def pending(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._d.lock:
            return select(self._d.db,
                "SELECT * FROM outbox WHERE sent_at IS NULL ORDER BY id LIMIT ?", [limit])

    def mark_sent(self, message_id: int) -> None:
        with self._d.transaction() as db:
            db.execute("UPDATE outbox SET sent_at = ? WHERE id = ?", [time.time(), message_id])

    def mark_failed(self, message_id: int, error: str) -> None:
        with self._d.transaction() as db:
            db.execute("UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE id = ?",
                       [error[:500], message_id])

    def has(self, key: str) -> bool:
        """Whether a message of ``key`` was written (sent or not): one told before a crash."""
        with self._d.lock:
            return self._d.db.execute("SELECT 1 FROM outbox WHERE key = ? LIMIT 1", [key]).fetchone() is not None

    def depth(self) -> int:
        with self._d.lock:
            return self._d.db.execute("SELECT count(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]


def kept(text: str) -> str:
    """``text`` as the outbox keeps it (and the log writes it): at most MAX_TEXT characters, a
    script's 1 MB ``notify.send`` cut, its end marked."""
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
