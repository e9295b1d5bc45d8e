"""A stop-out told to the administrators as what it is: an account-level emergency, not one more
close. The broker closed positions because the account's margin ran out (``StopOut``: those
closed in one go); the trades chat tells each close as any other, and the admin chat is told
once, with the positions, what they lost and the margin level and equity the broker said
(``reports.describe_stop_out``). The dashboard hears it live (``account.stop_out``) and the
overview's health shows the last one, kept in the journal (``storage/stopouts.py``): a restart
shows it still.

A stop-out is kept untold until its message is in the outbox, so a crash before that tells it
at the next start (``again``); a crash after it, before the broker forgot it, would tell it
twice: its key (its positions and time) finds the message written, and the admins are not told
again.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import trio

from engine.adapters.notify import Notifier
from engine.adapters.storage import Database, JournalError
from engine.adapters.storage.stopouts import StopOutLog
from engine.core import reports
from engine.core.events import Events
from engine.core.writer import JournalWriter
from engine.domain.orders import StopOut

log = logging.getLogger("moonhook.engine")


def key_of(event: StopOut) -> str:
    """The admin message's key: the positions closed and when (a restart's ``again`` finds it)."""
    tickets = ",".join(str(p["ticket"]) for p in event.positions)
    return f"stop-out:{tickets}:{format(round(event.time * 1000), 'x')}"


def summary(event: StopOut) -> dict[str, Any]:
    """The stop-out in plain values (the live event, the health): when, the tickets, their net
    in all, and the account as the broker said it was at the first close (None where unsaid)."""
    said = reports.margin_said(event.positions[0].get("said")) or {}
    return {"time": event.time, "tickets": [p["ticket"] for p in event.positions],
            "net": round(sum(p["net"] for p in event.positions), 2) + 0.0, "currency": event.currency,
            "margin_level": said.get("margin_level"), "equity": said.get("equity"), "margin": said.get("margin")}


def joined(last: dict[str, Any] | None, more: dict[str, Any]) -> dict[str, Any]:
    """The summary of the stop-out ``last`` with the positions of ``more``, of the same go, added
    (``more`` alone without it: the first told before a restart)."""
    if last is None:
        return more
    return {**last, "tickets": [*last["tickets"], *more["tickets"]],
            "net": round(last["net"] + more["net"], 2) + 0.0}


class StopOuts:
    def __init__(self, notifier: Notifier, events: Events, writer: JournalWriter, database: Database):
        self._notifier = notifier
        self._events = events
        self._writer = writer
        self.last: dict[str, Any] | None = StopOutLog(database).last()  # the last one told (``summary``)

    async def tell(self, event: StopOut) -> None:
        """Tells the admins once (not again after a crash that came once it was written, nor for
        ``more`` of the last stop-out: its closes join it), the dashboard's listeners, keeps it as the
        last one, and returns once the message is in the outbox. A journal that cannot be written is
        logged, not raised: the message still goes."""
        key = key_of(event)
        tickets = ", ".join(str(p["ticket"]) for p in event.positions)
        if event.more:
            log.warning("stop-out: positions %s closed too, in the same go as the last one told", tickets)
        elif event.again and await trio.to_thread.run_sync(self._notifier.outbox.has, key):
            log.warning("stop-out of positions %s told before the stop: not told again", tickets)
        else:
            self._notifier.send("admin", reports.describe_event(event), key=key)
        self.last = joined(self.last, summary(event)) if event.more else summary(event)
        self._events.publish("account.stop_out", **self.last, positions=[dict(p) for p in event.positions])
        try:
            await self._writer.write(partial(StopOutLog.insert, key=key, summary=self.last), durable=False)
        except JournalError as e:
            log.error("the stop-out of positions %s not kept in the journal: %s", self.last["tickets"], e)
        await self._notifier.written()
