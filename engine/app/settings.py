"""Reads moonhook.toml into :class:`~engine.domain.config.Settings`, strictly.

Every key the file may hold, and the check its value must pass, is listed once in
``SCHEMA`` below. An unknown key or a wrong value stops with a :class:`SettingsError` naming
the file and the key's path, so a typo never silently falls back to a default. The secrets
are never echoed in a message.
"""

from __future__ import annotations

import ipaddress
import json
import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from sandbox import MB, Budget

from engine.domain.config.paper import PaperConfig
from engine.domain.config.mt5 import MT5Config
from engine.domain.config.shadow import ShadowConfig
from engine.domain.config import (BROKERS, BUDGET_LIMITS, DEFAULT_BUDGET, MAX_SESSION_HOURS, EngineConfig, MonitorConfig,
                                  PluginConfig, ServerConfig, Settings)
from engine.domain.config.telegram import KINDS, PARSE_MODES, BotConfig, ChatConfig, TelegramConfig


class SettingsError(ValueError):
    """moonhook.toml (or the environment) holds something the engine cannot use."""


class _Bad(Exception):
    """Raised by a check: what was expected, and (optionally) the offending part of the value."""

    def __init__(self, expected: str, got: Any = ..., *, at: str = ""):
        super().__init__(expected)
        self.expected, self.got, self.at = expected, got, at


class _Problem(Exception):
    """A problem at a key path, before the file name is known to the message."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")


Check = Callable[[Any], Any]  # returns the value to keep, or raises _Bad


def _made(check: Any, factory: Callable[..., Check], *args: Any, **kwargs: Any) -> Check:
    """Marks the check ``factory(*args, **kwargs)`` returned with those arguments, so the JSON
    Schema generator (``config_schema.py``) can read the bounds it enforces. No effect on reading."""
    check.made_by, check.made_with, check.made_kw = factory, args, kwargs
    return check


# --- checks (factories return a check; the expected text is what the error message says)

def _integer(lo: int, hi: int) -> Check:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise _Bad(f"an integer from {lo} to {hi}")
        return v
    return _made(check, _integer, lo, hi)


def _number(lo: float = 0.0, hi: float = math.inf, *, above: bool = False) -> Check:
    """A finite int or float, at least ``lo`` (more than ``lo`` with ``above``), at most ``hi``."""
    if above:
        what = f"a number greater than {lo:g}"
    else:
        what = f"a number, {lo:g} or more" if hi == math.inf else f"a number from {lo:g} to {hi:g}"

    def check(v: Any) -> float:
        if (isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
                or not (v > lo if above else v >= lo) or not v <= hi):
            raise _Bad(what)
        return float(v)
    return _made(check, _number, lo, hi, above=above)


def _string(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise _Bad("a non-empty string")
    return v


def _boolean(v: Any) -> bool:
    if not isinstance(v, bool):
        raise _Bad("true or false")
    return v


def _choice(*options: str) -> Check:
    def check(v: Any) -> str:
        if v not in options:
            raise _Bad(f"one of {', '.join(options)}")
        return v
    return _made(check, _choice, *options)


def _folder(v: Any) -> Path:
    return Path(_string(v)).expanduser()  # resolved against the config's folder in _build


def _table(v: Any) -> dict[str, Any]:
    if not isinstance(v, dict):
        raise _Bad("a table")
    return v


def _table_of(item: Check, what: str) -> Check:
    """A table whose every value passes ``item``; an error names the entry."""
    def check(v: Any) -> dict[str, Any]:
        out = {}
        for key, value in _table(v).items():
            try:
                out[key] = item(value)
            except _Bad:
                raise _Bad(what, value, at=f".{key}") from None
        return out
    return _made(check, _table_of, item, what)


def _networks(v: Any) -> tuple[str, ...]:
    what = "a list of IP addresses or networks, like [\"203.0.113.7\", \"10.0.0.0/8\"]"
    if not isinstance(v, list):
        raise _Bad(what)
    for i, item in enumerate(v):
        try:
            if not isinstance(item, str):  # ip_network(1) is 0.0.0.1: a number is never meant
                raise TypeError
            ipaddress.ip_network(item)  # strict: 10.0.0.1/8 (host bits set) is a likely typo
        except (TypeError, ValueError):
            raise _Bad("an IP address or network, like 203.0.113.7 or 10.0.0.0/8", item, at=f"[{i}]") from None
    return tuple(v)


def _url(v: Any) -> str:
    if not isinstance(v, str) or not v.startswith(("http://", "https://")) or len(v) < 10:
        raise _Bad("an http:// or https:// URL")
    return v.rstrip("/")


def _chat_id(v: Any) -> int | str:
    if isinstance(v, int) and not isinstance(v, bool) and v != 0:
        return v
    if isinstance(v, str) and v.startswith("@") and len(v) > 1:
        return v
    raise _Bad("a chat id (a number, negative for a group) or \"@channelname\"")


def _ids_of(item: Check, example: str) -> Check:
    """A list whose every item passes ``item``; an error names the item's index."""
    def check(v: Any) -> tuple[int, ...]:
        if not isinstance(v, list):
            raise _Bad(f"a list, like {example}")
        out = []
        for i, value in enumerate(v):
            try:
                out.append(item(value))
            except _Bad as e:
                raise _Bad(e.expected, value, at=f"[{i}]") from None
        return tuple(out)
    return _made(check, _ids_of, item, example)


