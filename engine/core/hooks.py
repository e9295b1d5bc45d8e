"""Calling plugin hooks: one call with its accounting, and the two chains that can change or
stop what flows through them (``on_alert`` for alerts, ``on_order`` for orders).

All hook calls take one engine-wide lock. A hook that places an order runs every other
plugin's ``on_order`` while it waits; with calls into two plugins in flight from two lanes,
each could wait on the other's. Holding one lock over Lua execution rules that out, and
costs little: the sandbox runs on a few worker processes anyway, and broker calls and
journal writes, the slow parts, run outside it.

An order placed from a hook can place another from inside its ``on_order`` chain (B's
``on_order``, judging A's order, places one of its own). A, waiting in its host call until its
order is answered, cannot be called then (its script is mid-call): each task keeps the plugins
so waiting (``_waiting``), and they are skipped for the nested order; a guard among them
refuses an opening one, as a guard that cannot answer does.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter
from typing import TYPE_CHECKING, Any, Callable, Sequence

import trio

from sandbox import SandboxError
from sandbox.typing import SandboxPool as Pool

from engine.domain.alerts import Action, Alert
from engine.domain.logtext import one_line
from engine.domain.orders import OPENING
from engine.core.answers import CHANGE, INVALID, PASS, REJECT, alert_answer, order_answer
from engine.core.plugins import Plugin, failed_call
from engine.core.roster import PluginSet, Roster
from engine.core.run import current as _run

if TYPE_CHECKING:
    from engine.core.metrics import Metrics

log = logging.getLogger("moonhook.hooks")

_holding: ContextVar[bool] = ContextVar("moonhook_holding_hooks", default=False)
# The plugins of this task waiting in a host call for their own order's on_order chain.
_waiting: ContextVar[frozenset[str]] = ContextVar("moonhook_waiting_plugins", default=frozenset())
WAITING = "it waits for its own order, placed from its hook, and this one was placed while that one's on_order ran"


@dataclass
class HookResult:
    values: list | None = None       # None: the hook failed (error) and was skipped
    error: SandboxError | None = None

    @property
    def value(self) -> Any:
        return self.values[0] if self.values else None


@dataclass
class Verdict:
    """A chain's answer: the (possibly changed) data, or the rejection and who made it."""

    data: dict[str, Any]
    rejected_by: str | None = None
    reason: str | None = None
    handled_by: str | None = None
    steps: list[dict[str, Any]] | None = None


Reporter = Callable[[Plugin, str, str, str], None]  # (plugin, hook, message, kind)


