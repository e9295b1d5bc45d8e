"""The alert journal: every alert is written before it is acknowledged, once.

A repeated delivery (TradingView repeats an alert after a 5xx, up to 3 times within about
15 s) is recognised by the alert's own id, or else by a hash of its content, within a window
(default 60 s). It is journaled as a duplicate of the first and never executed.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from engine.domain.alerts import Alert
from engine.adapters.storage.database import Database, select

# "paused": journaled while the engine was paused, not processed (unless resumed with them);
# "skipped" once a resume without them has left them, for good.
# "expired": too old when its turn came (engine/core/expiry.py), not processed.
# "received" until its final status is written, with its outcome in the same commit: a crash
# in between leaves it "received", and recovery runs it again (its orders carry the same client
# ids). No status lies between the two ("processing" was listed once, never written).
STATUSES = ("received", "done", "rejected", "duplicate", "failed", "paused", "expired", "skipped")
UNFINISHED = ("received",)
ALERT_BY_ID = "SELECT * FROM alerts WHERE id = ?"


class JournalError(Exception):
    """The journal could not write: the alert was not acknowledged, its status not kept."""


@dataclass(frozen=True)
class Recorded:
    id: int
    duplicate_of: int | None = None
    # A repeat of an alert's id with other content than the original's: not a retry (a retry is
    # the same body) but, most likely, a fixed id in TradingView's message.
    other_content: bool = False

    @property
    def duplicate(self) -> bool:
        return self.duplicate_of is not None


# json.dumps with these options builds an encoder for every call: one, made once, writes the same text.
_canonical = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str).encode


def content_hash(alert: Alert) -> str:
    canonical = _canonical(alert.to_plain())
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def repeat_key(alert: Alert) -> str:
    """What an alert repeats within the dedup window (``AlertJournal.insert``): the alert with
    the same id (TradingView's ``id``), or for an alert without one, the same content. Replay
    keeps its repeats by this key in memory."""
    return f"id:{alert.id}" if alert.id is not None else f"content:{content_hash(alert)}"


class AlertJournal:
    def __init__(self, database: Database, dedup_window: float = 60.0):
        self._d = database
        self.dedup_window = dedup_window
        # The highest alert id seen outside this file (the broker's tags, the shadow's records):
        # restored from a backup, the journal numbers its alerts past it, never again from the backup's.
        self.floor: Callable[[], int] = lambda: 0

    @property
    def lock(self):
        """The journal connection's lock: ``transaction(locked=True)`` takes it held."""
        return self._d.lock

    @property
    def turn(self):
        """The file's write turn, shared with the engine's connection (see ``WriteTurn``)."""
        return self._d.turn

    def checkpoint(self) -> None:
        """See ``Database.checkpoint``: for the journal writer's thread."""
        self._d.checkpoint()

    def transaction(self, locked: bool = False, fsync: bool = True):
        """A write transaction on the journal's connection, for ``insert`` and ``update``;
        ``fsync=False``: its commit is not fsynced (see ``Database.transaction``)."""
        return self._d.transaction(locked, fsync)

    def record(self, alert: Alert, now: float | None = None) -> Recorded:
        """Journals ``alert`` durably and says whether it repeats one seen within the window."""
        with self._d.transaction() as db:
            return self.insert(db, alert, now)

    def set_status(self, alert_id: int, status: str, outcome: dict[str, Any] | None = None) -> None:
        with self._d.transaction() as db:
            self.update(db, alert_id, status, outcome)

    def insert(self, db: Any, alert: Alert, now: float | None = None, status: str = "received") -> Recorded:
        """Writes ``alert``'s entry inside the transaction ``db``; durable once it commits."""
        now = time.time() if now is None else now
        digest = content_hash(alert)
        since = now - self.dedup_window
        # A repeat is the same alert id or, for alerts without one, the same content.
        if alert.id is not None:
            match, key = "source_id = ?", alert.id
        else:
            match, key = "content_hash = ? AND source_id IS NULL", digest
        row = db.execute(
            f"SELECT id, content_hash FROM alerts WHERE {match} AND received_at >= ? AND duplicate_of IS NULL "
            "ORDER BY id LIMIT 1", [key, since]).fetchone()
        original = row[0] if row else None
        cursor = db.execute(
            "INSERT INTO alerts (id, received_at, source, source_id, content_hash, symbol, action, alert, "
            "status, duplicate_of, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [self._next_id(db), now, alert.source, alert.id, digest, alert.symbol,
             alert.action.value if alert.action else None,
             json.dumps(alert.to_plain(), sort_keys=True, default=str),
             "duplicate" if original else status, original, now])
        return Recorded(cursor.lastrowid, original, bool(row) and row[1] != digest)

    def _next_id(self, db: Any) -> int | None:
        """The new alert's id: past the newest and past ``floor()``; None (SQLite's newest + 1)
        while nothing outside the file has seen a higher one."""
        floor = self.floor()
        if not floor:
            return None
        return max(floor, db.execute("SELECT COALESCE(MAX(id), 0) FROM alerts").fetchone()[0]) + 1

    def update(self, db: Any, alert_id: int, status: str, outcome: dict[str, Any] | None = None) -> None:
        """Sets an alert's status (and outcome) inside the transaction ``db``."""
        if status not in STATUSES:
            raise ValueError(f"unknown alert status {status!r} (known: {', '.join(STATUSES)})")
        db.execute(
            "UPDATE alerts SET status = ?, outcome = COALESCE(?, outcome), updated_at = ? WHERE id = ?",
            [status, json.dumps(outcome, default=str) if outcome is not None else None, time.time(), alert_id])

    def get(self, alert_id: int) -> dict[str, Any] | None:
        rows = self._rows(ALERT_BY_ID, [alert_id])
        return rows[0] if rows else None

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM alerts ORDER BY id DESC LIMIT ?", [limit])

    def search(self, limit: int = 50, *, status: str | None = None, symbol: str | None = None,
               plugin: str | None = None, before: int | None = None) -> list[dict[str, Any]]:
        """The latest ``limit`` alerts, newest first, of one ``status``, ``symbol`` and ``plugin``
        (each None: any), older than the alert ``before`` when given (the next page). ``plugin``
        matches an alert whose outcome names it: a step of its ``on_alert`` chain
        (``outcome.plugins``) or one of its orders (``outcome.orders``).
        Raises ValueError for an unknown status. Status and symbol go through the indexes
        alerts_status and alerts_symbol (migration 8); the plugin's name is looked for in the
        outcome's text first, so only the outcomes that contain it are parsed. Read through a
        connection of its own (``Database.reader``), never holding up the journal's writes."""
        where: list[str] = [] if before is None else ["id < ?"]
        params: list[Any] = [] if before is None else [before]
        if status is not None:
            if status not in STATUSES:
                raise ValueError(f"unknown alert status {status!r} (known: {', '.join(STATUSES)})")
            where.append("status = ?")
            params.append(status)
        if symbol is not None:
            where.append("symbol = ?")
            params.append(symbol)
        if plugin is not None:
            where.append("instr(outcome, ?) > 0 AND EXISTS (SELECT 1 FROM json_each(alerts.outcome, '$.plugins') "
                         "WHERE json_extract(value, '$.plugin') = ? UNION ALL SELECT 1 FROM "
                         "json_each(alerts.outcome, '$.orders') WHERE json_extract(value, '$.plugin') = ?)")
            params += [json.dumps(plugin), plugin, plugin]
        sql = "SELECT * FROM alerts" + (f" WHERE {' AND '.join(where)}" if where else "") + " ORDER BY id DESC LIMIT ?"
        # A plugin's, or a status seldom met on a symbol, may read the whole journal: not under the
        # lock the journal writer commits under, which would hold up every alert meanwhile.
        with self._d.reader() as conn:
            return [decoded(r) for r in select(conn, sql, [*params, limit])]

    def counts_since(self, since: float) -> dict[str, int]:
        """How many alerts were received at or after ``since`` (a Unix time), how many of those
        a plugin rejected, and how many failed (an error: nothing, or not all, executed)."""
        with self._d.lock:
            total, rejected, failed = self._d.db.execute(
                "SELECT count(*), count(*) FILTER (WHERE status = 'rejected'), count(*) FILTER (WHERE status = "
                "'failed') FROM alerts WHERE received_at >= ?", [since]).fetchone()
        return {"alerts": total, "rejected": rejected, "failed": failed}

    def with_status(self, status: str) -> list[dict[str, Any]]:
        """The alerts of one status, oldest first."""
        return self._rows("SELECT * FROM alerts WHERE status = ? ORDER BY id", [status])

    def ids_with_status(self, status: str) -> list[int]:
        """The ids of the alerts of one status, ascending (``alerts_status`` indexes it): the alerts
        held from a pause, which a resume's question shows, read without their rows."""
        with self._d.lock:
            return [r[0] for r in self._d.db.execute("SELECT id FROM alerts WHERE status = ? ORDER BY id", [status])]

    def after(self, alert_id: int, limit: int = 50) -> list[dict[str, Any]]:
        """The alerts journaled after ``alert_id``, oldest first, at most ``limit`` (shadow mode
        follows the journal with these)."""
        return self._rows("SELECT * FROM alerts WHERE id > ? ORDER BY id LIMIT ?", [alert_id, limit])

    def last_id(self) -> int:
        """The newest alert's id, 0 for an empty journal."""
        with self._d.lock:
            return self._d.db.execute("SELECT COALESCE(MAX(id), 0) FROM alerts").fetchone()[0]

    def unfinished(self) -> list[dict[str, Any]]:
        """Alerts journaled but not fully processed, oldest first: what recovery must finish."""
        # The predicate of the partial index alerts_unfinished (migration 1), word for word, so
        # that SQLite uses it (it does not for ``status = 'received'``); no row is 'processing'.
        return self._rows("SELECT * FROM alerts WHERE status IN ('received', 'processing') ORDER BY id")

    def _rows(self, sql: str, params: list | None = None) -> list[dict[str, Any]]:
        with self._d.lock:
            return [decoded(r) for r in select(self._d.db, sql, params or [])]


def decoded(row: dict[str, Any]) -> dict[str, Any]:
    """A row of ``alerts`` as read, its JSON columns (``alert``, ``outcome``) read. (Credential fields
    an earlier version journaled were taken off the file by migration 25.)"""
    row = dict(row)
    row["alert"] = json.loads(row["alert"])
    row["outcome"] = json.loads(row["outcome"]) if row.get("outcome") else None
    return row
