"""The shadow's records: per alert, what the shadow scripts decided and how it differs from
the live scripts' decision (``engine/core/shadow.py``).

They live in the shadow's own SQLite file (``EngineConfig.shadow_database``), beside its
paper broker's books, never in the live journal. The table is created here, not by the
journal's migrations: a file without it is simply one where the shadow never ran.
"""

from __future__ import annotations

import json
from typing import Any

from engine.adapters.storage.database import Database
from engine.domain.orders import PENDING_TYPES, OrderRequest

ENTRY_TYPES = ("market", *PENDING_TYPES)  # paper_orders' types of an entry (a close's is its reason)

_TABLE = """
CREATE TABLE IF NOT EXISTS shadow_alerts (
    alert_id    INTEGER PRIMARY KEY,
    time        REAL NOT NULL,
    symbol      TEXT,
    live_status TEXT NOT NULL,
    status      TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    differs     INTEGER NOT NULL,
    differences TEXT NOT NULL
)"""
_INDEX = "CREATE INDEX IF NOT EXISTS shadow_alerts_differs ON shadow_alerts (differs, alert_id)"
# Where the shadow stands in the live journal: the last alert id it has looked at.
_CURSOR = "CREATE TABLE IF NOT EXISTS shadow_cursor (id INTEGER PRIMARY KEY CHECK (id = 1), alert_id INTEGER NOT NULL)"
# The live alerts passed while paused: a resume may decide them later (execute_missed).
_HELD = "CREATE TABLE IF NOT EXISTS shadow_held (alert_id INTEGER PRIMARY KEY)"
# The requests of the alert being run, each written before its send and gone with its record: a
# kill between them leaves them to the next start's run of it (``PlainDesk`` on a run again).
_SENT = ("CREATE TABLE IF NOT EXISTS shadow_sent (client_id TEXT PRIMARY KEY, alert_id INTEGER NOT NULL,"
         " request TEXT NOT NULL)")


