"""The broker's events booked and not yet told: each fill, close, pending order ended and stop-out is
written in the transaction that books it, and taken out once the engine has told it (the trades
chat, the plugins' ``on_fill``, ``on_close`` and ``on_cancel``). A crash in between, when a busy
bar's events wait their turn, would otherwise lose them: the chat never says the position opened,
and a plugin counting the day's losses or managing the stop never sees it. What is left is told
at the next start, marked ``again`` (a crash while it was being told may have told part of it).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from engine.adapters.storage.database import Database
from engine.domain.orders import Closed, Dropped, Event, Fill, Overturned, StopOut

KINDS = {cls.__name__: cls for cls in (Fill, Closed, Dropped, StopOut, Overturned)}


class UntoldEvents:
    def __init__(self, database: Database):
        self._d = database
        self._rows: dict[int, tuple[Event, int]] = {}  # id(event) -> the event (kept alive) and its row

    def keep(self, db: Any, events: Iterable[Event]) -> None:
        """Writes ``events`` down inside the caller's transaction ``db``, the one that books them."""
        for event in events:
            row = db.execute("INSERT INTO untold_events (kind, event) VALUES (?, ?)",
                             [type(event).__name__, json.dumps(event.to_plain())]).lastrowid
            self._rows[id(event)] = (event, row)

    def told(self, event: Event) -> None:
        """``event`` told: its row is taken out (without an fsync of its own: a kill keeps the
        commit; a power cut at most tells it again)."""
        kept = self._rows.pop(id(event), None)
        if kept is not None:
            with self._d.transaction(fsync=False) as db:
                db.execute("DELETE FROM untold_events WHERE id = ?", [kept[1]])

    def left(self) -> list[Event]:
        """The events a stop left untold, oldest first, each marked ``again`` and kept to be told."""
        with self._d.lock:
            rows = self._d.db.execute("SELECT id, kind, event FROM untold_events ORDER BY id").fetchall()
        events = []
        for row, kind, plain in rows:
            event = KINDS[kind](**{**json.loads(plain), "again": True})
            self._rows[id(event)] = (event, row)
            events.append(event)
        return events
