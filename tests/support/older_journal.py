"""A journal as an older moonhook left it: written by ``Database`` with only the migrations that
version had (``migrations.py`` is append only, so its first N are that version's schema)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

import pytest

from engine.adapters.storage import database as database_module


@contextmanager
def moonhook_of(monkeypatch: pytest.MonkeyPatch, migrations) -> Iterator[None]:
    """Inside the block, ``Database`` is that of a moonhook whose schema has ``migrations``."""
    with monkeypatch.context() as m:
        m.setattr(database_module, "MIGRATIONS", tuple(migrations))
        yield


def without_store_sizes(db) -> None:
    """Takes schema 22's store sizes (``store_sizes`` and its triggers) off a file made as an older one."""
    for trigger in ("insert", "update", "delete"):
        db.execute(f"DROP TRIGGER store_size_{trigger}")
    db.execute("DROP TABLE store_sizes")


def without_refusals_index(db) -> None:
    """Takes schema 23's index of the Telegram deliveries refused off a file made as an older one."""
    db.execute("DROP INDEX telegram_deliveries_failed")


def without_seen_updates(db) -> None:
    """Takes schema 24's webhook updates seen (``telegram_updates``) off a file made as an older one."""
    db.execute("DROP TABLE telegram_updates")


def without_in_hand(db) -> None:
    """Takes schema 26's Telegram commands in hand (``telegram_in_hand``) off a file made as an older one."""
    db.execute("DROP TABLE telegram_in_hand")


def without_prices_fired(db) -> None:
    """Takes schema 27's ``paper_prices.fired`` off a file made as an older one."""
    db.execute("ALTER TABLE paper_prices DROP COLUMN fired")


def without_obeyed(db) -> None:
    """Takes schema 28's ``telegram_in_hand.obeyed_at`` off a file made as an older one."""
    db.execute("ALTER TABLE telegram_in_hand DROP COLUMN obeyed_at")


# What each schema from 22 on added to the file, undone (25 rewrote rows: nothing to undo). A new
# migration's undo is added here, once.
_UNDO = {22: without_store_sizes, 23: without_refusals_index, 24: without_seen_updates, 26: without_in_hand,
         27: without_prices_fired, 28: without_obeyed}


def without_after(db, schema: int) -> None:
    """Takes what the schemas after ``schema`` (21 or later) added off a file made by this moonhook,
    newest first: a test making an older file calls this beside its own undoing and its user_version."""
    for number in sorted((n for n in _UNDO if n > schema), reverse=True):
        _UNDO[number](db)
