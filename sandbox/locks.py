"""The locks a call passes: its plugins' (calls to one plugin run one at a time) and its
worker's, each taken without a schedule point when free."""

from __future__ import annotations

from typing import Sequence

import trio

from .plugin import Plugin


class Turn:
    """The plugins' turn: holds their locks, so that calls to one plugin run one at a time.

    A host function may call into other plugins, even ones whose locks its own fold holds
    (a plugin's order runs the others' ``on_order``): a lock this task holds already is
    passed through, unless its plugin is the one waiting on that host function. Locks are
    taken in one order (by id), so two folds cannot each wait on the other."""

    __slots__ = ("_plugins", "_held")

    def __init__(self, plugins: Sequence[Plugin]):
        self._plugins = plugins
        self._held: list[trio.Lock] = []

    async def __aenter__(self) -> None:
        plugins = self._plugins
        if len(plugins) > 1:
            plugins = sorted({p.id: p for p in plugins}.values(), key=lambda p: p.id)
        try:
            for plugin in plugins:
                lock = plugin.lock
                try:
                    lock.acquire_nowait()  # free: no schedule point (the call has its own)
                except trio.WouldBlock:
                    await lock.acquire()
                except RuntimeError:  # this task holds it: a host function calling back in
                    if plugin.suspended:
                        raise RuntimeError(f"plugin {plugin.id!r} is waiting on this host function; "
                                           "it cannot be called until that returns") from None
                    continue
                self._held.append(lock)
        except BaseException:
            await self.__aexit__()
            raise

    async def __aexit__(self, *exc: object) -> None:
        for lock in self._held:
            lock.release()
        self._held.clear()


class fast:
    """Holds a trio.Lock, without the schedule point when it is free.

    A call passes two locks (its plugin's, its worker's); each full checkpoint costs several
    microseconds, and the call has its schedule point in ``WorkerProcess.exchange``, taken
    while the worker computes."""

    __slots__ = ("_lock",)

    def __init__(self, lock: trio.Lock):
        self._lock = lock

    async def __aenter__(self) -> None:
        try:
            self._lock.acquire_nowait()
        except trio.WouldBlock:
            await self._lock.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self._lock.release()
