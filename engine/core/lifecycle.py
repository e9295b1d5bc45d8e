"""Plugins in and out of service while the engine trades.

Loading at start; a saved file reloaded, a deleted one unloaded; ``[plugins.NAME]`` and the
live settings from a saved moonhook.toml applied (the rest told for the next start); the
breaker; and the versions taken out of service retired (their ``on_unload``, then their
runtime) once nothing in flight can reach them.

A reload compiles the new source and runs its ``on_load`` in the sandbox before anything is
replaced. If that fails, the version that was serving goes on serving, and the failure is
reported as ``moonhook check`` prints it (file:line: message) in the log, in /api/plugins and
through the notify service. The swap is one new roster (see ``roster.py``): an alert that
began on the old version finishes on it; the next one sees the new.
"""

from __future__ import annotations

import logging
from functools import partial
from pathlib import Path
from typing import Awaitable, Callable, ContextManager, Iterable, Protocol

import trio

from sandbox import SandboxError

from engine.adapters.notify import Notifier
from engine.core.events import Events
from engine.core.hooks import Hooks
from engine.core.clashes import NameClashes
from engine.core.left_behind import tell_left_behind
from engine.core.loader import Loader, NameTaken
from engine.core.plugins import Plugin, PluginError, breaker_trips, guard_failing
from engine.core.run import Run, outside
from engine.core.script_files import digest, identity, is_script, scripts_in, unsettled
from engine.core.settings_saves import SettingsSaves
from engine.core.timers import Timer
from engine.domain.alerts import SymbolMap
from engine.domain.config import EngineConfig

log = logging.getLogger("moonhook.plugins")


class Switches(Protocol):
    """What the lifecycle tells the kept switches (``switchboard.Switchboard``; the shadow's keep none)."""

    def loaded(self, new: Plugin, replaced: list[Plugin]) -> None: ...
    def switched(self, plugin: Plugin, enabled: bool, by: str, reason: str | None = None) -> None: ...
    def deleted(self, file: str) -> None: ...
    def not_loaded_at_start(self, file: str, error: str, guard: bool) -> None: ...
    def scripts_at_start(self, files: set[str]) -> None: ...
    def served_last(self, name: str) -> str | None: ...
    def name_clash_at_start(self, name: str, files: list[str], guard: bool) -> None: ...


class _Refused(Exception):
    """The file is the very write that failed to load last time (same bytes, same file): its failure stands."""


class _Unfinished(Exception):
    """The file was read as its writer still had it open, or wrote to it: its close brings it whole."""


def _unchanged(old: Plugin | None, hashed: str) -> bool:
    return old is not None and old.digest == hashed and old.disabled_by != "breaker" and old.reload_error is None


