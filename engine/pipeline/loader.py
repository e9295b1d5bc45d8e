"""Loading a script file as a plugin: compile it in the sandbox, read its ``plugin`` table,
apply its configuration, give it ``params``, run its ``on_load``. Any failure leaves nothing
loaded and is raised as a PluginError naming the file (and the line, when there is one)."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import TYPE_CHECKING

from sandbox import SandboxError

from ..services import host_functions
from .plugins import HOOKS, Plugin, PluginError, PluginMeta, make_budget

if TYPE_CHECKING:
    from .engine import Engine

_serial = itertools.count(1)


async def load_plugin(engine: "Engine", path: Path) -> Plugin:
    file = path.name
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise PluginError(file, f"cannot read the file: {e}") from None
    config = engine.config
    plugin = Plugin(pool_id=f"{path.stem}#{next(_serial)}", path=path,
                    meta=PluginMeta(path.stem, None), hooks=frozenset(), budget=config.default_budget)
    host = host_functions(engine, plugin)
    pool = engine.pool

    async def run_chunk() -> None:
        try:
            await pool.load(plugin.pool_id, source, chunkname=file, budget=plugin.budget, host=host)
        except SandboxError as e:
            raise PluginError.from_sandbox(file, e) from None

    await run_chunk()
    try:
        try:
            raw = await pool.get_global(plugin.pool_id, "plugin")
        except SandboxError as e:
            raise PluginError(file, f"the `plugin` table cannot be read: {e}") from None
        meta = PluginMeta.parse(raw, path.stem, file, engine.symbols)
        other = engine.plugins.get(meta.name)
        if other is not None:
            raise PluginError(file, f"a plugin named {meta.name!r} is already loaded from {other.path.name}")
        settings = config.plugin(meta.name)
        try:
            budget = make_budget(config.default_budget, config.budget_limits, meta.budget, settings.budget)
        except ValueError as e:
            raise PluginError(file, str(e)) from None
        plugin.meta, plugin.enabled = meta, settings.enabled
        if budget != plugin.budget:  # the chunk ran under the default; run it under its own
            await pool.unload(plugin.pool_id)
            plugin.budget = budget
            await run_chunk()
        await pool.set_global(plugin.pool_id, "params", {**meta.params, **settings.params})
        plugin.hooks = frozenset(pool.functions(plugin.pool_id)) & frozenset(HOOKS)
        if "on_load" in plugin.hooks:
            try:
                await pool.call(plugin.pool_id, "on_load")
            except SandboxError as e:
                raise PluginError(e.file or file, f"on_load failed: {e.kind} error: {e}", e.line) from None
    except BaseException:
        if plugin.pool_id in pool.plugins():
            await pool.unload(plugin.pool_id)
        raise
    return plugin
