"""Reads moonhook.toml into :class:`~engine.domain.config.Settings`, strictly.

Every key the file may hold, and the check its value must pass (``checks.py``), is listed
once in ``SCHEMA`` below. An unknown key or a wrong value stops with a :class:`SettingsError`
naming the file and the key's path, so a typo never silently falls back to a default. The
secrets are never echoed in a message.
"""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from dataclasses import fields
from pathlib import Path
from typing import Any, Mapping

from sandbox import MB, Budget

from engine.domain.config.paper import PaperConfig
from engine.domain.config.mt5 import MT5Config
from engine.domain.config.shadow import ShadowConfig
from engine.domain.config import (BROKERS, BUDGET_LIMITS, DEFAULT_BUDGET, EngineConfig, MonitorConfig, PluginConfig,
                                  ServerConfig, Settings)
from engine.domain.config.telegram import PARSE_MODES, BotConfig, TelegramConfig
from engine.domain.rules import MAX_PRICE
from engine.app import checks as c
from engine.app.toml_lines import key_before, last_key, line_of, written_twice


class SettingsError(ValueError):
    """moonhook.toml (or the environment) holds something the engine cannot use."""


class _Problem(Exception):
    """A problem at a key path, before the file name is known to the message."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}")
        self.path = path


# --- the schema: every key moonhook.toml may hold, and its check

_POSITIVE = c.number(above=True)
_NOT_NEGATIVE = c.number()
_AMOUNT = c.number(0, MAX_PRICE, above=True)

SCHEMA: dict[str, Any] = {
    "server": {
        "host": c.listen_host, "port": c.integer(0, 65535), "secret": c.secret, "api_token": c.secret,
        "allow_ips": c.networks, "trusted_proxies": c.networks, "hosts": c.hosts, "max_body": c.integer(1024, 16 * MB),
        "max_connections": c.integer(8, 100_000), "max_connections_per_ip": c.integer(1, 100_000),
        "session_hours": c.session_hours, "dashboard_edit": c.boolean,
    },
    "engine": {
        "scripts": c.folder, "data": c.folder, "broker": c.choice(*BROKERS), "execute_alerts": c.boolean,
        "dedup_window": _NOT_NEGATIVE, "default_volume": _POSITIVE, "breaker": c.integer(0, 1000),
        "max_alert_age": _NOT_NEGATIVE, "expire_closes": c.boolean, "max_plugin_orders": c.integer(1, 1000),
        "max_plugin_entries_per_minute": c.integer(1, 10_000),
        "max_order_volume": _POSITIVE, "max_open_positions": c.integer(1, 100_000),
        "max_price_gap_pct": c.number(0, 100, above=True), "max_risk_pct": c.number(0, 100, above=True),
        "max_daily_loss_pct": c.number(0, 100, above=True, below=True), "min_equity": _POSITIVE,
        "max_entries_per_hour": c.integer(1, 100_000),
        "max_spread_pips": c.per_symbol(_POSITIVE, "a number of pips above 0, or a table of them by symbol "
                                                   "({ \"*\" = 3, XAUUSD = 40 })"),
        "max_spread_wait": c.number(0, 600),
        "trading_day": c.string,
        "symbol_map": c.table_of(c.string, "a table of symbol names (\"OANDA:EURUSD\" = \"EURUSD\")"),
    },
    "sandbox": {  # the default budget; a plugin's own may not pass BUDGET_LIMITS
        "workers": c.integer(1, 64),
        "instructions": c.integer(1, BUDGET_LIMITS.instructions),
        "timeout_ms": c.number(1, BUDGET_LIMITS.timeout * 1000),
        "memory_mb": c.number(0.25, BUDGET_LIMITS.memory / MB),
    },
    "paper": {
        # at most 1e15, as prices (domain/rules.py): past it the account's sums leave floats (a balance of -inf)
        "balance": _AMOUNT, "currency": c.currency, "leverage": _AMOUNT, "spread_points": c.number(0, MAX_PRICE),
        "spreads": c.table_of(c.number(0, MAX_PRICE), "a table of spreads in points, 0 to 1e15"),
        "commission_per_lot": c.number(0, MAX_PRICE), "stop_out_pct": _NOT_NEGATIVE,
        "hedged_margin": c.number(0, 1), "symbols": c.table_of(c.table, "a table of symbol tables"),
    },
    "plugins": c.Each({
        "enabled": c.boolean, "params": c.params,
        # the keys plugins.check_budget / make_budget take; timeout is in seconds; at most the limits
        "budget": {"instructions": c.integer(1, BUDGET_LIMITS.instructions),
                   "timeout": c.number(0.001, BUDGET_LIMITS.timeout),
                   "memory_mb": c.number(0.25, BUDGET_LIMITS.memory / MB)},
    }),
    "telegram": {
        "api_url": c.url, "admins": c.ids_of(c.user_id, "[123456789]"),
        "command_chats": c.ids_of(c.group_id, "[-1001234567890]"), "parse_mode": c.choice(*PARSE_MODES),
        "throttle_seconds": _NOT_NEGATIVE, "command_max_age": _POSITIVE,
        "webhook_url": c.url, "webhook_secret": c.telegram_secret,
        "bots": c.Array({"token": c.bot_token, "chats": c.chats}, "[[telegram.bots]]",
                        required={"token": "the bot's token, from @BotFather"}),
    },
    "monitor": {"latency_alert_ms": _POSITIVE, "memory_alert_mb": _POSITIVE,
                "interval_seconds": c.number(1, 86_400),   # under a second an idle engine burns a core
                "lag_alert_ms": _POSITIVE},
    "mt5": {
        "module": c.string, "path": c.string, "login": c.integer(1, 2**63 - 1), "password": c.string,
        "server": c.string,
        "host": c.string, "port": c.integer(1, 65535), "timeout": _POSITIVE, "init_timeout": _POSITIVE,
        "deviation": c.integer(0, 10_000), "magic_base": c.integer(0, 2**31 - 1), "retries": c.integer(0, 20),
        "poll_seconds": _POSITIVE, "resolve_seconds": _POSITIVE, "symbol_suffix": c.anything_string,
        "symbols": c.table_of(c.string, "a table of broker symbol names (EURUSD = \"EURUSD.r\")"),
        "server_clock": c.string,
    },
    "shadow": {"scripts": c.folder},
}

SECRETS = frozenset({"server.secret", "server.api_token", "telegram.webhook_secret", "mt5.password"})  # never echoed


def _secret(path: str) -> bool:
    """Whether the value at ``path`` is a secret, or a table or array that holds one: ``[[mt5]]``
    written for ``[mt5]``, a bot among ``telegram.bots`` that is no table, hold theirs."""
    return (path in SECRETS or path in ENV_OVERRIDES or path.endswith(".token")  # telegram.bots[N].token
            or any(secret.startswith(f"{path}.") for secret in SECRETS) or _BOTS.fullmatch(path) is not None)


_BOTS = re.compile(r"telegram\.bots(\[\d+\])?")


def _got(path: str, value: Any) -> str:
    """How an error at ``path`` ends: the value it found, unless it is or holds a secret."""
    return "" if _secret(path) else f", got {_show(value)}"
ENV_OVERRIDES = {"MOONHOOK_SECRET": "secret", "MOONHOOK_API_TOKEN": "api_token"}  # -> [server], checked as the file's
ENV_PORT = "MOONHOOK_PORT"  # -> [server] port (a container's or a second checkout's own port)
MT5_PASSWORD = "MOONHOOK_MT5_PASSWORD"  # -> [mt5] password


def server_env(env: Mapping[str, str]) -> dict[str, Any]:
    """The [server] values the environment sets over the file's (``run`` and ``init``'s templates
    alike); raises SettingsError naming the variable of a bad one. The secrets are taken without
    the spaces and line ends around them: one read from a file (a container's secret, ``$(cat ...)``
    in an env file) keeps its newline, which no webhook path and no ``Authorization`` header can
    carry, so every alert would be refused as a wrong secret."""
    out: dict[str, Any] = {}
    try:
        for var, key in ENV_OVERRIDES.items():
            if env.get(var):
                out[key] = _read(env[var].strip(), SCHEMA["server"][key], var)
        if env.get(ENV_PORT):
            text = env[ENV_PORT].strip()
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
    if isinstance(schema, c.Array):
        if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
            raise _Problem(path, f"expected an array of tables ({schema.example}){_got(path, raw)}")
        items = []
        for i, item in enumerate(raw):   # its keys read first: a misspelt `tokn` is named as it is written
            items.append(_read(item, schema.schema, f"{path}[{i}]"))
            if missing := [key for key in schema.required if key not in item]:
                raise _Problem(f"{path}[{i}].{missing[0]}", f"required: {schema.required[missing[0]]}")
        return items
    if isinstance(schema, (dict, c.Each)):
        if not isinstance(raw, dict):
            raise _Problem(path, f"expected a table{_got(path, raw)}")
        if isinstance(schema, c.Each):
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
    except c.Bad as e:
        raise _Problem(path + e.at, f"expected {e.expected}{_got(path, raw if e.got is ... else e.got)}") from None


def _build(data: dict[str, Any], base: Path | None, env: Mapping[str, str]) -> Settings:
    """The dataclasses from checked data; folders resolved against ``base`` (the config's folder)."""
    server = {**data.get("server", {}), **server_env(env)}
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
    if env.get(MT5_PASSWORD):  # without its line end, as the secrets (server_env); never echoed
        if not (password := env[MT5_PASSWORD].strip()):
            raise SettingsError(f"the environment's {MT5_PASSWORD}: expected a non-empty string")
        mt5["password"] = password
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


_AT_END = " (at end of document)"  # tomllib's place of an error it met reading past the last line
_UNCLOSED = re.compile(r"Unclosed array \(at line (\d+), column (\d+)\)")  # placed at the next key, not the array


def load_settings(path: Path | None, env: Mapping[str, str] = os.environ, *, saved: bool = False) -> Settings:
    """The settings in the TOML file at ``path`` (None: defaults only), with ``MOONHOOK_SECRET``,
    ``MOONHOOK_API_TOKEN`` and ``MOONHOOK_PORT`` from ``env`` over the file's [server] values.

    Relative folders are relative to the file's folder, so the engine finds the same scripts
    whatever directory it is started from. ``saved``: the file was saved while the engine runs;
    one that holds no settings (empty, blank, comments only) is refused, since read as it is it
    would be the defaults, every limit unset.
    """
    name = str(path) if path is not None else "settings"
    data: dict[str, Any] = {}
    text = ""
    if path is not None:
        try:
            text = path.read_bytes().decode("utf-8-sig")  # a byte order mark first: Windows' Notepad's UTF-8
        except FileNotFoundError:
            raise SettingsError(f"{path}: no such configuration file (`moonhook init` writes one)") from None
        except IsADirectoryError:   # `--config bot`, for bot/moonhook.toml
            raise SettingsError(f"{path}: a folder: give the file in it, {path / 'moonhook.toml'}") from None
        except OSError as e:
            raise SettingsError(f"{path}: cannot read it: {e.strerror}") from None
        except UnicodeDecodeError as e:
            raise SettingsError(f"{path}: not UTF-8 text (byte {e.start})") from None
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:  # its message ends "(at line N, column M)"
            if str(e).startswith(("Cannot overwrite", "Cannot declare")) and (twice := written_twice(text)):
                raise SettingsError(f"{path}: {twice}: keep one") from None
            if (at := _UNCLOSED.fullmatch(str(e))) and (opened := key_before(text, int(at[1]), int(at[2]))):
                raise SettingsError(f"{path}: line {opened[1]}: {opened[0]}: not valid TOML: Unclosed array: no ] "
                                    f"before line {at[1]}, column {at[2]}") from None
            if str(e).endswith(_AT_END):   # no line said: the value left open's, else the last line's
                said = str(e).removesuffix(_AT_END)
                if said.startswith(("Unclosed", "Unterminated", "Invalid value")) and (last := last_key(text)):
                    raise SettingsError(f"{path}: line {last[1]}: {last[0]}: not valid TOML: {said} (its value runs "
                                        "to the end of the file)") from None
                raise SettingsError(f"{path}: line {len(text.splitlines())}: not valid TOML: {said}") from None
            raise SettingsError(f"{path}: not valid TOML: {e}") from None
        if saved and not data:
            raise SettingsError(f"{path}: it holds no settings (empty, or comments only)")
    try:
        checked = _read(data, SCHEMA, "")
        return _build(checked, path.parent if path is not None else None, env)
    except _Problem as e:
        raise _placed(name, text, str(e), e.path) from None
    except SettingsError:  # the environment's: named by its variable, not the file
        raise
    except ValueError as e:  # a dataclass's own check (paper.symbols, budgets, ...), its key first
        raise _placed(name, text, str(e), str(e).split(":", 1)[0]) from None


def _placed(name: str, text: str, problem: str, key: str) -> SettingsError:
    """The error ``problem`` about ``key``, with the line of ``text`` the key is written on."""
    line = line_of(text, key)
    return SettingsError(f"{name}: line {line}: {problem}" if line else f"{name}: {problem}")


def server_changes(before: ServerConfig, after: ServerConfig) -> list[str]:
    """The ``[server]`` settings ``after`` changes from ``before``, named as moonhook.toml does
    (never their values: the token and the secret are among them)."""
    return [f"server.{f.name}" for f in fields(ServerConfig) if getattr(before, f.name) != getattr(after, f.name)]
