"""Notifications for the administrators: queued without waiting, then written to the outbox.

``send`` never blocks and never fails the caller (a script's ``notify.send``, a skipped
hook): it puts the message on a queue that one task drains into the durable outbox and the
log, repeats of one key throttled (``throttle.py``). The courier (``courier.py``) takes
them from the outbox to Telegram.
"""

from __future__ import annotations

import logging
import math
from functools import partial
from typing import Any, Awaitable, Callable

import trio

from engine.adapters.storage import Outbox
from engine.adapters.storage.outbox import kept
from engine.domain.config.telegram import KINDS
from engine.adapters.notify.throttle import Message, Throttle

log = logging.getLogger("moonhook.notify")
_SETTLE = "settle"  # on the queue, not a kind: the throttle's window of the key closes (``settle``)

Write = Callable[[Callable[[Any], Any]], Awaitable[None]]


class Notifier:
    def __init__(self, outbox: Outbox, write: Write | None = None, throttle_seconds: float = 60.0):
        """``write`` runs a write in the journal writer's next batch (see ``JournalWriter``);
        without it, the outbox is written in a thread. Messages with the same key are sent
        once per ``throttle_seconds``, with a count of the repeats."""
        self.outbox = outbox
        self._written: Callable[[], None] | None = None  # called after each outbox write
        self.delivered = False  # a courier takes messages from the outbox (Telegram is on)
        self.telegram: Callable[[], dict[str, Any]] | None = None  # what /health shows of the courier
        self._write = write
        self._throttle = Throttle(throttle_seconds)
        self._send, self._receive = trio.open_memory_channel[Message](math.inf)
        self._done = trio.Event()
        self._queued = self._taken = self._handled = 0  # put on the queue; taken off; of those, written
        self._stored = trio.Event()  # set (and replaced) after each batch is written

    def attach(self, written: Callable[[], None], telegram: Callable[[], dict[str, Any]] | None = None) -> None:
        """A courier delivers the outbox from now on; ``written()`` is called after each write, and
        ``telegram()`` gives the fields ``/health`` shows of it (``Courier.health``)."""
        self._written, self.delivered, self.telegram = written, True, telegram

    def send(self, kind: str, text: str, key: str | None = None) -> None:
        """Queues ``text`` for the administrators who want ``kind`` messages. Messages with
        the same ``key`` are throttled together (None: never throttled). A text of whitespace
        only is not queued, and the log says so (``_blank``). Raises ValueError for an unknown kind."""
        if kind not in KINDS:
            raise ValueError(f"unknown notification kind {kind!r} (known: {', '.join(KINDS)})")
        if _blank(kind, text, key):
            return
        text = kept(text)   # logged as kept: not a megabyte a message
        try:
            self._send.send_nowait((kind, text, key))
            self._queued += 1
        except trio.ClosedResourceError:
            log.warning("notification after shutdown, not kept: %s", text)

    def write_in(self, db: Any, kind: str, text: str, key: str) -> Callable[[], None]:
        """``text`` written to the outbox inside the caller's transaction ``db``, with what it is
        about (a write that must tell the trader once: both commit, or neither, whatever crash
        comes); never throttled, and not written when it is whitespace only (``_blank``). Returns what
        to call once it has committed: the log line, and the courier woken."""
        if kind not in KINDS:
            raise ValueError(f"unknown notification kind {kind!r} (known: {', '.join(KINDS)})")
        if _blank(kind, text, key):
            return lambda: None
        text = kept(text)
        Outbox.insert(db, [(kind, text, key)], kept_only=not self.delivered)

        def committed() -> None:
            log.info("[%s] %s", kind, text)
            if self._written is not None:
                self._written()
        return committed

    def settle(self, key: str) -> None:
        """The messages of ``key`` sent so far are superseded (a save of moonhook.toml that
        reads, after refused ones): the repeats the throttle folded are never told, in the order
        of the queue (a message of ``key`` sent after this opens a window anew)."""
        try:
            self._send.send_nowait((_SETTLE, "", key))
            self._queued += 1
        except trio.ClosedResourceError:
            pass

    async def run(self) -> None:
        """Writes queued messages to the outbox until ``close``; lives in the engine's nursery."""
        try:
            async with self._receive:
                while True:
                    batch = await self._next_batch()
                    if batch is None:   # closed: what the throttle folded is told, not dropped
                        if summaries := self._throttle.ending():
                            await self._store(summaries)
                        break
                    if batch:
                        await self._store(batch)
                    self._handled = self._taken
                    self._stored.set()
                    self._stored = trio.Event()
        finally:
            self._done.set()

    async def written(self) -> None:
        """Returns once every message sent before it is in the outbox (or held by the throttle,
        or its write failed): the broker forgets an event it keeps untold only after this, or a
        kill in between would lose the trades chat's message of it for good."""
        queued = self._queued
        while self._handled < queued and not self._done.is_set():
            await self._stored.wait()

    async def _next_batch(self) -> list[Message] | None:
        """What queued meanwhile, in one write (one commit, not one each), throttled; None at
        the end. Waits at most until the next throttle window ends, to tell its repeats."""
        batch: list[Message] = []
        deadline = self._throttle.next_deadline()
        with trio.move_on_at(deadline if deadline is not None else math.inf):
            try:
                batch.append(await self._receive.receive())
            except trio.EndOfChannel:
                return None
        while True:
            try:
                batch.append(self._receive.receive_nowait())
            except (trio.WouldBlock, trio.EndOfChannel):
                break
        self._taken += len(batch)
        now = trio.current_time()
        out = self._throttle.due(now)  # windows that ended first: a new message opens the next
        for message in batch:
            if message[0] == _SETTLE:
                self._throttle.settle(message[2])
            elif self._throttle.admit(message, now):
                out.append(message)
            else:
                log.debug("[%s] (throttled) %s", message[0], message[1])
        return out

    async def _store(self, batch: list[Message]) -> None:
        for kind, text, _ in batch:
            log.info("[%s] %s", kind, text)
        try:
            kept_only = not self.delivered
            if self._write is not None:
                await self._write(partial(Outbox.insert, messages=batch, kept_only=kept_only))
            else:  # in a thread: the commit must not hold up the event loop
                await trio.to_thread.run_sync(self.outbox.add_many, batch, kept_only)
        except Exception:
            log.exception("could not write %d notifications to the outbox", len(batch))
            return
        if self._written is not None:
            self._written()

    async def aclose(self) -> None:
        """No more messages; returns once ``run`` has written what was queued."""
        self._send.close()
        await self._done.wait()


def _blank(kind: str, text: str, key: str | None) -> bool:
    """True, logged, for a notice of whitespace only: Telegram refuses it for good (400 "message text is
    empty"), which would read as the chat refusing moonhook's messages, and it tells the trader nothing."""
    if text.strip():
        return False
    log.warning("[%s] a notice of whitespace only is not sent (Telegram refuses an empty message)%s", kind,
                f": {key}" if key else "")
    return True
