"""When the data file cannot be written: a full disk, an I/O error, a file made read-only.

An alert answered 200 is in the journal; a write on its way (its order's ledger row, the paper
books, a trend) can still fail. The order desk writes each order down before it is sent, so a
failed write sends nothing that is not recorded, and the alert is run again from the start
(``Engine._turn``): in its lane, which its symbol's later alerts wait behind, as for a lost
broker, until the journal writes again (``back``) or a while has passed, until it expires, or
until the engine stops (then it is left for the next start). Its orders meet their client ids
at the broker, as after a crash, and are not sent twice. An alert whose status could not be
written has its status written again once the journal writes again.

The journal writer's own failures (``JournalWriter.trouble``) are said once, by channels that
do not need the disk: the log and the administrators' Telegram chats.
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Awaitable, Callable

import trio

from engine.core.broker_wait import LeftForNextStart
from engine.core.writer import JournalWriter

log = logging.getLogger("moonhook.engine")

# SQLite's primary result codes for a file that cannot be written now but may be later.
DISK = {5: "SQLITE_BUSY", 6: "SQLITE_LOCKED", 8: "SQLITE_READONLY", 10: "SQLITE_IOERR", 13: "SQLITE_FULL",
        14: "SQLITE_CANTOPEN"}
FIRST_RETRY, LAST_RETRY = 1.0, 30.0  # seconds between runs of an alert while the disk fails, doubling


def disk_error(error: BaseException) -> bool:
    """Whether ``error`` is SQLite's for a file that cannot be written (not a bad statement)."""
    code = getattr(error, "sqlite_errorcode", None) if isinstance(error, sqlite3.Error) else None
    return code is not None and code & 0xFF in DISK


class Disk:
    """What the engine knows of its file's writes, and the waits of the alerts they failed."""

    def __init__(self, writer: JournalWriter, alarms: list[Callable[[str], Awaitable[None]]], nursery: trio.Nursery,
                 stopping: trio.Event):
        self._alarms = alarms
        self._nursery = nursery
        self._stopping = stopping
        self.back = trio.Event()  # set when the journal writes again after failing
        writer.on_trouble = self.told

    def told(self, trouble: str | None) -> None:
        """The journal writer stopped (``trouble``) or started again (None) writing."""
        if trouble is None:
            log.warning("the journal writes again")
            self.back.set()
            self.back = trio.Event()
            return
        text = (f"the journal cannot write ({trouble}): webhooks are answered 500, so TradingView retries, "
                "and nothing is executed until it can" + ("; free disk space" if "full" in trouble else ""))
        log.error("%s", text)
        for alarm in self._alarms:
            self._nursery.start_soon(alarm, f"moonhook: {text}")

    async def wait(self, alert_id: int, error: BaseException, attempt: int, left: float | None) -> None:
        """Waits before ``alert_id`` runs again after ``error``, its ``attempt``-th: until the journal
        writes again or a while has passed (doubling from FIRST_RETRY to LAST_RETRY), at most
        ``left`` seconds (None: no limit); raises LeftForNextStart once the engine stops, and
        ``error`` itself at once unless it is the disk's (``disk_error``)."""
        if not disk_error(error):
            raise error
        pause = min(FIRST_RETRY * 2 ** (attempt - 1), LAST_RETRY, max(left, 0.0) if left is not None else LAST_RETRY)
        log.error("alert %d could not be written (%s): nothing unrecorded was sent; it runs again within %.0f s",
                  alert_id, error, pause)
        with trio.move_on_after(pause):
            await _first(self.back, self._stopping)
        if self._stopping.is_set():
            raise LeftForNextStart

    def rewrite(self, alert_id: int, error: BaseException, write: Callable[[], None], left: Callable[[], None]) -> None:
        """Calls ``write``, ``alert_id``'s status write that failed with ``error``, again once the
        journal writes again, or ``left`` if the engine stops first (the next start processes the
        alert again)."""
        log.error("alert %d: %s; its status is written once the journal writes again", alert_id, error)
        async def later(back: trio.Event) -> None:
            await _first(back, self._stopping)
            (left if self._stopping.is_set() else write)()
        self._nursery.start_soon(later, self.back)


async def _first(*events: trio.Event) -> None:
    """Returns once any of ``events`` is set."""
    async with trio.open_nursery() as waits:
        async def one(event: trio.Event) -> None:
            await event.wait()
            waits.cancel_scope.cancel()
        for event in events:
            waits.start_soon(one, event)
