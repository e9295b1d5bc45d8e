"""A plugin's ``on_timer``, called every ``plugin.every`` seconds until the plugin leaves service.

A reload or an unload stops a timer between two calls, never inside one: a call in flight may
be waiting for its order's answer, and cut there, the script never learns that the order went
through (its ``store.set`` of it never runs): the new version, seeing no note of it, would place
it again. The call finishes on the version it began on, as an alert in flight does (``roster.py``).

A call begins once it has its turn (the hook lock: another plugin's hook may hold it for as long
as its order's answer takes). Waiting for it is still between two calls: stopped there, the old
version is not called once more after a save took its entries out, or after its unload.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager, nullcontext
from typing import Awaitable, Callable

import trio


class Timer:
    def __init__(self, every: float, tick: Callable[[], Awaitable[None]],
                 turn: Callable[[], AbstractAsyncContextManager[object]] = nullcontext):
        """``turn()``: held around each call, stoppable while it is waited for (the hook lock)."""
        self._every, self._tick, self._turn = every, tick, turn
        self._scope = trio.CancelScope()
        self._calling = False
        self._stopped = False
        self.ended = trio.Event()   # set once it calls no more: stopped, its call in flight done

    async def run(self) -> None:
        """Calls ``tick`` every ``every`` seconds until ``stop``; in a nursery."""
        try:
            with self._scope:
                next_at = trio.current_time() + self._every
                while not self._stopped:
                    await trio.sleep_until(next_at)
                    next_at = max(next_at + self._every, trio.current_time())
                    async with self._turn():
                        if self._stopped:   # stopped as its turn came: the lock was handed over
                            break
                        self._calling = True
                        try:
                            await self._tick()
                        finally:
                            self._calling = False
        finally:
            self.ended.set()

    def stop(self) -> None:
        """No call after this one: at once while it waits for its next or its turn, else once its call is done."""
        self._stopped = True
        if not self._calling:
            self._scope.cancel()
