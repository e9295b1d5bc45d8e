"""An alert whose turn finds the broker disconnected waits for it (``Engine._turn``): until the
connection is back, the alert expires, or the engine stops, whichever comes first. At a stop it
is left without a status, for the next start to process (``LeftForNextStart``)."""

from __future__ import annotations

import math
from typing import Any, Awaitable, Callable

import trio

from engine.adapters.brokers.base import Broker


class LeftForNextStart(Exception):
    """The engine stops while the alert waits for a lost broker: no status is written, so the
    next start processes it (``Engine.recover``)."""


async def wait_for_broker(broker: Broker, left: float | None, stopping: trio.Event) -> None:
    """Returns once ``broker`` is connected again or ``left`` seconds have passed (None: no
    limit); raises LeftForNextStart once ``stopping`` is set."""
    async with trio.open_nursery() as waits:
        async def first(wait: Callable[[], Awaitable[Any]]) -> None:
            await wait()
            waits.cancel_scope.cancel()
        waits.start_soon(first, lambda: broker.wait_connected(math.inf if left is None else max(left, 0.0)))
        waits.start_soon(first, stopping.wait)
    if stopping.is_set():
        raise LeftForNextStart
