"""A plugin's ``on_timer``, called every ``plugin.every`` seconds until the plugin leaves service.

A reload or an unload stops a timer between two calls, never inside one: a call in flight may
be waiting for its order's answer, and cut there, the script never learns that the order went
through (its ``store.set`` of it never runs): the new version, seeing no note of it, would place
it again. The call finishes on the version it began on, as an alert in flight does (``roster.py``).
"""

from __future__ import annotations

from typing import Awaitable, Callable

import trio


class Timer:
    def __init__(self, every: float, tick: Callable[[], Awaitable[None]]):
        self._every, self._tick = every, tick
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
                    self._calling = True
                    try:
                        await self._tick()
                    finally:
                        self._calling = False
        finally:
            self.ended.set()

    def stop(self) -> None:
        """No call after this one: at once while it waits for its next, else once its call is done."""
        self._stopped = True
        if not self._calling:
            self._scope.cancel()
