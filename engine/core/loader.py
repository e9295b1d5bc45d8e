"""Loading a script as a plugin: compile it in the sandbox, read its ``plugin`` table, apply
its configuration, give it ``params``, run its ``on_load``. Any failure leaves nothing loaded
and is raised as a PluginError naming the file (and the line, when there is one). Putting
the plugin in service is the lifecycle's (``lifecycle.py``)."""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

from sandbox import SandboxError
from sandbox.typing import SandboxPool as Pool

from engine.adapters.storage import Database, MetaCache
from engine.core.plugins import (HOOKS, Plugin, PluginError, PluginMeta, asked_budget, given_params, make_budget,
                                 over_limits)
from engine.core.roster import PluginSet
from engine.core.run import outside
from engine.core.services import Host, host_functions
from engine.domain.alerts import SymbolMap
from engine.domain.config import EngineConfig

_serial = itertools.count(1)


class NameTaken(PluginError):
    """The file names a plugin (``name``) that another file (``holder``) serves; ``guard``:
    whether this file's plugin is a guard."""

    def __init__(self, file: str, name: str, holder: str, guard: bool):
        super().__init__(file, f"a plugin named {name!r} is already loaded from {holder}")
        self.name, self.holder, self.guard = name, holder, guard


@dataclass(frozen=True)
class Loader:
    """What loading needs: the pool to load into, the plugins in service (a name is one
    plugin's), the cache of scripts' metadata, and the services a script is given."""

    pool: Pool
    plugins: PluginSet
    meta_cache: MetaCache
    database: Database
    symbols: SymbolMap
    host: Host

    async def load(self, config: EngineConfig, path: Path, source: bytes, digest: str,
                   replacing: Plugin | None = None, symbols: SymbolMap | None = None) -> Plugin:
        """A new version of the plugin in ``path`` (``source``, whose hash is ``digest``),
        configured by ``config``, loaded beside ``replacing`` (the version it is to replace, if
        any) and not yet in service; ``plugin.symbols`` read through ``symbols`` (None: the
        map in force). Raises PluginError."""
        try:
            return await _load(self, config, path, source, digest, replacing, symbols or self.symbols)
        except PluginError as e:
            if e.guard is None:   # its plugin table unread (a syntax error): its text says, failing closed
                e.guard = _SAYS_GUARD.search(source) is not None
            raise

    def maps_anew(self, plugin: Plugin, symbols: SymbolMap | None = None) -> bool:
        """Whether ``plugin``'s ``plugin.symbols``, read through ``symbols`` (None: the symbol
        map as it is now), name other symbols than when it was loaded (or can no longer be read)."""
        if plugin.meta.symbols is None:
            return False
        raw = self.meta_cache.get(plugin.digest)
        try:
            return raw is None or PluginMeta.parse(raw, plugin.path.stem, plugin.path.name,
                                                   symbols or self.symbols).symbols != plugin.meta.symbols
        except PluginError:
            return True


_SAYS_GUARD = re.compile(rb"\bguard\s*=\s*true\b")


async def _load(ctx: Loader, config: EngineConfig, path: Path, source: bytes, digest: str,
                replacing: Plugin | None, symbols: SymbolMap) -> Plugin:
    file = path.name
    try:
        text = source.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PluginError(file, f"cannot read the file: not UTF-8 text (byte {e.start})") from None
    # The metadata of a source seen before gives its budget now: the chunk runs once.
    cached = ctx.meta_cache.get(digest)
    budget = config.default_budget
    if cached is not None:
        try:
            meta = PluginMeta.parse(cached, path.stem, file, symbols)
            budget = make_budget(config.default_budget, config.budget_limits, meta.budget,
                                 config.plugin(meta.name).budget)
        except (PluginError, ValueError):
            pass
    plugin = Plugin(pool_id=f"{path.stem}#{next(_serial)}", path=path,
                    meta=PluginMeta(path.stem, None), hooks=frozenset(), budget=budget, digest=digest,
                    source=source, logs=ctx.host.logs)
    host = host_functions(ctx.host, plugin)
    pool = ctx.pool

    async def run_chunk() -> None:
        try:
            with outside("its top-level code"):
                await pool.load(plugin.pool_id, text, chunkname=file, budget=plugin.budget, host=host)
        except SandboxError as e:
            raise PluginError.from_sandbox(file, e) from None

    read: PluginMeta | None = None   # the plugin table, once read
    await run_chunk()
    try:
        try:
            raw = await pool.get_global(plugin.pool_id, "plugin")
        except SandboxError as e:
            raise PluginError(file, f"the `plugin` table cannot be read: {e}") from None
        try:
            meta = PluginMeta.parse(raw, path.stem, file, symbols)
        except PluginError as e:
            raise _at_field(e, text) from None
        plugin.meta = read = meta   # a failure from here on is known to be a guard's, or not
        other = ctx.plugins.get(meta.name)
        if other is not None and other is not replacing and other.path != path and other.path.exists():
            raise NameTaken(file, meta.name, other.path.name, meta.guard)
        if ctx.meta_cache.get(digest) != raw:
            await ctx.database.writable()
            ctx.meta_cache.put(digest, raw)
        settings = config.plugin(meta.name)
        try:
            budget = make_budget(config.default_budget, config.budget_limits, meta.budget, settings.budget)
        except ValueError as e:
            raise PluginError(file, str(e)) from None
        plugin.enabled = settings.enabled
        plugin.disabled_by = None if settings.enabled else "config"
        plugin.budget_note = over_limits(asked_budget(config.default_budget, meta.budget, settings.budget),
                                         config.budget_limits)
        if plugin.budget_note:
            plugin.logger.warning("%s: %s", file, plugin.budget_note)
        if budget != plugin.budget:  # first sight of this source: it ran under the default
            await pool.unload(plugin.pool_id)
            plugin.budget = budget
            await run_chunk()
        await pool.set_global(plugin.pool_id, "params", given_params(meta.name, file, meta.params, settings.params))
        plugin.hooks = frozenset(pool.functions(plugin.pool_id)) & frozenset(HOOKS)
        if "on_load" in plugin.hooks:
            try:
                with outside("this on_load call"):
                    await pool.call(plugin.pool_id, "on_load")
            except SandboxError as e:
                raise PluginError(e.file or file, f"on_load failed: {e.kind} error: {e}", e.line) from None
    except BaseException as e:
        if isinstance(e, PluginError) and read is not None:
            e.guard = read.guard
        if plugin.pool_id in pool.plugins():
            await pool.unload(plugin.pool_id)
        raise
    return plugin


def _at_field(error: PluginError, text: str) -> PluginError:
    """``error`` (``plugin.every: ...``) at the line of that field of the text's ``plugin = {...}``,
    as every other finding has one; as it is when the text does not show it."""
    key = re.match(r"plugin\.(\w+)", error.message)
    table = re.search(r"^\s*plugin\s*=\s*\{", text, flags=re.M)
    at = re.compile(rf"\b{key[1]}\s*=(?!=)").search(text, table.end()) if key and table else None
    if at is None or error.line:
        return error
    return PluginError(error.file, error.message, text.count("\n", 0, at.start()) + 1)
