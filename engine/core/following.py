"""The settings of a saved moonhook.toml put in force while the engine runs.

A trader edits moonhook.toml to act now: a limit tightened after a bad morning, a smaller
``default_volume``, the ``symbol_map`` entry an alert was refused for, ``execute_alerts = false``
to let only the plugins trade. The settings read as each alert is handled (``LIVE``) hold from
the next alert on, at the live desk and in the shadow's; those that shape what runs (folders,
the broker, the sandbox's budgets, the server, MetaTrader, Telegram) wait for the next start.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Protocol

from engine.domain.alerts import SymbolMap
from engine.domain.config import EngineConfig
from engine.core.limits import SETTINGS, Limits
from engine.core.services import Host

LIVE = SETTINGS + ("execute_alerts", "default_volume", "dedup_window", "max_alert_age", "expire_closes", "breaker",
                   "max_plugin_orders", "max_plugin_entries_per_minute", "symbol_map")


class Deciding(Protocol):
    config: EngineConfig


class Follower(Protocol):
    """What reads the live settings: the engine, and the shadow's trial."""

    config: EngineConfig
    decider: Deciding
    limits: Limits
    symbols: SymbolMap
    host: Host


def changed(before: EngineConfig, after: EngineConfig) -> dict[str, Any]:
    """The live settings (``LIVE``) that ``after`` changes from ``before``, with their new values."""
    return {name: getattr(after, name) for name in LIVE if getattr(after, name) != getattr(before, name)}


def follow(parts: Follower, config: EngineConfig) -> list[str]:
    """Puts in force in ``parts`` the live settings of ``config``; returns those that changed."""
    new = changed(parts.config, config)
    parts.config = parts.decider.config = replace(parts.config, **new)
    parts.limits.follow(parts.config)
    parts.symbols.follow(SymbolMap(config.symbol_map))
    parts.host.caps.follow(parts.config)
    return list(new)


def login(engine: Any, config: EngineConfig) -> list[str]:
    """``[mt5]`` of ``config`` put in force in ``engine`` if it corrects the login its broker refused (only its
    login, password or server changed: ``Broker.retry_login``, which tries it at once); ["mt5"] if so. Else it
    waits for the next start, as the rest of ``[mt5]`` does."""
    if config.mt5 == engine.config.mt5 or not engine.broker.retry_login(config.mt5):
        return []
    engine.config = replace(engine.config, mt5=config.mt5)
    return ["mt5"]


def waiting(before: EngineConfig, after: EngineConfig) -> list[str]:
    """The other settings ``after`` changes, which wait for the next start, as moonhook.toml names them."""
    return [_TOML.get(name, f"engine.{name}") for name in _REST if getattr(before, name) != getattr(after, name)]


_REST = [name for name in EngineConfig.__dataclass_fields__ if name not in (*LIVE, "plugins")]
_TOML = {"workers": "sandbox.workers", "default_budget": "the [sandbox] budget", "budget_limits": "the budget limits",
         **{table: f"[{table}]" for table in ("paper", "telegram", "mt5", "monitor", "shadow")}}


# A save correcting the login MetaTrader 5 refused (``Broker.retry_login``): its values never said (the password).
RETRIED = "[mt5]'s login, tried at once (MetaTrader 5 refused the last)"


def tables_changed(before: EngineConfig, after: EngineConfig) -> set[str]:
    """The names of the ``[plugins.NAME]`` tables ``after`` changes from ``before`` (or adds, or drops)."""
    return {name for name in set(before.plugins) | set(after.plugins) if before.plugin(name) != after.plugin(name)}


def saved_text(file: str, before: EngineConfig, after: EngineConfig, applied: list[str], later: list[str],
               strays: list[str] = ()) -> str:
    """What a save of ``file`` changed: the settings in force at once, with what they were, and
    those waiting for the next start; then what of its changed ``[plugins.NAME]`` tables
    reaches no plugin (``strays``)."""
    parts = []
    if applied:
        parts.append("in force now: " + ", ".join(
            RETRIED if name == "mt5" else f"engine.{name} {_shown(getattr(after, name))} (was "
            f"{_shown(getattr(before, name))})" for name in applied))
    if later:
        parts.append(f"at the next start: {', '.join(later)}")
    server = [name for name in later if name.startswith("server.")]
    if server:
        parts.append("the server goes on with its running [server] settings until then"
                     + (" (the old server.api_token keeps its access)" if "server.api_token" in server else ""))
    return f"{file} saved; " + ("; ".join([*parts, *strays]) or "it reads, and changes nothing in force")


def guard_text(file: str, name: str, before: Any, after: Any) -> str:
    """What a save of ``file`` changed in the ``[plugins.NAME]`` table of the guard ``name``
    (``before``, ``after``: its PluginConfig), for the administrators."""
    parts = []
    if before.enabled != after.enabled:
        parts.append(f"enabled = {_shown(after.enabled)}" + ("" if after.enabled else
                     ": switched off, the entries and orders it refuses go through"))
    for key in ("params", "budget"):
        if getattr(before, key) != getattr(after, key):
            parts.append(f"{key} {_shown(dict(getattr(after, key)))} (was {_shown(dict(getattr(before, key)))})")
    return f"{file} saved; guard {name}: " + "; ".join(parts)


def _shown(value: Any, inner: bool = False) -> str:
    if value is None or value == {}:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_shown(v, inner=True)}" for k, v in value.items()) + "}"
    if isinstance(value, str):
        return f'"{value}"' if inner else value
    return f"{value:g}" if isinstance(value, float) else str(value)
