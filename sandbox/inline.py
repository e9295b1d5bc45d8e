"""The sandbox in this process, for replay: the same runtimes, allow-list and budgets as the
pool's workers (it runs ``worker.Worker``, the code they run), without processes or sockets,
so a replay pays for the scripts and not for crossings (about 3x less CPU an alert).

Every budget is enforced inside Lua as in a worker. The pool's last line, the hard deadline
that kills a wedged worker, is a watchdog thread here: a call that runs past its plugin's
deadline ends the process with a message naming the plugin (exit status 70); there is no
worker to replace, and a replay cannot go on without the plugin. The deadline is counted in
this process's CPU time, as the time budget is: on a busy machine a call within its budget
may take many times its deadline in wall time, and a replay is not ended for the machine's
load (a wedged C call spends CPU; this process stopped stops the watchdog too).

``clock`` is what scripts' ``os.time()`` and ``os.date()`` read; a plugin's random seed is
made from its file name, so two folders holding the same script draw the same numbers.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import sys
import threading
import time
from typing import Any, Callable, Mapping, Sequence

from . import codec, protocol
from .budget import Budget
from .errors import SandboxError
from .fold import Folded, gather
from .host import host_answer, result_of
from .plugin import HostFunction, Plugin, Reply
from .worker import PROGRESS, Worker

EXIT_DEADLINE = 70


class InlinePool:
    """A ``SandboxPool`` (``typing.py``) whose plugins run in this process, one call at a time."""

    def __init__(self, clock: Callable[[], float] | None = None):
        self._progress = bytearray(PROGRESS.size)
        self._worker = Worker(self._progress, clock)
        self._plugins: dict[str, Plugin] = {}
        self._rid = itertools.count(1)
        # the plugins of the request in hand, and the CPU time (time.process_time()) it started at
        self._running: tuple[list[Plugin], float] | None = None
        self._watchdog = threading.Thread(target=self._watch, name="sandbox deadline", daemon=True)
        self._watchdog.start()

    async def load(self, plugin_id: str, source: str, *, chunkname: str | None = None, budget: Budget = Budget(),
                   host: Mapping[str, HostFunction] | None = None, seed: int | None = None) -> Reply:
        """As ``Pool.load``."""
        if plugin_id in self._plugins:
            raise ValueError(f"plugin {plugin_id!r} is already loaded; unload it first")
        chunkname = chunkname or f"{plugin_id}.lua"
        if seed is None:
            seed = int.from_bytes(hashlib.blake2b(chunkname.encode("utf-8"), digest_size=8).digest(), "little") >> 2
        plugin = Plugin(plugin_id, source, chunkname, budget, dict(host or {}), seed)
        reply = await self._drive([plugin], plugin.load_request(next(self._rid)))
        result = result_of(plugin, reply)
        plugin.functions = protocol.Ok(*reply).functions
        self._plugins[plugin_id] = plugin
        return result

    async def call(self, plugin_id: str, function: str, *args: Any) -> Reply:
        plugin = self._plugin(plugin_id)
        shape, values = codec.encode(args)
        return result_of(plugin, await self._drive([plugin], protocol.call(next(self._rid), plugin_id, function,
                                                                             shape, values)))

    async def fold(self, plugin_ids: Sequence[str], function: str, *args: Any) -> Folded:
        """As ``Pool.fold``: one request for all the plugins."""
        plugins = [self._plugin(p) for p in plugin_ids]
        folded = Folded()
        if not plugins:
            return folded
        shape, values = codec.encode(args)
        reply = await self._drive(plugins, protocol.fold(next(self._rid), plugin_ids, function, shape, values))
        if reply[protocol.OP] != protocol.FOLDED:  # the worker failed before the plugins
            try:
                result_of(plugins[0], reply)
            except SandboxError as e:
                folded.error = e
            return folded
        gather(protocol.Folded(*reply), plugins, folded)
        return folded

    async def get_global(self, plugin_id: str, name: str) -> Any:
        plugin = self._plugin(plugin_id)
        return result_of(plugin, await self._drive([plugin], protocol.get_global(next(self._rid), plugin_id,
                                                                                   name))).value

    async def set_global(self, plugin_id: str, name: str, value: Any) -> None:
        plugin = self._plugin(plugin_id)
        shape, values = codec.encode([value])
        result_of(plugin, await self._drive([plugin], protocol.set_global(next(self._rid), plugin_id, name, shape,
                                                                            values)))

    async def unload(self, plugin_id: str) -> None:
        plugin = self._plugins.pop(plugin_id)
        await self._drive([plugin], protocol.unload(next(self._rid), plugin_id))

    def functions(self, plugin_id: str) -> list[str]:
        return list(self._plugin(plugin_id).functions)

    def memory(self, plugin_id: str) -> int:
        return self._plugin(plugin_id).memory

    def lost(self, plugin_id: str) -> str | None:
        """Always None: no worker here to kill (see ``Pool.lost``)."""
        return self._plugin(plugin_id).lost

    def plugins(self) -> list[str]:
        return list(self._plugins)

    def worker_pids(self) -> list[int]:
        return []

    def _plugin(self, plugin_id: str) -> Plugin:
        try:
            return self._plugins[plugin_id]
        except KeyError:
            raise KeyError(f"no plugin {plugin_id!r} is loaded") from None

    async def _drive(self, plugins: list[Plugin], msg: list) -> list:
        """Runs one request to its end, serving the host calls it makes (their time is not
        the plugins': the watchdog is off meanwhile)."""
        while True:
            cpu = time.process_time()
            PROGRESS.pack_into(self._progress, 0, 0, time.monotonic(), cpu)
            self._running = (plugins, cpu)
            try:
                reply = self._worker.handle(msg)
            finally:
                self._running = None
            if reply[protocol.OP] != protocol.HOST:
                return reply
            request = protocol.Host(*reply)
            msg = await host_answer(plugins[request.index or 0], request)

    def _watch(self) -> None:
        while True:
            time.sleep(0.05)
            running = self._running
            if running is None:
                continue
            plugins, since = running
            index, _, started = PROGRESS.unpack_from(self._progress, 0)  # a fold's plugin: CPU time at its start
            plugin = plugins[min(max(index, 0), len(plugins) - 1)]
            if time.process_time() - max(since, started) > plugin.budget.deadline and self._running is running:
                print(f"moonhook: {plugin.chunkname} ran past its hard deadline of {plugin.budget.deadline:.2f} s "
                      "in the sandbox; stopped", file=sys.stderr, flush=True)
                os._exit(EXIT_DEADLINE)
