"""Each Telegram bot's next ``getUpdates`` offset, kept across restarts, so that a command is
obeyed at most once: the offset past an update is written before the update is handled."""

from __future__ import annotations

from engine.adapters.storage.database import Database


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

    def set(self, bot: str, next_offset: int) -> None:
        """Remembers ``next_offset`` for ``bot``: committed once this returns (on the engine's
        connection, synchronous=NORMAL: a crash keeps it, a power cut may lose the last one)."""
        with self._d.transaction() as db:
            db.execute("INSERT INTO telegram_offsets (bot, next_offset) VALUES (?, ?) "
                       "ON CONFLICT (bot) DO UPDATE SET next_offset = excluded.next_offset", [bot, int(next_offset)])

    async def store(self, bot: str, next_offset: int) -> None:
        """``set``, from the event loop: first waits until no other connection of the engine is
        committing, so the write does not stall the loop in SQLite's busy handler."""
        await self._d.writable()
        self.set(bot, next_offset)
