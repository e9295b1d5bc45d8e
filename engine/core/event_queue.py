"""The broker's events waiting to be told, in order, counted: ``told`` returns once each one
put has been handled, so a stop (or a test) can wait for them as it waits for alerts."""

from __future__ import annotations

import math
from typing import Awaitable, Callable

import trio

from engine.domain.orders import Event


class EventQueue:
    def __init__(self) -> None:
        self._send, self._receive = trio.open_memory_channel[Event](math.inf)
        self._left = 0  # put and not yet handled
        self._none_left = trio.Event()
        self._none_left.set()

    def put(self, event: Event) -> None:
        """Queues ``event``; never blocks (the broker calls it without awaiting)."""
        if self._left == 0:
            self._none_left = trio.Event()
        self._left += 1
        self._send.send_nowait(event)

    async def each(self, tell: Callable[[Event], Awaitable[None]], done: Callable[[Event], None]) -> None:
        """Hands every event to ``tell``, in order, one at a time, then to ``done`` once told;
        runs until cancelled."""
        async for event in self._receive:
            try:
                await tell(event)
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
