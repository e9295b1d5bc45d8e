"""Telegram deliveries: each outbox message, routed once, becomes one row per chat that wants it.

Routing and marking the outbox row happen in one transaction, so a message is routed exactly
once. A delivery is marked sent as soon as Telegram accepts it; one that Telegram refuses for
good (a chat that blocked the bot) is marked failed with the reason, and is not tried again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, Iterable

from engine.adapters.storage.database import Database

Route = Callable[[str], list[tuple[str, str]]]  # a message's kind -> the (bot, chat) pairs that want it


@dataclass
class Delivery:
    id: int
    bot: str
    chat: str
    text: str
    created_at: float
    uncertain: bool = False  # an earlier attempt may have reached Telegram (its answer was lost)


class Deliveries:
    def __init__(self, database: Database):
        self._d = database

    def route(self, route: Route, limit: int = 1000) -> tuple[list[Delivery], int]:
        """Routes up to ``limit`` outbox messages not yet routed; returns the new deliveries and
        how many messages were routed (a message no chat wants is routed to none)."""
        now, out = time.time(), []
        with self._d.transaction() as db:
            rows = list(db.execute("SELECT id, kind, text, created_at FROM outbox WHERE sent_at IS NULL "
                                   "ORDER BY id LIMIT ?", [limit]))
            for message_id, kind, text, created_at in rows:
                for bot, chat in route(kind):
                    cursor = db.execute("INSERT INTO telegram_deliveries (outbox_id, bot, chat, text, created_at) "
                                        "VALUES (?, ?, ?, ?, ?)", [message_id, bot, chat, text, created_at])
                    out.append(Delivery(cursor.lastrowid, bot, chat, text, created_at))
            if rows:
                db.execute("UPDATE outbox SET sent_at = ? WHERE sent_at IS NULL AND id <= ?", [now, rows[-1][0]])
        return out, len(rows)

    def due(self, bots: Iterable[str]) -> list[Delivery]:
        """Every delivery of these bots neither sent nor failed, oldest first."""
        bots = list(bots)
        with self._d.lock:
            rows = self._d.db.execute(
                "SELECT id, bot, chat, text, created_at, uncertain FROM telegram_deliveries "
                f"WHERE sent_at IS NULL AND failed_at IS NULL AND bot IN ({','.join('?' * len(bots))}) "
                "ORDER BY id", bots).fetchall()
        return [Delivery(*row[:5], bool(row[5])) for row in rows]

    def mark_sent(self, ids: list[int]) -> None:
        self._update("sent_at = ?, attempts = attempts + 1", [time.time()], ids)

    def mark_failed(self, ids: list[int], error: str) -> None:
        self._update("failed_at = ?, attempts = attempts + 1, last_error = ?", [time.time(), error[:500]], ids)

    def mark_uncertain(self, ids: list[int], error: str) -> None:
        self._update("uncertain = 1, attempts = attempts + 1, last_error = ?", [error[:500]], ids)

    def mark_in_flight(self, ids: list[int]) -> None:
        """A send of these deliveries is on its way: should the engine stop or die before its
        answer, they are sent again saying so (Telegram may have taken it)."""
        self._update("uncertain = 1", [], ids)

    def mark_not_sent(self, ids: list[int]) -> None:
        """Telegram answered the send of these with an error: none of it arrived."""
        self._update("uncertain = 0", [], ids)

    def mark_partly_sent(self, ids: list[int]) -> None:
        """Part of these deliveries' message was accepted: sent again (after a restart), it says so."""
        self._update("uncertain = 1", [], ids)

    def refused(self, since: float) -> list[dict]:
        """The deliveries refused for good since ``since`` (Unix time), a row a bot and chat: how
        many (``messages``), the last one's time (``at``) and reason (``error``), newest first.
        Read in the partial index telegram_deliveries_failed (migration 23)."""
        with self._d.lock:   # with one max(), SQLite takes the bare columns from its row: the last refused
            rows = self._d.db.execute(
                "SELECT bot, chat, count(*), max(id), failed_at, last_error FROM telegram_deliveries "
                "WHERE failed_at IS NOT NULL AND failed_at >= ? GROUP BY bot, chat ORDER BY failed_at DESC",
                [since]).fetchall()
        return [{"bot": bot, "chat": chat, "messages": n, "at": at, "error": error or ""}
                for bot, chat, n, _, at, error in rows]

    def due_count(self) -> int:
        """How many deliveries are neither sent nor failed, for the metrics: counted in the
        partial index telegram_deliveries_due (its predicate word for word), never by reading
        every delivery ever made."""
        with self._d.lock:
            return self._d.db.execute("SELECT count(*) FROM telegram_deliveries "
                                      "WHERE sent_at IS NULL AND failed_at IS NULL").fetchone()[0]

    def _update(self, assignments: str, values: list, ids: list[int]) -> None:
        with self._d.transaction() as db:
            db.execute(f"UPDATE telegram_deliveries SET {assignments} WHERE id IN ({','.join('?' * len(ids))})",
                       [*values, *ids])
