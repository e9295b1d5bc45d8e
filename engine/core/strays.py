"""``[plugins.NAME]`` tables of moonhook.toml that reach no plugin: a name misspelt
(``[plugins.Demo]`` for demo), or a ``params`` key its script does not have (``risk_pct`` for
``risk_percent``). Read as they are, they apply to nothing and nothing says so: the trader
believes a plugin switched off, or sized smaller, that trades on as before.

They are told (``moonhook check``, the start's banner, a save of moonhook.toml), never refused:
a plugin may be away for a while, its table kept for its return.
"""

from __future__ import annotations

from typing import Any, Collection, Iterable, Mapping

from engine.domain.config import PluginConfig


def strays(tables: Mapping[str, PluginConfig], plugins: Mapping[str, Collection[str]],
           failing: Iterable[str] = ()) -> list[str]:
    """What of ``tables`` (the ``[plugins.NAME]`` tables) reaches no plugin. ``plugins``: each
    plugin loaded, by name, with the params its script declares; ``failing``: the names of the
    scripts that do not load (their file's stem), whose own tables cannot be judged."""
    failing = set(failing)
    out = []
    for name, table in sorted(tables.items()):
        if name in plugins:
            out += _params(name, table.params, plugins[name])
        elif name not in failing:
            out.append(f"[plugins.{name}] names no plugin (loaded: {_listed(plugins)}): it applies to none")
    return out


def _params(name: str, given: Mapping[str, Any], declared: Collection[str]) -> list[str]:
    unknown = sorted(set(given) - set(declared))
    if not unknown:
        return []
    return [f"plugins.{name}.params: {', '.join(unknown)} not among the params its script declares "
            f"({_listed(declared)}): never read unless the script asks for it by that name"]


def _listed(names: Iterable[str]) -> str:
    return ", ".join(sorted(names)) or "none"
