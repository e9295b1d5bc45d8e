"""The broker's events waiting to be told, in order, counted: ``told`` returns once each one
put has been handled, so a stop (or a test) can wait for them as it waits for alerts. Each
keeps the account moonhook traded on when it was heard: its hooks' orders are meant for that one."""

from __future__ import annotations

import math
from typing import Awaitable, Callable

import trio

from engine.domain.orders import Event


class EventQueue:
    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[tuple[Event, str | None]](math.inf)
        self._left = 0  # put and not yet handled
        self._none_left = trio.Event()
        self._none_left.set()

    def put(self, event: Event, account: str | None = None) -> None:
        """Queues ``event``, heard while moonhook traded on ``account``; never blocks (the broker calls it
        without awaiting)."""
        if self._left == 0:
            self._none_left = trio.Event()
        self._left += 1
        self._send.send_nowait((event, account))

    async def each(self, tell: Callable[[Event, str | None], Awaitable[None]], done: Callable[[Event], None]) -> None:
        """Hands every event, with its account, to ``tell``, in order, one at a time, then to ``done`` once
        told; runs until cancelled."""
        async for event, account in self._receive:
            try:
                await tell(event, account)
                done(event)
            finally:
                self._left -= 1
                if self._left == 0:
                    self._none_left.set()

    @property
    def left(self) -> int:
        return self._left

    async def told(self) -> None:
        """Returns once every event put so far has been handled."""
        while self._left:
            await self._none_left.wait()