def _user_id(v: Any) -> int:
    """A person's Telegram user id. A chat id here (a group's negative id, "@channel") is what
    ``admins`` held before it meant people: refused, since it would let every member command."""
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return v
    raise _Bad("a person's user id, a positive number (admins are people, not chats: a group where "
               "they may command goes in telegram.command_chats)")


def _group_id(v: Any) -> int:
    """A group's chat id (negative): where the admins' commands are also taken."""
    if isinstance(v, int) and not isinstance(v, bool) and v < 0:
        return v
    raise _Bad("a group's chat id, a negative number (an admin's private chat needs no listing)")


def _chats(v: Any) -> tuple[ChatConfig, ...]:
    """Chat ids, or tables ``{ id = 123, events = ["trades", "errors"] }`` (default: every kind)."""
    what = "a list of chat ids or tables like { id = 123, events = [\"trades\"] }"
    if not isinstance(v, list):
        raise _Bad(what)
    out = []
    for i, item in enumerate(v):
        if not isinstance(item, dict):
            try:
                out.append(ChatConfig(_chat_id(item)))
            except _Bad as e:
                raise _Bad(e.expected, item, at=f"[{i}]") from None
            continue
        for key in item:
            if key not in ("id", "events"):
                raise _Bad("one of id, events", key, at=f"[{i}].{key}")
        try:
            chat = _chat_id(item.get("id"))
        except _Bad as e:
            raise _Bad(e.expected, item.get("id"), at=f"[{i}].id") from None
        events = item.get("events", list(KINDS))
        if not isinstance(events, list) or not all(e in KINDS for e in events):
            raise _Bad(f"a list of events from {', '.join(KINDS)}", events, at=f"[{i}].events")
        out.append(ChatConfig(chat, frozenset(events)))
    return tuple(out)


def _session_hours(v: Any) -> float:
    """How long a dashboard login lasts: hours above 0, at most MAX_SESSION_HOURS."""
    try:
        return _number(0, MAX_SESSION_HOURS, above=True)(v)
    except _Bad:
        raise _Bad(f"a number of hours above 0 and at most {MAX_SESSION_HOURS}") from None


def _anything_string(v: Any) -> str:
    if not isinstance(v, str):
        raise _Bad("a string")
    return v


@dataclass(frozen=True)
class _Array:
    """An array of tables, each read with ``schema`` (``[[telegram.bots]]``)."""

    schema: Mapping[str, Any]
    example: str


@dataclass(frozen=True)
class _Each:
    """A table of named sub-tables, each read with ``schema`` (``[plugins.NAME]``)."""

    schema: Mapping[str, Any]


# --- the schema: every key moonhook.toml may hold, and its check

_POSITIVE = _number(above=True)
_NOT_NEGATIVE = _number()

