"""Migrations of Telegram's own tables, kept apart from ``migrations.py`` (which runs them in order
with the others, in the same transaction, from its one registry, ``MIGRATIONS``): append only here too."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite_utils


def v23(db: sqlite_utils.Database) -> None:
    # The Telegram deliveries refused for good (storage/deliveries.py's refused), read at each start
    # for /health and the dashboard: found among the few such rows, not by a scan of every delivery.
    db.execute("CREATE INDEX IF NOT EXISTS telegram_deliveries_failed ON telegram_deliveries (failed_at) "
               "WHERE failed_at IS NOT NULL")


def v24(db: sqlite_utils.Database) -> None:
    # The updates Telegram posted to the webhook, by id (storage/offsets.py's SeenUpdates): one it
    # posts again (its answer was slow or lost, a restart between) is not obeyed twice. Kept a day.
    db.execute("CREATE TABLE IF NOT EXISTS telegram_updates (bot TEXT NOT NULL, update_id INTEGER NOT NULL, "
               "seen_at REAL NOT NULL, PRIMARY KEY (bot, update_id))")
    db.execute("CREATE INDEX IF NOT EXISTS telegram_updates_seen ON telegram_updates (seen_at)")


def v26(db: sqlite_utils.Database) -> None:
    # The commands in hand (storage/in_hand.py): written with the offset past the update (or its id, by the
    # webhook) and deleted once obeyed; one left at a start was cut by a stop (a kill, a crash) while obeyed,
    # and its chat is told so once. Never anything secret: the command as the log shows it.
    db.execute("CREATE TABLE IF NOT EXISTS telegram_in_hand (bot TEXT NOT NULL, update_id INTEGER NOT NULL, "
               "chat TEXT NOT NULL, user TEXT, command TEXT NOT NULL, received_at REAL NOT NULL, "
               "PRIMARY KEY (bot, update_id))")


def v28(db: sqlite_utils.Database) -> None:
    # A command in hand obeyed, its answers not yet taken by Telegram (storage/in_hand.py): kept until they are, so
    # a kill between the two tells its chat it was done (not "may or may not"). NULL: still being obeyed.
    db.execute("ALTER TABLE telegram_in_hand ADD COLUMN obeyed_at REAL")
