"""Saves of moonhook.toml while the engine runs, the lifecycle's part (``lifecycle.py``): the
file read again and refused whole if it does not validate, or if a plugin refuses its changed
``[plugins.NAME]`` table (each such plugin is loaded with it, not yet in service, before any of
the save is applied: all of it in force, or none); then its tables applied, each plugin whose
table changed put in service with it or switched; its live settings put in force
(``following.py``); what waits for the next start told. And the plugins loaded again when
``engine.symbol_map`` changes."""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Iterable

import trio

from engine.adapters.notify import Notifier
from engine.core import following
from engine.core.script_files import identity, unsettled
from engine.core.plugins import Plugin, PluginError
from engine.core.strays import strays
from engine.domain.alerts import SymbolMap
from engine.domain.config import EngineConfig

log = logging.getLogger("moonhook.plugins")


class SettingsSaves:
    """Mixed into ``Lifecycle``, whose state and methods these use. ``elsewhere()``, when set:
    the settings outside ``[engine]`` (``server.api_token``, ...) that the last read of the file
    changed, which wait for the next start."""

    elsewhere: Callable[[], list[str]] | None = None
    # The shadow's plugins, when it runs: they take the same [plugins.NAME] tables (docs/shadow.md).
    neighbours: Callable[[], Iterable[Any]] | None = None
    _refused_save = False  # the last save was refused, and told so

    config: EngineConfig
    settings: tuple[Path, Callable[[], EngineConfig]] | None
    errors: dict[str, str]
    _follow: Callable[[EngineConfig], Awaitable[list[str]]] | None
    _notifier: Notifier
    _changing: trio.Lock
    _plugins: Any
    _pool: Any
    _loader: Any

    if TYPE_CHECKING:  # the lifecycle's
        async def _reload(self, path: Path, force: bool = False, announce: bool = True) -> None: ...
        async def _try(self, path: Path, source: bytes, hashed: str, old: Plugin | None, announce: bool,
                       config: EngineConfig | None = None, symbols: SymbolMap | None = None) -> Plugin: ...
        def _put_live(self, path: Path, new: Plugin, old: Plugin | None) -> Plugin: ...
        def set_enabled(self, name: str, enabled: bool, by: str = "api", reason: str | None = None) -> Any: ...

    async def _settings_saved(self) -> None:
        assert self.settings is not None
        path, read = self.settings
        seen = identity(path)
        try:
            config, error = read(), None  # refuses a file holding no settings: not every limit unset
        except Exception as e:  # SettingsError names the file, then the key; anything else is reported alike
            config, error = None, e
        # read as the next save of it began (the file cut to its first lines): that save's close brings it whole
        if unsettled(path, seen):
            log.info("%s: being written; applied once its writer is done", path.name)
            return
        if error is not None:
            self._save_refused(f"{path.name} not applied: {_detail(path, error)}; the running configuration is kept")
            return
        assert config is not None
        before = self.config
        async with self._changing:   # what a plugin refuses, tried before anything is applied
            try:
                tried = await self._tried(config)
            except PluginError as e:
                self._save_refused(f"{path.name} not applied: {e}; the running configuration is kept")
                return
            # The refusals folded by the throttle meanwhile are superseded: told after this save's
            # message, they would read as its refusal.
            self._notifier.settle("settings")
            refused, self._refused_save = self._refused_save, False
            self.apply_config(config, tried)
            elsewhere = self.elsewhere() if self.elsewhere is not None else []
        applied = await self._follow(config) if self._follow is not None else []
        self.config = replace(self.config, **{name: getattr(config, name) for name in applied})
        later = following.waiting(self.config, config) + elsewhere   # what the save changes and is not in force
        stray = self.strays(following.tables_changed(before, config))
        # After a refusal, a save that reads is said even if it changes nothing.
        if applied or later or stray or refused:
            told = following.saved_text(path.name, before, config, applied, later, stray)
            log.warning("%s", told)
            self._notifier.send("admin", told)

    def strays(self, names: set[str] | None = None) -> list[str]:
        """What of the ``[plugins.NAME]`` tables (those of ``names``; None: all) reaches no plugin
        loaded (``strays.py``); the tables of the files that do not load are theirs."""
        tables = {n: t for n, t in self.config.plugins.items() if names is None or n in names}
        shadow = self.neighbours() if self.neighbours is not None else ()
        loaded: dict[str, set[str]] = {}   # a script's params, its live and shadow versions' both
        for plugin in (*shadow, *self._plugins):
            loaded.setdefault(plugin.name, set()).update(plugin.meta.params)
        return strays(tables, loaded, (Path(file).stem for file in self.errors))

    async def follow_symbols(self) -> None:
        """``engine.symbol_map`` changed: the plugins whose ``plugin.symbols`` it now maps to
        other symbols, and the files that failed (a future's ticker it did not map), are loaded
        again, as a save of each would."""
        async with self._changing:
            anew = [p.path for p in self._plugins if self._loader.maps_anew(p)]
            failed = [self.config.scripts / name for name in self.errors]
            for path in sorted({*anew, *(p for p in failed if p.is_file())}):
                await self._reload(path, force=True)

    def _save_refused(self, told: str) -> None:
        log.error("%s", told)
        self._notifier.send("errors", told, key="settings")
        self._refused_save = True

    async def _tried(self, config: EngineConfig) -> dict[str, Plugin]:
        """A new version of each plugin whose ``params`` or ``budget`` ``config`` changes, or whose
        ``plugin.symbols`` its ``symbol_map`` maps otherwise, loaded with them from the source that
        serves, not yet in service. Raises PluginError, none of them left loaded, if a plugin
        refuses them (a param of another kind than its default, a ticker the map no longer names,
        a failing ``on_load``, ...). The caller holds ``_changing``."""
        symbols = SymbolMap(config.symbol_map)
        anew = config.symbol_map != self.config.symbol_map
        tried: dict[str, Plugin] = {}
        try:
            for plugin in sorted(self._plugins, key=lambda p: p.name):
                old, new = self.config.plugin(plugin.name), config.plugin(plugin.name)
                table = (old.params, old.budget) != (new.params, new.budget)
                if table or anew and self._loader.maps_anew(plugin, symbols):
                    tried[plugin.name] = await self._try(plugin.path, plugin.source, plugin.digest, plugin, True,
                                                         config, symbols)
        except BaseException:
            with trio.CancelScope(shield=True):
                for plugin in tried.values():
                    await self._pool.unload(plugin.pool_id)
            raise
        return tried

    def apply_config(self, config: EngineConfig, tried: dict[str, Plugin]) -> None:
        """Applies a saved moonhook.toml's ``[plugins.NAME]`` tables: the plugins ``_tried``
        loaded anew replaced by those versions; any other whose ``enabled`` changed switched.
        The caller holds ``_changing``."""
        before = self.config
        self.config = replace(before, plugins=config.plugins)
        for name, version in tried.items():
            self._put_live(version.path, version, self._plugins.get(name))
        for name in sorted(following.tables_changed(before, config)):
            plugin = self._plugins.get(name)
            if plugin is None:
                continue
            old, new = before.plugin(name), config.plugin(name)
            if plugin is tried.get(name):
                pass
            elif plugin.disabled_by in (None, "config"):
                self.set_enabled(name, new.enabled, by="config")
            if plugin.meta.guard:  # a guard loosened or switched off lets through what it refused
                told = following.guard_text(self.settings[0].name if self.settings else "moonhook.toml", name, old, new)
                log.warning("%s", told)
                self._notifier.send("admin", told)


def _detail(path: Path, error: Exception) -> str:
    """``error``'s message without the file it begins with, however the read named it (relative
    to where moonhook was started, or not): the save's message names it first."""
    said = str(error)
    head, found, rest = said.partition(f"{path.name}: ")
    return rest if found and (not head or head.endswith(("/", os.sep))) else said