class ShadowRecords:
    """One row per live alert the shadow ran. Writes are short transactions on the event loop
    (the file is opened without fsync: a power cut loses at most the latest records, never the
    live journal's); reads may run in a thread (the connection's lock guards them)."""

    def __init__(self, database: Database):
        self._d = database
        with database.transaction() as db:
            db.execute(_TABLE)
            db.execute(_INDEX)
            db.execute(_CURSOR)
            db.execute(_HELD)
            db.execute(_SENT)
            # Kept in memory too: the shadow looks at them on every wake, and they are few.
            self._held = [r[0] for r in db.execute("SELECT alert_id FROM shadow_held ORDER BY alert_id")]

    def cursor(self, start: int) -> int:
        """The last live alert id the shadow looked at; ``start`` (the journal's newest id) the
        first time, so that a new shadow begins with the alerts after it, not the history."""
        with self._d.transaction() as db:
            db.execute("INSERT OR IGNORE INTO shadow_cursor (id, alert_id) VALUES (1, ?)", [start])
            return db.execute("SELECT alert_id FROM shadow_cursor WHERE id = 1").fetchone()[0]

    def highest(self) -> int:
        """The highest live alert id this file knows (its cursor, a record, a held alert), 0 for
        none: a journal restored from a backup numbers its alerts past it (``AlertJournal.floor``),
        or the shadow would skip the new ones and show an old alert's record for each."""
        with self._d.lock:
            return self._d.db.execute(
                "SELECT MAX(COALESCE((SELECT alert_id FROM shadow_cursor), 0), COALESCE((SELECT MAX(alert_id) "
                "FROM shadow_alerts), 0), COALESCE((SELECT MAX(alert_id) FROM shadow_held), 0))").fetchone()[0]

    def passed(self, alert_id: int) -> None:
        """The shadow has looked at every live alert up to ``alert_id``."""
        with self._d.transaction() as db:
            db.execute("UPDATE shadow_cursor SET alert_id = ? WHERE id = 1 AND alert_id < ?", [alert_id, alert_id])

    def hold(self, alert_id: int) -> None:
        """A live alert journaled while paused: held for a resume to decide, and the cursor past it."""
        with self._d.transaction() as db:
            db.execute("INSERT OR IGNORE INTO shadow_held (alert_id) VALUES (?)", [alert_id])
            db.execute("UPDATE shadow_cursor SET alert_id = ? WHERE id = 1 AND alert_id < ?", [alert_id, alert_id])
        if alert_id not in self._held:
            self._held = sorted([*self._held, alert_id])

    def held(self) -> list[int]:
        """The held alerts' ids, oldest first."""
        return list(self._held)

    def release(self, alert_id: int) -> None:
        """A held alert live will not decide: no longer held."""
        with self._d.transaction() as db:
            db.execute("DELETE FROM shadow_held WHERE alert_id = ?", [alert_id])
        self._held = [i for i in self._held if i != alert_id]

    def has(self, alert_id: int) -> bool:
        """Whether the shadow ran this alert already (a recovered alert is offered again)."""
        with self._d.lock:
            return self._d.db.execute("SELECT 1 FROM shadow_alerts WHERE alert_id = ?", [alert_id]).fetchone() \
                is not None

    def add(self, alert_id: int, time: float, symbol: str | None, live_status: str, status: str,
            outcome: dict[str, Any], differences: list[str]) -> None:
        """Records the shadow's decision, and the cursor past it (a held alert: no longer
        held), in one transaction; a second record of the same alert is ignored."""
        with self._d.transaction() as db:
            db.execute("INSERT OR IGNORE INTO shadow_alerts (alert_id, time, symbol, live_status, status, outcome,"
                       " differs, differences) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                       [alert_id, time, symbol, live_status, status, json.dumps(outcome, default=str),
                        int(bool(differences)), json.dumps(differences)])
            db.execute("UPDATE shadow_cursor SET alert_id = ? WHERE id = 1 AND alert_id < ?", [alert_id, alert_id])
            if alert_id in self._held:
                db.execute("DELETE FROM shadow_held WHERE alert_id = ?", [alert_id])
            db.execute("DELETE FROM shadow_sent WHERE alert_id = ?", [alert_id])
        if alert_id in self._held:
            self._held = [i for i in self._held if i != alert_id]

    def sending(self, request: OrderRequest) -> None:
        """``request``, of an alert's run, is about to go to the shadow's broker (kept until its alert's record)."""
        with self._d.transaction() as db:
            db.execute("INSERT OR IGNORE INTO shadow_sent (client_id, alert_id, request) VALUES (?, ?, ?)",
                       [request.client_id, request.alert_id, json.dumps(request.to_plain(), default=str)])

    def request(self, client_id: str) -> dict[str, Any] | None:
        """The request first sent under ``client_id`` by a run of an alert not yet recorded, or None."""
        with self._d.lock:
            row = self._d.db.execute("SELECT request FROM shadow_sent WHERE client_id = ?", [client_id]).fetchone()
        return None if row is None else json.loads(row[0])

    def requests(self, alert_id: int) -> list[dict[str, Any]]:
        """The requests a run of ``alert_id`` cut by a kill sent (or was about to), in their order: none
        for an alert run for the first time."""
        with self._d.lock:
            rows = self._d.db.execute("SELECT request FROM shadow_sent WHERE alert_id = ? ORDER BY rowid",
                                      [alert_id]).fetchall()
        return [json.loads(row[0]) for row in rows]

    def entries_since(self, since: float) -> list[float]:
        """When each entry the shadow's paper broker made after ``since`` was made (a market
        order filled, a pending order placed), oldest first: its count for
        ``engine.max_entries_per_hour`` survives a restart, as live's does. The broker's books,
        not the alert records: those list the alerts' own orders, not a hook's or a timer's."""
        with self._d.lock:
            rows = self._d.db.execute(
                f"SELECT created_at FROM paper_orders WHERE created_at > ? AND type IN "
                f"({', '.join('?' * len(ENTRY_TYPES))}) ORDER BY created_at", [since, *ENTRY_TYPES]).fetchall()
        return [row[0] for row in rows]

    def get(self, alert_id: int) -> dict[str, Any] | None:
        """{status, outcome, differs, differences} of one alert; None if the shadow has not run it."""
        with self._d.lock:
            row = self._d.db.execute("SELECT status, outcome, differs, differences FROM shadow_alerts "
                                     "WHERE alert_id = ?", [alert_id]).fetchone()
        if row is None:
            return None
        return {"status": row[0], "outcome": json.loads(row[1]), "differs": bool(row[2]),
                "differences": json.loads(row[3])}

    def counts(self) -> dict[str, Any]:
        """How many alerts the shadow ran, how many differ, the latest that differs (None), and
        how many paused alerts it holds."""
        with self._d.lock:
            alerts, differ, latest = self._d.db.execute(
                "SELECT COUNT(*), COALESCE(SUM(differs), 0), MAX(CASE WHEN differs THEN alert_id END) "
                "FROM shadow_alerts").fetchone()
        return {"alerts": alerts, "differ": differ, "latest_differing": latest, "held": len(self._held)}

    def differing(self, limit: int, before: int | None = None) -> list[dict[str, Any]]:
        """``limit`` alerts that differ, newest first, of an id below ``before`` when given (a later
        page, which an alert differing meanwhile does not move): id, time, symbol, differences."""
        below = "" if before is None else " AND alert_id < ?"
        with self._d.lock:
            rows = self._d.db.execute("SELECT alert_id, time, symbol, differences FROM shadow_alerts WHERE differs = 1"
                                      f"{below} ORDER BY alert_id DESC LIMIT ?",
                                      [limit] if before is None else [before, limit]).fetchall()
        return [{"id": r[0], "time": r[1], "symbol": r[2], "differences": json.loads(r[3])} for r in rows]