SCHEMA: dict[str, Any] = {
    "server": {
        "host": _string, "port": _integer(0, 65535), "secret": _string, "api_token": _string,
        "allow_ips": _networks, "trusted_proxies": _networks, "max_body": _integer(1024, 16 * MB),
        "max_connections": _integer(8, 100_000), "session_hours": _session_hours,
        "dashboard_edit": _boolean,
    },
    "engine": {
        "scripts": _folder, "data": _folder, "broker": _choice(*BROKERS), "execute_alerts": _boolean,
        "dedup_window": _NOT_NEGATIVE, "default_volume": _POSITIVE, "breaker": _integer(0, 1000),
        "max_alert_age": _NOT_NEGATIVE, "expire_closes": _boolean,
        "symbol_map": _table_of(_string, "a table of symbol names (\"OANDA:EURUSD\" = \"EURUSD\")"),
    },
    "sandbox": {  # the default budget; a plugin's own may not pass BUDGET_LIMITS
        "workers": _integer(1, 64),
        "instructions": _integer(1, BUDGET_LIMITS.instructions),
        "timeout_ms": _number(1, BUDGET_LIMITS.timeout * 1000),
        "memory_mb": _number(0.25, BUDGET_LIMITS.memory / MB),
    },
    "paper": {
        "balance": _POSITIVE, "currency": _string, "leverage": _POSITIVE, "spread_points": _NOT_NEGATIVE,
        "spreads": _table_of(_NOT_NEGATIVE, "a table of spreads in points, 0 or more"),
        "commission_per_lot": _NOT_NEGATIVE, "symbols": _table_of(_table, "a table of symbol tables"),
    },
    "plugins": _Each({
        "enabled": _boolean, "params": _table,
        # the keys plugins.check_budget / make_budget take; timeout is in seconds
        "budget": {"instructions": _integer(1, 2**53), "timeout": _POSITIVE, "memory_mb": _POSITIVE},
    }),
    "telegram": {
        "api_url": _url, "admins": _ids_of(_user_id, "[123456789]"),
        "command_chats": _ids_of(_group_id, "[-1001234567890]"), "parse_mode": _choice(*PARSE_MODES),
        "throttle_seconds": _NOT_NEGATIVE, "command_max_age": _POSITIVE,
        "webhook_url": _url, "webhook_secret": _string,
        "bots": _Array({"token": _string, "chats": _chats}, "[[telegram.bots]]"),
    },
    "monitor": {"latency_alert_ms": _POSITIVE, "memory_alert_mb": _POSITIVE, "interval_seconds": _POSITIVE,
                "lag_alert_ms": _POSITIVE},
    "mt5": {
        "module": _string, "path": _string, "login": _integer(1, 2**63 - 1), "password": _string, "server": _string,
        "host": _string, "port": _integer(1, 65535), "timeout": _POSITIVE, "init_timeout": _POSITIVE,
        "deviation": _integer(0, 10_000), "magic_base": _integer(0, 2**31 - 1), "retries": _integer(0, 20),
        "poll_seconds": _POSITIVE, "resolve_seconds": _POSITIVE, "symbol_suffix": _anything_string,
        "symbols": _table_of(_string, "a table of broker symbol names (EURUSD = \"EURUSD.r\")"),
    },
    "shadow": {"scripts": _folder},
}

SECRETS = frozenset({"server.secret", "server.api_token", "telegram.webhook_secret", "mt5.password"})  # never echoed


def _secret(path: str) -> bool:
    return path in SECRETS or path.endswith(".token")  # telegram.bots[N].token
ENV_OVERRIDES = {"MOONHOOK_SECRET": "secret", "MOONHOOK_API_TOKEN": "api_token"}  # -> [server], as given
ENV_PORT = "MOONHOOK_PORT"  # -> [server] port (a container's or a second checkout's own port)
MT5_PASSWORD = "MOONHOOK_MT5_PASSWORD"  # -> [mt5] password


def _server_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The [server] values the environment sets; a bad port is named by its variable."""
    out: dict[str, Any] = {key: env[var] for var, key in ENV_OVERRIDES.items() if env.get(var)}
    if env.get(ENV_PORT):
        text = env[ENV_PORT].strip()
        try:
            out["port"] = _read(int(text) if text.isdecimal() else text, SCHEMA["server"]["port"], ENV_PORT)
        except _Problem as e:
            raise SettingsError(f"the environment's {e}") from None
    return out


def _show(value: Any) -> str:
    """A value as the error message shows it, in TOML's spelling where it differs."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)  # nan, inf, -inf: TOML's spelling too
    text = json.dumps(value, ensure_ascii=False) if isinstance(value, (str, int, float, list)) else str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _read(raw: Any, schema: Any, path: str) -> Any:
    """``raw`` checked against ``schema``; the result keeps only known, checked values."""
    if isinstance(schema, _Array):
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            raise _Problem(path, f"expected an array of tables ({schema.example}), got {_show(raw)}")
        return [_read(item, schema.schema, f"{path}[{i}]") for i, item in enumerate(raw)]
    if isinstance(schema, (dict, _Each)):
        if not isinstance(raw, dict):
            raise _Problem(path, f"expected a table, got {_show(raw)}")
        if isinstance(schema, _Each):
            return {name: _read(value, schema.schema, f"{path}.{name}") for name, value in raw.items()}
        out = {}
        for key, value in raw.items():
            where = f"{path}.{key}" if path else key
            if key not in schema:
                raise _Problem(where, f"unknown key (known: {', '.join(schema)})")
            out[key] = _read(value, schema[key], where)
        return out
    try:
        return schema(raw)
    except _Bad as e:
        where = path + e.at
        if _secret(path):
            raise _Problem(where, f"expected {e.expected}") from None
        raise _Problem(where, f"expected {e.expected}, got {_show(raw if e.got is ... else e.got)}") from None


