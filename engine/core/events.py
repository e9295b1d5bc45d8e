"""The engine's event hub: what happens (an alert received and finished, an order placed or
refused, a fill, a plugin's error or switch, a reload, a pause), told to whoever listens now
(the dashboard's live stream, docs/dashboard.md "Events").

Publishing is synchronous and cheap: while nobody listens it is one check, and nothing is
built. Each subscriber has its own bounded queue; one that falls behind loses its oldest
events and is told how many (a ``lagged`` event), so a slow reader never slows the engine.
Events are plain JSON-able dicts, shared between subscribers: a reader must not change them.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Callable

import trio

from engine.domain.alerts import Alert

log = logging.getLogger("moonhook.events")

LAGGED = "lagged"


class Events:
    """One engine's hub. ``clock`` is the engine's wall clock (seconds), stamped as ``at``.

    ``listening`` is a plain attribute, for the alert's path to skip even the call (Python
    builds a call's keyword arguments before the callee can look: ~0.4 us for eight)."""

    def __init__(self, clock: Callable[[], float]):
        self._clock = clock
        self._subs: list[Subscription] = []
        self.listening = False  # anyone subscribed
        self._seq = 0  # events published since the engine started (while anyone listened)
        self.closed = False  # close() was called: no more subscriptions

    def publish(self, kind: str, **fields: Any) -> None:
        """Tells every subscriber ``{"seq", "at", "kind", **fields}``; ``fields`` must be
        plain JSON-able values. Never blocks, never raises (a failure is logged)."""
        if not self._subs:
            return
        self._seq += 1
        try:
            event = {"seq": self._seq, "at": self._clock(), "kind": kind, **fields}
            for sub in self._subs:
                sub._put(event)
        except Exception:  # the engine's path must go on whatever a listener's state
            log.exception("event %s could not be published", kind)

    def received(self, alert_id: int, alert: Alert, status: str) -> None:
        """``alert.received``: alert ``alert_id`` journaled and queued (``status`` "received") or held
        ("paused"), or queued again from the pause."""
        self.publish("alert.received", id=alert_id, symbol=alert.symbol,
                     command=alert.action.value if alert.action else None, status=status)

    def subscribe(self, maxlen: int = 1000) -> Subscription:
        """The events published from now on, until the subscription is closed (its ``with``
        ends); once the hub is closed, a subscription already closed. ``maxlen``: how many it
        keeps unread before it loses the oldest. Raises ValueError if ``maxlen`` is below 1."""
        if maxlen < 1:
            raise ValueError(f"maxlen: expected at least 1, got {maxlen}")
        sub = Subscription(self, maxlen)
        if self.closed:
            sub.closed = True
            return sub
        self._subs.append(sub)
        self.listening = True
        return sub

    def close(self) -> None:
        """Closes every subscription (each waiting iteration ends) and all later ones at once:
        the engine is stopping, and its listeners (the dashboard's streams) must not hold it up."""
        self.closed = True
        for sub in list(self._subs):
            sub.close()

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def _unsubscribe(self, sub: Subscription) -> None:
        try:
            self._subs.remove(sub)
        except ValueError:
            pass
        self.listening = bool(self._subs)


class Subscription:
    """One listener's queue: ``with events.subscribe() as sub: async for event in sub: ...``.
    The iteration ends once the subscription is closed."""

    def __init__(self, events: Events, maxlen: int):
        self._events = events
        self._queue: deque[dict[str, Any]] = deque(maxlen=maxlen)
        self._missed = 0        # events lost since the last one read
        self._lost_seq = 0      # the seq of the last one lost
        self._wake = trio.Event()
        self.closed = False

    def _put(self, event: dict[str, Any]) -> None:
        queue = self._queue
        if len(queue) == queue.maxlen:  # full: the oldest goes (the deque drops it)
            self._missed += 1
            self._lost_seq = queue[0]["seq"]
        queue.append(event)
        self._wake.set()

    def close(self) -> None:
        """Stops the events; an iteration waiting for one ends."""
        self.closed = True
        self._events._unsubscribe(self)
        self._wake.set()

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> dict[str, Any]:
        """The next event, waiting for one; after a loss, first ``{"kind": "lagged", "missed": N}``
        (its seq that of the last event lost). Raises StopAsyncIteration once closed."""
        if self._queue:
            await trio.lowlevel.checkpoint()  # a checkpoint, as every trio call, even when ready
        while not self._queue:
            if self.closed:
                raise StopAsyncIteration
            self._wake = trio.Event()
            await self._wake.wait()
        if self.closed:
            raise StopAsyncIteration
        if self._missed:
            return self._lagged()
        return self._queue.popleft()

    def drain(self) -> list[dict[str, Any]]:
        """The events queued now, without waiting (after a loss, the lagged notice first): what
        a reader that writes in batches takes after each event it waited for."""
        taken = [self._lagged()] if self._missed else []
        taken.extend(self._queue)
        self._queue.clear()
        return taken

    def _lagged(self) -> dict[str, Any]:
        missed, self._missed = self._missed, 0
        return {"seq": self._lost_seq, "at": self._events._clock(), "kind": LAGGED, "missed": missed}