class Lifecycle(SettingsSaves, NameClashes):
    """The engine's plugin changes, one at a time; ``retirer`` runs in the engine's nursery, and
    the plugins' timers in ``nursery``. ``config`` is the running configuration (its
    ``[plugins.NAME]`` tables change with saves of moonhook.toml); ``errors`` says, per file,
    why no version of it serves; ``loading``, which files are being loaded now."""

    def __init__(self, config: EngineConfig, loader: Loader, hooks: Hooks, notifier: Notifier,
                 switchboard: Switches, working: Callable[[Run], ContextManager[Run]], nursery: trio.Nursery,
                 events: Events, timers_run: Callable[[], bool] = lambda: True,
                 follow: Callable[[EngineConfig], Awaitable[list[str]]] | None = None):
        """``timers_run()``: whether ``on_timer`` is called now (not while the broker is lost:
        a timer reads the market and places orders, and would only fail). ``follow(config)``
        puts in force at once the settings of a saved moonhook.toml that can be
        (``following.py``), and returns those that changed."""
        self.config = config
        self._follow = follow
        self._timers_run = timers_run
        self._events = events
        self._loader, self._hooks, self._notifier = loader, hooks, notifier
        self._plugins, self._pool = loader.plugins, loader.pool
        self._switchboard, self._working, self._nursery = switchboard, working, nursery
        self.errors: dict[str, str] = {}        # file -> why no version of it serves
        self._failed_guards: set[str] = set()   # those of them whose script says it is a guard
        self._changing = trio.Lock()            # one load, reload or unload at a time
        self._timers: dict[Plugin, Timer] = {}
        self._retire = trio.Event()             # set when a retiring plugin may be free
        self.loading: set[str] = set()          # files being loaded now
        # file -> the write that failed to load (digest, file identity): that write seen again (the watcher
        # after the dashboard's save) is not told again; any other, of the same bytes too, is tried
        self._refused: dict[str, tuple[str, tuple[int, ...] | None]] = {}
        self.stop = trio.Event()                # ends the file watcher
        # moonhook.toml and how to read it, when its saves are applied
        self.settings: tuple[Path, Callable[[], EngineConfig]] | None = None
        self.taken: dict[str, NameTaken] = {}   # file -> its refusal: its plugin's name is another file's

    # -- what is watched --------------------------------------------------------------------------

    def folders(self) -> list[Path]:
        folders = [self.config.scripts]
        if self.settings is not None and self.settings[0].parent != folders[0]:
            folders.append(self.settings[0].parent)
        return folders

    def watched(self, path: Path) -> bool:
        if self.settings is not None and path == self.settings[0]:
            return True
        return path.parent == self.config.scripts and is_script(path)

    async def changed(self, paths: set[Path]) -> None:
        """A batch of saves: the scripts among them applied, then the settings file. A watched
        folder gone (deleted or moved: ``watch`` names it) is the caller's (the shadow's) to act on."""
        settings = self.settings[0] if self.settings is not None else None
        scripts = {p for p in paths if p != settings and p not in self.folders()}
        if scripts:
            log.info("saved: %s", ", ".join(sorted(p.name for p in scripts)))
            await self.apply(scripts, announce=True)
        if settings in paths:
            await self._settings_saved()

    # -- loading --------------------------------------------------------------------------------

    async def load_all(self) -> None:
        """At start: every script; a guard that does not load, or is gone, pauses the engine
        (switchboard)."""
        found = scripts_in(self.config.scripts)
        for path in found:
            await self.apply([path])
        async with self._changing:
            await self._settle_names()
        for file, error in sorted(self.errors.items()):
            self._switchboard.not_loaded_at_start(file, error, file in self._failed_guards)
        self._switchboard.scripts_at_start({path.name for path in found})

    async def load(self, path: Path) -> Plugin:
        """Loads ``path`` and puts it live, replacing the plugin of its name; raises PluginError
        (and leaves the reporting to the caller)."""
        async with self._changing:
            try:
                return await self._load(path, force=True)
            except PluginError as e:
                self._events.publish("reload", file=path.name, ok=False, error=str(e.finding()))
                raise

    async def _reload(self, path: Path, force: bool = False, announce: bool = True) -> None:
        """Loads ``path`` if it changed; a failure is reported, and what served goes on serving.
        A write that failed, seen again (not written anew), is not tried again unless ``force``."""
        old = self._plugins.from_file(path)
        try:
            await self._load(path, force, announce)
        except (_Refused, _Unfinished):
            pass
        except PluginError as e:
            self._failed(path, old, e)

    async def apply(self, paths: Iterable[Path], announce: bool = False) -> None:
        """Brings the plugins in line with the files ``paths`` as they are now: loaded, reloaded
        or unloaded. New and changed files first, so a plugin renamed to another file (same
        ``plugin.name``) is replaced, not missing for a moment."""
        paths = sorted(set(paths))
        async with self._changing:
            await self._apply(paths, announce)
            await self._retry_taken({p.name for p in paths})

    async def _apply(self, paths: list[Path], announce: bool) -> None:
        for path in [p for p in paths if p.is_file()]:
            await self._reload(path, announce=announce)
        for path in [p for p in paths if not p.is_file()]:
            self._switchboard.deleted(path.name)
            self.errors.pop(path.name, None)
            self._refused.pop(path.name, None)
            self.taken.pop(path.name, None)
            plugin = self._plugins.from_file(path)
            if plugin is not None:
                log.info("plugin %s: %s deleted; unloading it once its alerts in flight are done",
                         plugin.name, path.name)
                self._out_of_service([plugin])
                tell = partial(self._notifier.send, "admin", key=f"left:{plugin.name}")
                self._nursery.start_soon(tell_left_behind, plugin, self._loader.host, tell)

    async def save(self, path: Path, source: bytes, write: Callable[[], Awaitable[None]]) -> None:
        """The dashboard's save: ``source`` tried as ``path``'s before ``write()`` puts it on disk, live
        once written. Raises NameTaken, nothing written, when its plugin's name is another file's
        (which it would take over at the next start); any other failure is written and told."""
        async with self._changing:
            old, hashed = self._plugins.from_file(path), digest(source)
            if _unchanged(old, hashed):
                await write()
                return
            try:
                new = await self._try(path, source, hashed, old, announce=True)
            except NameTaken:
                raise
            except PluginError as e:
                await write()
                self._refused[path.name] = (hashed, identity(path))
                self._failed(path, old, e)
                return
            try:
                await write()
            except BaseException:
                with trio.CancelScope(shield=True):
                    await self._pool.unload(new.pool_id)
                raise
            self._put_live(path, new, old)
            await self._retry_taken({path.name})

    async def _try(self, path: Path, source: bytes, hashed: str, old: Plugin | None, announce: bool,
                   config: EngineConfig | None = None, symbols: SymbolMap | None = None) -> Plugin:
        """A new version of ``path``'s plugin from ``source``, loaded with ``config`` and ``symbols``
        (None: the running ones), not yet in service."""
        self.loading.add(path.name)
        if announce:
            log.info("plugin file %s: loading", path.name)
        try:
            return await self._loader.load(config or self.config, path, source, hashed, old, symbols)
        finally:
            self.loading.discard(path.name)

    async def _load(self, path: Path, force: bool = False, announce: bool = False) -> Plugin:
        old = self._plugins.from_file(path)
        seen = identity(path)
        try:
            source = path.read_bytes()
        except OSError as e:
            raise PluginError(path.name, f"cannot read the file: {e.strerror}") from None
        if announce and unsettled(path, seen):   # a save the watcher saw, read as the next one began
            log.info("plugin file %s: being written; taken once its writer is done", path.name)
            raise _Unfinished(path.name)
        hashed = digest(source)
        if not force and _unchanged(old, hashed):
            return old  # saved unchanged (or a burst's repeat): nothing to compile
        if not force and self._refused.get(path.name) == (hashed, seen):
            raise _Refused(path.name)
        try:
            new = await self._try(path, source, hashed, old, announce)
        except PluginError as e:
            self._refused[path.name] = (hashed, seen)
            if isinstance(e, NameTaken):
                self.taken[path.name] = e
            raise
        return self._put_live(path, new, old)

    def _put_live(self, path: Path, new: Plugin, old: Plugin | None) -> Plugin:
        self._refused.pop(path.name, None)
        self.taken.pop(path.name, None)
        named = self._plugins.get(new.name)
        replaced = list({id(p): p for p in (old, named) if p is not None}.values())
        for before in replaced:
            new.stats = before.stats
        self._switchboard.loaded(new, replaced)  # an administrator's switch survives a reload
        new.stats.consecutive_failures = 0
        self._plugins.swap(add=new, remove=replaced)
        self._stop_timers(replaced)
        self._start_timer(new)
        self._retire.set()
        self.errors.pop(path.name, None)
        verb = "reloaded" if replaced else "loaded"
        self._events.publish("reload", file=path.name, ok=True, error=None, plugin=new.name)
        log.info("plugin %s %s from %s (%s)", new.name, verb, path.name, ", ".join(sorted(new.hooks)) or "no hooks")
        return new

    def _failed(self, path: Path, old: Plugin | None, error: PluginError) -> None:
        report = str(error.finding())  # as `moonhook check` prints it
        if old is not None:
            old.reload_error = report
            told = f"reload of {path.name} failed: {report}; the previous version keeps running"
        else:
            self.errors[path.name] = report
            (self._failed_guards.add if error.guard else self._failed_guards.discard)(path.name)
            told = f"plugin not loaded: {report}"
        log.error("%s", told)
        self._notifier.send("errors", told, key=f"load:{path.name}")
        self._events.publish("reload", file=path.name, ok=False, error=report)

    # -- out of service ------------------------------------------------------------------------

    async def unload(self, name: str) -> None:
        """Takes a plugin out of service now; its ``on_unload`` runs and its runtime goes once
        no alert in flight uses it (at once if none does). Returns once its timer's call in
        flight is done: a stop cut there would leave its order sent and the script unaware."""
        async with self._changing:
            plugin = self._plugins.get(name)
            if plugin is None:
                raise KeyError(f"no plugin named {name!r}")
            timer = self._timers.get(plugin)
            self._out_of_service([plugin])
        if timer is not None:
            await timer.ended.wait()
        await self.retire()

    def _out_of_service(self, plugins: list[Plugin]) -> None:
        self._plugins.swap(remove=plugins)
        self._stop_timers(plugins)
        self._retire.set()

    def released(self) -> None:
        """Work in flight let go of a roster: a retiring plugin may be free now."""
        if self._plugins.retiring:
            self._retire.set()

    async def retire(self) -> None:
        """Runs ``on_unload`` on, and unloads, the plugins nothing in flight can reach."""
        for plugin in self._plugins.retired():
            if "on_unload" in plugin.hooks:
                with outside("this on_unload call"):
                    await self._hooks.call(plugin, "on_unload")
            try:
                await self._pool.unload(plugin.pool_id)
            except SandboxError as e:
                log.warning("plugin %s: its old runtime could not be unloaded: %s", plugin.name, e)

    async def retirer(self) -> None:
        while True:
            await self._retire.wait()
            self._retire = trio.Event()
            await self.retire()

    # -- timers ----------------------------------------------------------------------------------

    def _start_timer(self, plugin: Plugin) -> None:
        if plugin.meta.every and "on_timer" in plugin.hooks:
            timer = self._timers[plugin] = Timer(plugin.meta.every, partial(self._tick, plugin), self._hooks.held)
            self._nursery.start_soon(timer.run, name=f"timer {plugin.name}")

    def _stop_timers(self, plugins: Iterable[Plugin]) -> None:
        for plugin in plugins:
            timer = self._timers.pop(plugin, None)
            if timer is not None:
                timer.stop()

    async def _tick(self, plugin: Plugin) -> None:
        if plugin.enabled and self._timers_run():
            with self._working(Run(None, "timer")):
                await self._hooks.call(plugin, "on_timer")

    # -- switches: the API, the breaker, the config -------------------------------------------

    def set_enabled(self, name: str, enabled: bool, by: str = "api", reason: str | None = None) -> Plugin:
        """Switches a plugin on or off at once (its hooks, its timer), kept for the next start
        unless ``by`` is "config"; raises KeyError."""
        plugin = self._plugins.get(name)
        if plugin is None:
            raise KeyError(f"no plugin named {name!r}")
        plugin.enabled = enabled
        plugin.disabled_by = None if enabled else by
        if enabled:
            plugin.stats.consecutive_failures = 0
        self._plugins.changed()
        log.warning("plugin %s %s (%s)", name, "enabled" if enabled else "disabled", by)
        self._switchboard.switched(plugin, enabled, by, reason)
        return plugin

    def hook_failed(self, plugin: Plugin, limit: int) -> None:
        """The breaker: after ``limit`` failures in a row (errors or budget overruns) the plugin
        is switched off, also across restarts, until its file is saved again (or changed while
        moonhook is stopped) or an administrator enables it. One the sandbox no longer runs (its
        call got its worker killed) is switched off at its first failure, until a save."""
        if self._plugins.get(plugin.name) is not plugin:
            return  # an old version finishing an alert in flight
        lost = self._pool.lost(plugin.pool_id)
        if lost is not None and not plugin.meta.guard:  # a guard stays on, failing closed
            if plugin.enabled:
                self._switch_off_lost(plugin, lost)
            return
        if guard_failing(plugin, limit):
            told = (f"guard {plugin.name} failed {limit} calls in a row (last: {plugin.stats.last_error}): "
                    f"the entries and opening orders it checks are refused until {plugin.path.name} is fixed "
                    "and saved, or an administrator disables it")
            log.error("%s", told)
            self._notifier.send("admin", told, key=f"guard:{plugin.name}")
        if not breaker_trips(plugin, limit):
            return
        self.set_enabled(plugin.name, False, by="breaker",
                         reason=f"{limit} failures in a row; last: {plugin.stats.last_error}")
        told = (f"plugin {plugin.name} disabled by the breaker after {limit} failures in a row "
                f"(last: {plugin.stats.last_error}); save {plugin.path.name} again or enable it through the API")
        log.error("%s", told)
        self._notifier.send("admin", told, key=f"breaker:{plugin.name}")

    def _switch_off_lost(self, plugin: Plugin, lost: str) -> None:
        """Switches off a plugin the sandbox no longer runs (``lost``: why), as the breaker does:
        until its file is saved again. Enabling it would not load it again: it would only fail."""
        self.set_enabled(plugin.name, False, by="breaker", reason=f"the sandbox no longer runs it: {lost}")
        told = (f"plugin {plugin.name} switched off: the sandbox no longer runs it ({lost}); "
                f"save {plugin.path.name} again to load it anew")
        log.error("%s", told)
        self._notifier.send("admin", told, key=f"breaker:{plugin.name}")