def _build(data: dict[str, Any], base: Path | None, env: Mapping[str, str]) -> Settings:
    """The dataclasses from checked data; folders resolved against ``base`` (the config's folder)."""
    server = {**data.get("server", {}), **_server_env(env)}
    engine = dict(data.get("engine", {}))
    for key in ("scripts", "data"):
        folder = engine.get(key, getattr(EngineConfig(), key))
        engine[key] = base / folder if base is not None else folder
    sandbox = data.get("sandbox", {})
    if "workers" in sandbox:
        engine["workers"] = sandbox["workers"]
    engine["default_budget"] = Budget(
        instructions=sandbox.get("instructions", DEFAULT_BUDGET.instructions),
        timeout=sandbox["timeout_ms"] / 1000 if "timeout_ms" in sandbox else DEFAULT_BUDGET.timeout,
        memory=int(sandbox["memory_mb"] * MB) if "memory_mb" in sandbox else DEFAULT_BUDGET.memory)
    engine["paper"] = PaperConfig(**data.get("paper", {}))
    engine["plugins"] = {name: PluginConfig(**p) for name, p in data.get("plugins", {}).items()}
    telegram = dict(data.get("telegram", {}))
    telegram["bots"] = tuple(BotConfig(**bot) for bot in telegram.get("bots", ()))
    engine["telegram"] = TelegramConfig(**telegram)
    engine["monitor"] = MonitorConfig(**data.get("monitor", {}))
    mt5 = dict(data.get("mt5", {}))
    if env.get(MT5_PASSWORD):
        mt5["password"] = env[MT5_PASSWORD]
    engine["mt5"] = MT5Config(**mt5)
    engine["shadow"] = _shadow(data.get("shadow", {}), engine["scripts"], base)
    return Settings(server=ServerConfig(**server), engine=EngineConfig(**engine))


def _shadow(shadow: dict[str, Any], live: Path, base: Path | None) -> ShadowConfig:
    """``[shadow]``, its folder resolved as ``engine.scripts`` is; the live folder itself is
    refused (its saves would reload both, and the comparison would say nothing)."""
    if "scripts" not in shadow:
        return ShadowConfig()
    folder = base / shadow["scripts"] if base is not None else shadow["scripts"]
    if folder.resolve() == live.resolve():
        raise _Problem("shadow.scripts", f"must be another folder than engine.scripts ({live}), "
                                         "like \"scripts-next\"")
    return ShadowConfig(scripts=folder)


def load_settings(path: Path | None, env: Mapping[str, str] = os.environ) -> Settings:
    """The settings in the TOML file at ``path`` (None: defaults only), with ``MOONHOOK_SECRET``,
    ``MOONHOOK_API_TOKEN`` and ``MOONHOOK_PORT`` from ``env`` over the file's [server] values.

    Relative folders are relative to the file's folder, so the engine finds the same scripts
    whatever directory it is started from.
    """
    name = str(path) if path is not None else "settings"
    data: dict[str, Any] = {}
    if path is not None:
        try:
            text = path.read_bytes().decode("utf-8")
        except FileNotFoundError:
            raise SettingsError(f"{path}: no such configuration file (`moonhook init` writes one)") from None
        except OSError as e:
            raise SettingsError(f"{path}: cannot read it: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise SettingsError(f"{path}: not UTF-8 text (byte {e.start})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:  # its message ends "(at line N, column M)"
            raise SettingsError(f"{path}: not valid TOML: {e}") from None
    try:
        checked = _read(data, SCHEMA, "")
        return _build(checked, path.parent if path is not None else None, env)
    except _Problem as e:
        raise SettingsError(f"{name}: {e}") from None
    except SettingsError:  # the environment's: named by its variable, not the file
        raise
    except ValueError as e:  # a dataclass's own check (paper.symbols, budgets, ...)
        raise SettingsError(f"{name}: {e}") from None
