"""The messages Telegram refused for good, as the trader is shown them: a row a bot and chat (how
many, when the last was, its reason) in ``/health``, ``moonhook status`` and the dashboard's last
errors; and the log told each chat's reason once a run, not once a message (a chat id that does
not exist refuses every message, and a line for each would bury the log).

Read from the deliveries at the courier's start (those of the last ``KEPT`` seconds), then kept
up to date by the courier as Telegram refuses.
"""

from __future__ import annotations

import time
from typing import Any, Iterable

KEPT = 86_400.0   # a refusal is shown for a day after the last message it refused


class Refusals:
    def __init__(self) -> None:
        self._rows: dict[tuple[str, str], dict[str, Any]] = {}
        self._logged: set[tuple[str, str, str]] = set()

    def load(self, rows: Iterable[dict[str, Any]]) -> None:
        """Those read from the deliveries (``Deliveries.refused``) at the start."""
        for row in rows:
            self._rows[row["bot"], row["chat"]] = dict(row)

    def add(self, bot: str, chat: str, error: str, messages: int) -> bool:
        """Counts ``messages`` refused for good in ``chat`` for ``error``; True the first time in
        this run that the chat is refused for this reason: the one time to log it."""
        row = self._rows.setdefault((bot, chat), {"bot": bot, "chat": chat, "messages": 0})
        row.update(messages=row["messages"] + messages, at=time.time(), error=error)
        first = (bot, chat, error) not in self._logged
        self._logged.add((bot, chat, error))
        return first

    def view(self) -> list[dict[str, Any]]:
        """The chats with a message refused in the last ``KEPT`` seconds, the latest first:
        {bot, chat, messages, at (Unix time), error}."""
        since = time.time() - KEPT
        return sorted((dict(r) for r in self._rows.values() if r["at"] >= since), key=lambda r: -r["at"])