class Hooks:
    def __init__(self, pool: Pool, plugins: PluginSet, report: Reporter, metrics: "Metrics",
                 excused: Callable[[], bool] = lambda: False):
        self._pool = pool
        self._plugins = plugins
        self._report = report  # (plugin, hook, message, kind): a skipped hook, for notify and the events
        self._metrics = metrics
        self._excused = excused  # a failure now is not the script's (the broker is lost): not counted
        self._lock = trio.Lock()

    def _roster(self) -> Roster:
        """The plugins of the work in flight (see ``Engine.working``), else the current ones."""
        run = _run.get()
        return run.roster if run is not None and run.roster is not None else self._plugins.current

    @staticmethod
    def holding() -> bool:
        """Whether this task holds the hook lock (a hook's host call: a plugin placing an order)."""
        return _holding.get()

    def held(self) -> "_Held":
        """The hook lock, unless this task holds it already (a hook's host call)."""
        return _Held(self._lock)

    async def call(self, plugin: Plugin, hook: str, *args: Any) -> HookResult:
        """Runs one hook; an error or an overrun is counted, logged and reported, never raised."""
        async with self.held():
            _called(plugin)
            t0 = perf_counter()
            try:
                reply = await self._pool.call(plugin.pool_id, hook, *args)
            except SandboxError as e:
                self._failed(plugin, hook, e)
                return HookResult(error=e)
            seconds = perf_counter() - t0
            plugin.stats.ok(seconds)
            self._metrics.hook(plugin, hook, seconds)
        if reply.log:
            _script_log(plugin, reply.log)
        return HookResult(reply.values)

    async def _fold(self, plugins: Sequence[Plugin], hook: str, data: dict[str, Any]) -> tuple[int, HookResult | None]:
        """Runs ``hook`` through ``plugins`` in one round trip until one answers other than a
        pass (nil or true); returns how many passed, and that one's result (None if none)."""
        folded = await self._pool.fold([p.pool_id for p in plugins], hook, data)
        for plugin in plugins[:len(folded.passed) + (folded.error is not None or folded.stop is not None)]:
            _called(plugin)
        for plugin, reply in zip(plugins, folded.passed):
            plugin.stats.ok(reply.seconds)
            self._metrics.hook(plugin, hook, reply.seconds)
            if reply.log:
                _script_log(plugin, reply.log)
        passed = len(folded.passed)
        if folded.error is not None:
            self._failed(plugins[passed], hook, folded.error)
            return passed, HookResult(error=folded.error)
        if folded.stop is not None:
            plugin = plugins[passed]
            plugin.stats.ok(folded.stop.seconds)
            self._metrics.hook(plugin, hook, folded.stop.seconds)
            if folded.stop.log:
                _script_log(plugin, folded.stop.log)
            return passed, HookResult(folded.stop.values)
        return passed, None

    def _failed(self, plugin: Plugin, hook: str, error: SandboxError) -> None:
        plugin.stats.failed(error, hook, counted=not self._excused())
        self._metrics.failed(plugin, hook, error.kind)
        if error.log:
            _script_log(plugin, error.log)
        log.warning("plugin %s: %s %s: %s", plugin.name, hook, failed_call(plugin, hook), plugin.stats.last_error)
        self._report(plugin, hook, plugin.stats.last_error or str(error), error.kind)

    def _misuse(self, plugin: Plugin, hook: str, message: str) -> None:
        """A hook returned something it may not: counted as an error, its answer ignored."""
        plugin.stats.errors += 1
        plugin.stats.last_error = f"{hook}: {message}"
        self._metrics.failed(plugin, hook, "answer")
        log.warning("plugin %s: %s answer ignored: %s", plugin.name, hook, message)
        self._report(plugin, hook, message, "answer")

    async def on_alert(self, alert: Alert, plain: dict[str, Any]) -> Verdict:
        """Runs ``on_alert`` through the plugins the alert concerns, lowest priority first.

        The plugins that pass run in one fold; each other answer is looked at here before
        the next plugin sees the alert, so each sees the changes accepted before it."""
        verdict = Verdict(plain, steps=[])
        plugins = self._roster().concerned(alert.symbol, "on_alert")
        failed: tuple[Plugin, str | None] | None = None  # a guard that failed on an exit, in case it turns to an entry
        start = 0
        async with self.held():
            while start < len(plugins):
                passed, result = await self._fold(plugins[start:], "on_alert", verdict.data)
                verdict.steps.extend({"plugin": p.name, "result": "pass"} for p in plugins[start:start + passed])
                if result is None:
                    break
                plugin = plugins[start + passed]
                start += passed + 1
                step: dict[str, Any] = {"plugin": plugin.name}
                verdict.steps.append(step)
                answer = None if result.error is not None else alert_answer(result.values, verdict.data)
                if answer is None or answer.kind == INVALID:
                    if answer is None:
                        step.update(result="error", error=plugin.stats.last_error)
                    else:
                        step.update(result="error", error=f"on_alert: {answer.problem}")
                        self._misuse(plugin, "on_alert", answer.problem)
                    if plugin.meta.guard:
                        failed = failed or (plugin, step["error"])
                        if _entry(verdict.data):
                            return _refused(verdict, plugin, step["error"])
                    continue
                step["result"] = answer.kind
                if answer.kind == REJECT:
                    step["reason"] = answer.reason
                    verdict.rejected_by, verdict.reason = plugin.name, answer.reason
                    return verdict
                if answer.kind == CHANGE:
                    verdict.data = answer.data
                    step["changes"] = answer.changes
                    if answer.handled:
                        step["handled"] = True
                        verdict.handled_by = verdict.handled_by or plugin.name
                    if failed is not None and _entry(verdict.data):  # an exit made an entry after a guard failed
                        return _refused(verdict, *failed)
        return verdict

    async def on_order(self, order: dict[str, Any], origin: str) -> Verdict:
        """Runs ``on_order`` through every plugin concerned with the order's symbol, except the
        one placing it (it chose the order) and those waiting in a host call for their own order
        (``_skip_waiting``); the passes in one fold, as for ``on_alert``."""
        verdict = Verdict(order, steps=[])
        plugins = [p for p in self._roster().concerned(order.get("symbol"), "on_order") if p.name != origin]
        opening = order.get("kind") in OPENING  # what a failing guard refuses (closes and stop moves pass)
        waiting = _waiting.get()
        if waiting:
            plugins = self._skip_waiting(verdict, plugins, waiting, opening)
            if verdict.rejected_by:
                return verdict
        # From a hook (the lock held), ``origin`` is the plugin whose host call placed the order.
        token = _waiting.set(waiting | {origin}) if self.holding() else None
        try:
            return await self._on_order(verdict, plugins, opening)
        finally:
            if token is not None:
                _waiting.reset(token)

    @staticmethod
    def _skip_waiting(verdict: Verdict, plugins: list[Plugin], waiting: frozenset[str],
                      opening: bool) -> list[Plugin]:
        """``plugins`` but those ``waiting`` in a host call on this task, each said in the
        steps; a guard among them refuses an opening order (it cannot judge it)."""
        for plugin in plugins:
            if plugin.name in waiting:
                verdict.steps.append({"plugin": plugin.name, "result": "skipped", "reason": WAITING})
                if plugin.meta.guard and opening:
                    verdict.rejected_by, verdict.reason = plugin.name, f"guard busy: {WAITING}"
                    return []
        return [p for p in plugins if p.name not in waiting]

    async def _on_order(self, verdict: Verdict, plugins: list[Plugin], opening: bool) -> Verdict:
        """The chain itself: each plugin's answer looked at before the next sees the order."""
        start = 0
        async with self.held():
            while start < len(plugins):
                passed, result = await self._fold(plugins[start:], "on_order", verdict.data)
                if result is None:
                    break
                plugin = plugins[start + passed]
                start += passed + 1
                if result.error is not None:
                    verdict.steps.append({"plugin": plugin.name, "result": "error", "error": plugin.stats.last_error})
                    if plugin.meta.guard and opening:
                        return _refused(verdict, plugin, plugin.stats.last_error)
                    continue
                answer = order_answer(result.values, verdict.data)
                if answer.kind == PASS:
                    continue
                if answer.kind == REJECT:
                    verdict.rejected_by, verdict.reason = plugin.name, answer.reason
                    verdict.steps.append({"plugin": plugin.name, "result": "vetoed", "reason": answer.reason})
                    return verdict
                if answer.kind == INVALID:
                    self._misuse(plugin, "on_order", answer.problem)
                    verdict.steps.append({"plugin": plugin.name, "result": "error", "error": answer.problem})
                    if plugin.meta.guard and opening:
                        return _refused(verdict, plugin, f"on_order: {answer.problem}")
                    continue
                verdict.data = answer.data
                verdict.steps.append({"plugin": plugin.name, "result": "changed", "changes": answer.changes})
        return verdict


