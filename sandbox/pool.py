"""The supervised pool of sandbox worker processes, driven from Trio.

Plugins are spread over a few worker processes; each call runs on its plugin's worker under a
hard deadline. A worker that overruns a deadline is killed; one that dies for any reason is
replaced by a warm spare, which loads that worker's plugins again before it serves. Calls that
had not started yet go on there; a call that was running, or waiting on a host function in the
dead worker, is answered with ``timeout`` or ``crash``. The plugin whose request killed the
worker is not loaded again: it would take its neighbours down with it at every restart.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from contextlib import asynccontextmanager
from typing import Any, AsyncIterator, Mapping, Sequence

import trio

from . import codec, protocol
from .budget import Budget
from .errors import CrashError, SandboxError, ScriptError, TimeLimitError
from .host import HostError, host_answer, result_of  # noqa: F401  (HostError: the package's, lazily)
from .fold import FoldRun, Folded, gather
from .locks import Turn, fast
from .plugin import HostFunction, Plugin, Reply
from .process import DeadlineExceeded, WorkerGone, WorkerProcess
from .start import PoolDidNotStart, first_worker  # noqa: F401 - PoolDidNotStart: named from here too

log = logging.getLogger("sandbox.pool")


class Pool:
    """Use ``open_pool()``; the pool's background tasks live in the nursery it opens."""

    def __init__(self, nursery: trio.Nursery, workers: int, spares: int, nice: int = 0):
        if workers < 1:
            raise ValueError("a pool needs at least one worker")
        self._nursery = nursery
        self._nice = nice
        self._size = workers
        self._spare_count = spares
        self._slots: list[WorkerProcess] = []
        self._slot_plugins: list[dict[str, None]] = [{} for _ in range(workers)]
        self._plugins: dict[str, Plugin] = {}
        self._spare_send, self._spare_recv = trio.open_memory_channel[WorkerProcess](max(1, spares))
        self._rid = itertools.count(1)
        self._closing = False
        self.restarts = 0
        self.last_restart: str | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def _start(self) -> None:
        workers: list[WorkerProcess | None] = [None] * self._size

        async def one(i: int) -> None:
            workers[i] = await first_worker(self._nice)

        async with trio.open_nursery() as n:
            for i in range(self._size):
                n.start_soon(one, i)
            for _ in range(self._spare_count):
                n.start_soon(self._make_spare)
        self._slots = [w for w in workers if w is not None]
        for slot, w in enumerate(self._slots):
            self._nursery.start_soon(self._watch, slot, w)

    async def _make_spare(self) -> None:
        delay = 0.1
        while not self._closing:
            try:
                w = await WorkerProcess.spawn(self._nice)
            except (OSError, WorkerGone, DeadlineExceeded) as e:
                log.error("could not start a sandbox worker: %s; retrying in %.1f s", e, delay)
                await trio.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            if self._closing:
                await w.aclose()
                return
            await self._spare_send.send(w)
            return

    async def _aclose(self) -> None:
        self._closing = True
        async with trio.open_nursery() as n:
            for w in self._slots:
                n.start_soon(w.aclose)
            while True:
                try:
                    n.start_soon(self._spare_recv.receive_nowait().aclose)
                except (trio.WouldBlock, trio.EndOfChannel):
                    break

    async def _watch(self, slot: int, w: WorkerProcess) -> None:
        """Waits for worker ``w`` to exit; unless the pool is closing, replaces it.

        A plugin whose request ran past its hard deadline (``_drive``) is not loaded again: its
        chunk or its next call would likely wedge the successor too, and the plugins beside it
        would never be served. Nor is one whose reload fails, or crashes two successors in a row as
        it loads (a crash outside a reload may be anyone's: the plugin running then is loaded
        again). Their calls fail from then on, saying why (``lost``)."""
        await w.process.wait()
        if self._closing:
            return
        w.dead = True
        w.close()
        self.restarts += 1
        self.last_restart = f"worker {w.pid}: {w.exit_text()}"
        log.warning("sandbox %s; replacing it (%d plugins)", self.last_restart, len(self._slot_plugins[slot]))
        if self._spare_count:
            new = await self._spare_recv.receive()
            self._nursery.start_soon(self._make_spare)
        else:
            new = await WorkerProcess.spawn(self._nice)
        await self._load_again(slot, new)
        self._slots[slot] = new
        w.replaced.set()
        self._nursery.start_soon(self._watch, slot, new)  # at once if a reload killed ``new``

    async def _load_again(self, slot: int, new: WorkerProcess) -> None:
        """Loads the slot's plugins into ``new``, their globals set again; one that fails is lost.
        Stops if ``new`` died: its successor loads the others. A plugin ``new`` died loading is
        tried once more (a kill from outside, the OOM killer, lands on whoever loads then); dying
        again as it loads, it is lost."""
        for pid in list(self._slot_plugins[slot]):
            plugin = self._plugins.get(pid)
            if plugin is None:
                continue
            try:
                await self._drive(plugin, plugin.load_request(next(self._rid)), worker=new)
                for name, (shape, values) in plugin.globals.items():
                    request = protocol.set_global(next(self._rid), pid, name, shape, values)
                    await self._drive(plugin, request, worker=new)
                plugin.died_loading = False
            except SandboxError as e:
                if isinstance(e, CrashError) and new.dead and not plugin.died_loading and plugin.lost is None:
                    plugin.died_loading = True
                    log.warning("sandbox: a worker died as plugin %s was loaded again (%s); its successor tries once "
                                "more", pid, e)
                    return
                log.error("plugin %s did not load again after a worker restart: %s", pid, e)
                self._lose(pid, f"it did not load again after a worker restart ({e})")
            if new.dead:
                return

    def _lose(self, plugin_id: str, why: str) -> None:
        """Takes a plugin off its worker for good: it stays known (unload it), its calls fail."""
        plugin = self._plugins.get(plugin_id)
        if plugin is None or plugin.lost is not None:
            return
        plugin.lost = f"plugin {plugin_id} is not loaded: {why}"
        self._slot_plugins[plugin.slot].pop(plugin_id, None)
        log.error("sandbox: %s", plugin.lost)

    # -- the public face -------------------------------------------------------------------

    async def load(
        self,
        plugin_id: str,
        source: str,
        *,
        chunkname: str | None = None,
        budget: Budget = Budget(),
        host: Mapping[str, HostFunction] | None = None,
        seed: int | None = None,
    ) -> Reply:
        """Compiles ``source`` in a fresh runtime and runs its chunk; raises on failure, leaving
        nothing loaded. ``host`` maps dotted names ("orders.market") to async functions the
        script may call. The reply holds what the chunk returned; ``functions()`` names the
        global functions it defined."""
        if plugin_id in self._plugins:
            raise ValueError(f"plugin {plugin_id!r} is already loaded; unload it first")
        chunkname = chunkname or f"{plugin_id}.lua"
        if seed is None:
            seed = int.from_bytes(hashlib.blake2b(plugin_id.encode("utf-8"), digest_size=8).digest(), "little") >> 2
        slot = min(range(self._size), key=lambda i: len(self._slot_plugins[i]))
        plugin = Plugin(plugin_id, source, chunkname, budget, dict(host or {}), seed, slot)
        async with plugin.lock:
            reply = await self._drive(plugin, plugin.load_request(next(self._rid)))
            result = result_of(plugin, reply)
            plugin.functions = protocol.Ok(*reply).functions
            self._plugins[plugin_id] = plugin
            self._slot_plugins[slot][plugin_id] = None
        return result

    async def call(self, plugin_id: str, function: str, *args: Any) -> Reply:
        """Calls the script's global ``function`` with plain-data ``args``. Calls to one plugin
        run one at a time, in the order they were made. A plugin the pool lost (its request
        killed its worker, see ``_watch``) fails with CrashError."""
        plugin = self._serving(plugin_id)
        shape, values = codec.encode(args)
        async with Turn((plugin,)):
            reply = await self._drive(plugin, protocol.call(next(self._rid), plugin_id, function, shape, values))
            return result_of(plugin, reply)

    async def fold(self, plugin_ids: Sequence[str], function: str, *args: Any) -> Folded:
        """Calls ``function`` in each plugin in turn, with the same arguments, until one answers
        other than pass (no value, nil or true) or fails; the calls on one worker take one
        round trip between them, not one each. A failure is returned in ``error``, not raised.
        A plugin without ``function`` fails the fold there: pass only plugins that define it."""
        plugins = [self._plugin(p) for p in plugin_ids]
        shape, values = codec.encode(args)
        folded = Folded()
        start = 0
        while start < len(plugins):
            end = start + 1
            while end < len(plugins) and plugins[end].slot == plugins[start].slot:
                end += 1
            if not await self._fold_segment(plugins[start:end], function, shape, values, folded):
                break
            start = end
        if isinstance(folded.error, ScriptError) and plugins[len(folded.passed)].lost is not None:
            stopped = plugins[len(folded.passed)]  # its worker answered "not loaded here": say why
            folded.error = CrashError(stopped.lost, file=stopped.chunkname)
        return folded

    async def _fold_segment(self, plugins: list[Plugin], function: str, shape: str, values: list,
                            folded: Folded) -> bool:
        """Runs a fold on one worker; False if a plugin stopped it."""
        run = FoldRun(plugins)
        async with Turn(plugins):
            msg = protocol.fold(next(self._rid), [p.id for p in plugins], function, shape, values)
            try:
                reply = await self._drive(plugins[0], msg, run=run)
                if reply[protocol.OP] != protocol.FOLDED:  # the worker failed before the plugins
                    result_of(plugins[run.index], reply)  # raises its error
                done = protocol.Folded(*reply)
            except SandboxError as e:
                folded.passed.extend(Reply([]) for _ in range(run.index))  # the worker got past them
                folded.error = e
                return False
        return gather(done, plugins, folded)

    async def get_global(self, plugin_id: str, name: str) -> Any:
        """The script's global ``name`` as plain data (None if unset); raises ScriptError if it
        cannot cross (a function, a cycle)."""
        plugin = self._serving(plugin_id)
        async with Turn((plugin,)):
            reply = await self._drive(plugin, protocol.get_global(next(self._rid), plugin_id, name))
            return result_of(plugin, reply).value

    async def set_global(self, plugin_id: str, name: str, value: Any) -> None:
        """Sets the script's global ``name`` to plain data (the engine's ``params``). It is set
        again if the plugin's worker is replaced."""
        plugin = self._serving(plugin_id)
        shape, values = codec.encode([value])
        async with Turn((plugin,)):
            reply = await self._drive(plugin, protocol.set_global(next(self._rid), plugin_id, name, shape, values))
            result_of(plugin, reply)
            plugin.globals[name] = [shape, values]

    async def unload(self, plugin_id: str) -> None:
        plugin = self._plugin(plugin_id)
        async with plugin.lock:
            del self._plugins[plugin_id]
            self._slot_plugins[plugin.slot].pop(plugin_id, None)
            try:
                await self._drive(plugin, protocol.unload(next(self._rid), plugin_id))
            except SandboxError:
                pass  # a dead worker holds nothing to unload

    def functions(self, plugin_id: str) -> list[str]:
        return list(self._plugin(plugin_id).functions)

    def memory(self, plugin_id: str) -> int:
        """The plugin's Lua heap in bytes, as of its last call."""
        return self._plugin(plugin_id).memory

    def lost(self, plugin_id: str) -> str | None:
        """Why the plugin is no longer served (its request killed its worker, or it did not load
        again after a worker restart), or None while it is; its calls fail with this."""
        return self._plugin(plugin_id).lost

    def plugins(self) -> list[str]:
        return list(self._plugins)

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self._slots]

    # -- the machinery -----------------------------------------------------------------------

    def _plugin(self, plugin_id: str) -> Plugin:
        try:
            return self._plugins[plugin_id]
        except KeyError:
            raise KeyError(f"no plugin {plugin_id!r} is loaded") from None

    def _serving(self, plugin_id: str) -> Plugin:
        """The plugin, to run a request on; raises CrashError if it was lost (see ``_watch``)."""
        plugin = self._plugin(plugin_id)
        if plugin.lost is not None:
            raise CrashError(plugin.lost, file=plugin.chunkname)
        return plugin

    async def _current_worker(self, slot: int) -> WorkerProcess:
        while True:
            w = self._slots[slot]
            if not w.dead:
                return w
            await w.replaced.wait()

    async def _drive(self, plugin: Plugin, msg: list, worker: WorkerProcess | None = None,
                     run: FoldRun | None = None) -> list:
        """Runs one request to its end on the plugin's worker, serving the host calls it makes.

        The deadline counts only the time the worker spends running this request, not time
        waiting for the worker or for host functions, and from each host answer again (as in a
        fold): the script's time budget, which charges each host call, bounds the whole call.
        In a fold (``run``) each plugin has its own deadline, and a failure is put on the
        plugin the worker was running."""
        w = worker
        while True:
            # Until the request is sent it may go to a successor; after, it lives in `w` only.
            started = w is not None
            if not started:
                w = await self._current_worker(plugin.slot)
            async with fast(w.cpu):
                if w.dead:
                    if started:
                        culprit = run.culprit(w) if run else plugin
                        raise CrashError("the worker died while the call waited on a host function; "
                                         "the call was lost", file=culprit.chunkname)
                    w = None
                    continue
                culprit = plugin
                try:
                    if run is None:
                        reply = await w.exchange(msg, plugin.budget.deadline)
                    else:
                        reply = await run.exchange(w, msg)
                except DeadlineExceeded:
                    w.kill()
                    culprit = run.culprit(w) if run else plugin
                    overrun = f"no answer within the hard deadline of {culprit.budget.deadline:.2f} s"
                    self._lose(culprit.id, f"its request got its sandbox worker killed ({overrun})")
                    raise TimeLimitError(f"{overrun}; the worker was killed and replaced",
                                         file=culprit.chunkname) from None
                except WorkerGone as e:
                    if not e.delivered and not started:
                        w = None  # it never reached the worker: go on on its successor
                        continue
                    culprit = run.culprit(w) if run else plugin
                    raise CrashError(f"{e}; the worker is being replaced", file=culprit.chunkname) from None
            if reply[protocol.OP] != protocol.HOST:
                return reply
            request = protocol.Host(*reply)
            if run is not None:
                run.index = request.index
                culprit = run.plugins[run.index]
            culprit.suspended = True
            try:
                msg = await host_answer(culprit, request)
            finally:
                culprit.suspended = False

@asynccontextmanager
async def open_pool(workers: int = 2, *, spares: int = 1, nice: int = 0) -> AsyncIterator[Pool]:
    """Starts ``workers`` sandbox processes plus warm ``spares``; stops them all on exit.
    Raises PoolDidNotStart when a worker dies as it starts, twice (``start.py``).

    A spare lets a dead worker be replaced in milliseconds instead of a process start. With
    ``nice``, the workers run that much below this process's priority (where the system has
    ``os.nice``): a pool whose work may wait (the shadow's) yields the cores to the others."""
    async with trio.open_nursery() as nursery:
        pool = Pool(nursery, workers, spares, nice)
        try:
            await pool._start()
            yield pool
        finally:
            with trio.CancelScope(shield=True):
                await pool._aclose()
            nursery.cancel_scope.cancel()
