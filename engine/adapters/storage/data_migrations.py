"""Migrations that rewrite rows, not the schema (``migrations.py`` runs them in order with the
others, in the same transaction: append only here too)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from engine.domain.alerts.secrets import CREDENTIALS, without_secrets

if TYPE_CHECKING:
    import sqlite_utils


def v25(db: sqlite_utils.Database) -> None:
    # A JSON alert's credential fields (a passphrase, a password) were journaled as they came, until
    # they were dropped at parsing: read without them since (journal.decoded), now gone from the file
    # too. LIKE (ASCII case-insensitive) picks the few rows that may hold one; the others are not read.
    # secure_delete: the pages a rewrite frees are zeroed, not left holding the old text (Debian's SQLite
    # does so by default, SQLite's own default and Python's Windows build do not).
    (was,) = db.execute("PRAGMA secure_delete").fetchone()
    db.execute("PRAGMA secure_delete = ON")
    try:
        found = " OR ".join("alert LIKE ?" for _ in CREDENTIALS)
        rows = db.execute(f"SELECT id, alert FROM alerts WHERE {found}", [f'%"{name}"%' for name in CREDENTIALS])
        for alert_id, text in rows.fetchall():
            kept = json.dumps(without_secrets(json.loads(text)), sort_keys=True, default=str)
            if kept != text:
                db.execute("UPDATE alerts SET alert = ? WHERE id = ?", [kept, alert_id])
    finally:
        db.execute(f"PRAGMA secure_delete = {int(was)}")
