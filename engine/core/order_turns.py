"""One order at a time on each symbol, from its ``on_order`` to the broker's answer.

``on_order`` judges an order on the account as it is (``one_position.lua``: no entry while
the symbol has a position), and the send comes after it. Two orders on one symbol from two
places at once (an alert's entry in its lane, a plugin's entry from another symbol's alert,
a timer or a fill) could each be judged before the other was sent, and both go: two positions
where a guard allows one. Each order on a symbol waits for the one in flight there, so each is
judged on what the ones before it did.

The hook lock (``Hooks.held``) is taken before a symbol's turn, by every order: a plugin's order
holds it already (it is placed from inside a hook), and an order placed from outside a hook (the
engine's, an administrator's) takes it, waits for the symbol's turn, runs ``on_order`` and lets
it go before its send. Taken in that one order, the two locks never wait on each other, and the
broker call of an order from outside a hook still runs without the hook lock.
"""

from __future__ import annotations

import logging
from typing import Any, AsyncContextManager, Callable

import trio

log = logging.getLogger("moonhook.engine")


class OrderTurns:
    """The turns of each symbol's orders; ``held()`` gives the hook lock (``Hooks.held``)."""

    def __init__(self, held: Callable[[], AsyncContextManager[None]]):
        self._held = held
        self._locks: dict[str, trio.Lock] = {}

    def of(self, symbol: str | None, client_id: str) -> "OrderTurn":
        """``async with turns.of(symbol, client_id) as turn:`` the order's turn on ``symbol``
        (none for an order without one: a ticket no longer open, refused at the broker)."""
        lock = None if symbol is None else self._locks.setdefault(symbol, trio.Lock())
        return OrderTurn(self._held(), lock, symbol, client_id)


class OrderTurn:
    """Holds the hook lock until ``hooks_done()`` (after ``on_order``), the symbol's turn until
    it is left. An order placed from another's ``on_order`` on the same symbol (the same task
    holds the turn) goes through: it is part of the order in flight."""

    __slots__ = ("_hooks", "_hooks_held", "_lock", "_taken", "_symbol", "_client_id")

    def __init__(self, hooks: AsyncContextManager[None], lock: trio.Lock | None, symbol: str | None, client_id: str):
        self._hooks, self._lock, self._symbol, self._client_id = hooks, lock, symbol, client_id
        self._hooks_held = self._taken = False

    async def __aenter__(self) -> "OrderTurn":
        await self._hooks.__aenter__()
        self._hooks_held = True
        lock = self._lock
        if lock is None or lock.statistics().owner is trio.lowlevel.current_task():
            return self
        try:
            if lock.locked():
                log.debug("order %s waits for the order in flight on %s", self._client_id, self._symbol)
            await lock.acquire()
        except BaseException:
            await self.hooks_done()
            raise
        self._taken = True
        return self

    async def hooks_done(self) -> None:
        """Lets the hook lock go (if this turn took it): what follows is the send."""
        if self._hooks_held:
            self._hooks_held = False
            await self._hooks.__aexit__(None, None, None)

    async def __aexit__(self, *_: Any) -> None:
        await self.hooks_done()
        if self._taken:
            self._taken = False
            assert self._lock is not None
            self._lock.release()
