"""The locks a call passes: its plugins' (calls to one plugin run one at a time) and its
worker's, each taken without a schedule point when free."""

from __future__ import annotations

from typing import Sequence

import trio

from .plugin import Plugin


class Turn:
    """The plugins' turn: holds their locks, so that calls to one plugin run one at a time.

    Re-entrancy, the rule: a host function runs in the task of the call that made it, and
    may call into other plugins, even ones whose locks that call holds (a plugin's order
    runs the others' ``on_order``, inside the fold). So a plugin lock whose owner is the
    current task (``Lock.statistics().owner``) is passed through, not taken again (that
    would deadlock): the call that holds it is this one, suspended in a host function. The
    exception is a plugin that is itself waiting on that host function (``suspended``): its
    Lua state is mid-call, so calling it raises RuntimeError. A lock another task holds is
    waited for, as any lock (a task started by a host function is another task). Locks are
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
                if lock.locked() and lock.statistics().owner is trio.lowlevel.current_task():
                    # held by this very call, suspended in the host function calling back in
                    if plugin.suspended:
                        raise RuntimeError(f"plugin {plugin.id!r} is waiting on this host function; "
                                           "it cannot be called until that returns")
                    continue
                try:
                    lock.acquire_nowait()  # free: no schedule point (the call has its own)
                except trio.WouldBlock:
                    await lock.acquire()
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