def _called(plugin: Plugin) -> None:
    """Notes which version of ``plugin`` the work in flight called (an alert's ``versions``)."""
    run = _run.get()
    if run is not None:
        run.versions[plugin.name] = plugin.version


def _entry(alert: dict[str, Any]) -> bool:
    """What a failing guard refuses: an entry, or an alert without a command (a plugin after it
    may trade on it); exits, stop changes and trends go on without it."""
    action = alert.get("action")
    return action is None or Action(action).is_entry


def _refused(verdict: Verdict, plugin: Plugin, error: str | None) -> Verdict:
    """A guard failed on an entry or an opening order: refused, as if it had said no (it fails
    closed). On exits and stop changes a failing guard is skipped: a position stays closable."""
    verdict.rejected_by, verdict.reason = plugin.name, f"guard failed: {error}"
    return verdict


class _Held:
    """``async with hooks.held()``: a class, not a generator, as it is entered for every hook
    call and fold."""

    __slots__ = ("_lock", "_token")

    def __init__(self, lock: trio.Lock):
        self._lock = lock
        self._token: Any = None

    async def __aenter__(self) -> None:
        if _holding.get():
            return
        try:
            self._lock.acquire_nowait()  # free: no schedule point (a hook call has its own)
        except trio.WouldBlock:
            await self._lock.acquire()
        self._token = _holding.set(True)

    async def __aexit__(self, *_: Any) -> None:
        if self._token is not None:
            _holding.reset(self._token)
            self._lock.release()


def _script_log(plugin: Plugin, text: str) -> None:
    """A call's print output, a record a line (the sandbox joins them with newlines), each kept on its line."""
    logger = plugin.logger
    for line in text.split("\n"):
        logger.info("%s", one_line(line))
