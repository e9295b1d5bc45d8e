"""The Telegram commands in hand: each admin command is written down in the transaction that stores
the offset past its update (``UpdateOffsets.store``), or its id by the webhook (``SeenUpdates.first_time``),
marked obeyed once ``Commands.handle`` has returned (``obeyed``), and deleted once Telegram has taken its
answers (or at once, with none). A command obeyed at most once (the offset is stored before it is handled) is
thus never lost silently: one left here at a start was cut by a stop (the engine killed, crashed, stopped)
while obeyed, or after, before its answers were taken, and its chat is told which
(``interfaces/telegram/in_hand.py``), the row deleted once Telegram has taken that word. Table
``telegram_in_hand`` (migration 26, ``obeyed_at`` 28); a bot is named by its id, never by its token; the
command is kept as the log shows it, never anything secret."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from engine.adapters.storage.database import Database

KEPT = 7 * 86_400.0     # a command cut longer ago than this is no news: dropped at the start, not told


@dataclass(frozen=True)
class InHand:
    """An admin's command as written down: the chat to tell, who sent it, what it was (at most
    ``MAX_COMMAND`` characters, nothing secret in it) and when it was received (Unix time)."""

    chat: str
    user: str | None
    command: str
    received_at: float

    MAX_COMMAND = 64


@dataclass(frozen=True)
class Cut:
    """A command left in hand at a start: ``InHand``, the update it came in, and whether it had been obeyed
    (its answers not yet taken by Telegram) or was still being obeyed."""

    bot: str
    update_id: int
    command: InHand
    obeyed: bool = False


class CommandsInHand:
    """Over ``telegram_in_hand``: ``write`` (inside the offset's transaction), ``obeyed``, ``done``, ``cut``."""

    def __init__(self, database: Database):
        self._d = database

    @staticmethod
    def write(db: Any, bot: str, update_id: int, command: InHand | None) -> None:
        """Writes ``command`` (None: nothing) inside the transaction ``db``."""
        if command is None:
            return
        db.execute("INSERT OR REPLACE INTO telegram_in_hand (bot, update_id, chat, user, command, received_at) "
                   "VALUES (?, ?, ?, ?, ?, ?)", [bot, int(update_id), command.chat, command.user,
                                                 command.command[:InHand.MAX_COMMAND], float(command.received_at)])

    async def obeyed(self, bot: str, update_id: int, now: float | None = None) -> None:
        """The command of ``update_id`` obeyed, its answers not yet taken: marked so. Raises what SQLite raises."""
        await self._d.writable()
        with self._d.transaction() as db:
            db.execute("UPDATE telegram_in_hand SET obeyed_at = ? WHERE bot = ? AND update_id = ?",
                       [time.time() if now is None else now, bot, int(update_id)])

    async def done(self, bot: str, update_id: int) -> None:
        """The command of ``update_id`` done with (failed, answered, told cut): deleted. Raises what SQLite raises."""
        await self._d.writable()
        self.forget(bot, update_id)

    def forget(self, bot: str, update_id: int) -> None:
        """``done``, off the event loop's await (an answer's ``on_sent``). Raises what SQLite raises."""
        with self._d.transaction() as db:
            db.execute("DELETE FROM telegram_in_hand WHERE bot = ? AND update_id = ?", [bot, int(update_id)])

    def cut(self, now: float | None = None) -> list[Cut]:
        """The commands left in hand, oldest first; those older than ``KEPT`` are deleted, not returned."""
        now = time.time() if now is None else now
        with self._d.transaction() as db:
            db.execute("DELETE FROM telegram_in_hand WHERE received_at < ?", [now - KEPT])
            rows = db.execute("SELECT bot, update_id, chat, user, command, received_at, obeyed_at "
                              "FROM telegram_in_hand ORDER BY received_at, update_id").fetchall()
        return [Cut(bot, update_id, InHand(chat, user, command, received_at), obeyed_at is not None)
                for bot, update_id, chat, user, command, received_at, obeyed_at in rows]
