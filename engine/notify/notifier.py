"""Notifications for the administrators: queued without waiting, then written to the outbox.

``send`` never blocks and never fails the caller (a script's ``notify.send``, a skipped
hook): it puts the message on a queue that one task drains into the durable outbox and the
log. Delivery (Telegram) reads the outbox in its own issue.
"""

from __future__ import annotations

import logging
import math
from functools import partial
from typing import Any, Awaitable, Callable

import trio

from ..storage import Outbox

log = logging.getLogger("moonhook.notify")

KINDS = ("trades", "errors", "admin", "plugin")


Write = Callable[[Callable[[Any], Any]], Awaitable[None]]


class Notifier:
    def __init__(self, outbox: Outbox, write: Write | None = None):
        """``write`` runs a write in the journal writer's next batch (see ``JournalWriter``);
        without it, the outbox is written in a thread."""
        self.outbox = outbox
        self._write = write
        self._send, self._receive = trio.open_memory_channel[tuple[str, str, str | None]](math.inf)
        self._done = trio.Event()

    def send(self, kind: str, text: str, key: str | None = None) -> None:
        """Queues ``text`` for the administrators who want ``kind`` messages."""
        if kind not in KINDS:
            raise ValueError(f"unknown notification kind {kind!r} (known: {', '.join(KINDS)})")
        try:
            self._send.send_nowait((kind, text, key))
        except trio.ClosedResourceError:
            log.warning("notification after shutdown, not kept: %s", text)

    async def run(self) -> None:
        """Writes queued messages to the outbox until ``close``; lives in the engine's nursery."""
        try:
            async with self._receive:
                async for first in self._receive:
                    # What queued meanwhile goes in the same write: one commit, not one each.
                    batch = [first]
                    while True:
                        try:
                            batch.append(self._receive.receive_nowait())
                        except (trio.WouldBlock, trio.EndOfChannel):
                            break
                    for kind, text, _ in batch:
                        log.info("[%s] %s", kind, text)
                    try:
                        if self._write is not None:
                            await self._write(partial(Outbox.insert, messages=batch))
                        else:  # in a thread: the commit must not hold up the event loop
                            await trio.to_thread.run_sync(self.outbox.add_many, batch)
                    except Exception:
                        log.exception("could not write %d notifications to the outbox", len(batch))
        finally:
            self._done.set()

    async def aclose(self) -> None:
        """No more messages; returns once ``run`` has written what was queued."""
        self._send.close()
        await self._done.wait()
