"""Each Telegram bot's next ``getUpdates`` offset, kept across restarts, so that a command is
obeyed at most once: the offset past an update is written before the update is handled. With a
webhook, the ids of the updates Telegram posted stand in for the offset (``SeenUpdates``)."""

from __future__ import annotations

import time

from engine.adapters.storage.database import Database
from engine.adapters.storage.in_hand import CommandsInHand, InHand


class UpdateOffsets:
    """Over the table ``telegram_offsets`` (migration 5). A bot is named by its numeric id,
    never by its token."""

    def __init__(self, database: Database):
        self._d = database

    def get(self, bot: str) -> int | None:
        """The offset to ask for next; None before the bot's first update."""
        with self._d.lock:
            row = self._d.db.execute("SELECT next_offset FROM telegram_offsets WHERE bot = ?", [bot]).fetchone()
        return None if row is None else int(row[0])

    def set(self, bot: str, next_offset: int, in_hand: InHand | None = None) -> None:
        """Remembers ``next_offset`` for ``bot``, and the command of the update before it as in hand
        (``in_hand``; None: none), in one transaction: committed once this returns (on the engine's
        connection, synchronous=NORMAL: a crash keeps it, a power cut may lose the last one)."""
        with self._d.transaction() as db:
            db.execute("INSERT INTO telegram_offsets (bot, next_offset) VALUES (?, ?) "
                       "ON CONFLICT (bot) DO UPDATE SET next_offset = excluded.next_offset", [bot, int(next_offset)])
            CommandsInHand.write(db, bot, int(next_offset) - 1, in_hand)

    async def store(self, bot: str, next_offset: int, in_hand: InHand | None = None) -> None:
        """``set``, from the event loop: first waits until no other connection of the engine is
        committing, so the write does not stall the loop in SQLite's busy handler."""
        await self._d.writable()
        self.set(bot, next_offset, in_hand)


class SeenUpdates:
    """The updates Telegram posted to the webhook, by bot and update id (table ``telegram_updates``,
    migration 24). Telegram posts an update again when its answer was slow or lost, a restart
    between included, and may post several at once, out of order: so each id is remembered, not
    an offset. Kept for ``KEPT`` seconds (Telegram keeps an update no longer)."""

    KEPT = 86_400.0
    POLLED = 100     # getUpdates gives 100 at most: those polling left unconfirmed are as near below its offset

    def __init__(self, database: Database):
        self._d = database

    async def first_time(self, bot: str, update_id: int, in_hand: InHand | None = None) -> bool:
        """Remembers ``update_id`` and returns True, committed before the update is handled (at
        most once, as polling's offset), with its command as in hand (``in_hand``); False for an update
        seen already, by the webhook or by the last getUpdates of polling (within ``POLLED`` below its
        offset: far below it, the update is one Telegram numbered anew, from a random id after a week
        without updates). Raises what SQLite raises: then it was not handled."""
        await self._d.writable()
        now = time.time()
        with self._d.transaction() as db:
            polled = db.execute("SELECT next_offset FROM telegram_offsets WHERE bot = ?", [bot]).fetchone()
            if polled is not None and polled[0] - self.POLLED <= update_id < polled[0]:
                return False
            db.execute("DELETE FROM telegram_updates WHERE seen_at < ?", [now - self.KEPT])
            if db.execute("INSERT OR IGNORE INTO telegram_updates (bot, update_id, seen_at) VALUES (?, ?, ?)",
                          [bot, int(update_id), now]).rowcount != 1:
                return False
            CommandsInHand.write(db, bot, update_id, in_hand)
            return True
