"""Plugins as the engine sees them: metadata from the script's ``plugin`` table, the hooks it
defines, its budget, its state and its stats. Which plugins are loaded is ``roster.py``'s."""

from __future__ import annotations

import json
import logging
import math
import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from statistics import quantiles
from typing import Any, Mapping

from sandbox import MB, Budget, SandboxError

from engine.domain.alerts import AlertError, SymbolMap
from engine.domain.luatext import lua_source, lua_type
from engine.domain.times import parse_every

HOOKS = ("on_load", "on_unload", "on_alert", "on_order", "on_fill", "on_close", "on_cancel", "on_timer")
NAME = r"[A-Za-z][A-Za-z0-9_-]{0,47}"   # a plugin's name; also the editor's rule for a new file's (app/scripts.py)
_NAME = re.compile(NAME)  # used with fullmatch: "$" would accept a trailing newline
_META_KEYS = {"name", "symbols", "priority", "params", "every", "budget", "description", "version", "guard"}
_BUDGET_KEYS = {"instructions", "timeout", "memory_mb"}


@dataclass(frozen=True)
class Finding:
    """One line of ``moonhook check``'s report, in the form every plugin problem is told."""

    file: str
    line: int | None
    level: str          # error | warning | ok
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.level}: {self.message}"


_PLACE = re.compile(r"^[^:\s]+\.lua:\d+:\s*")


def bare_message(error: SandboxError) -> str:
    """A script error's text without the ``file:line: `` Lua starts it with: whoever tells it
    names the place once, from the error's own file and line."""
    return _PLACE.sub("", str(error), count=1)


class PluginError(Exception):
    """A plugin that cannot be loaded: the file and what is wrong."""

    def __init__(self, file: str, message: str, line: int | None = None):
        self.file, self.message, self.line = file, message, line
        self.guard: bool | None = None   # its plugin table says it is a guard, or not; None: not read
        where = f"{file}:{line}" if line else file
        super().__init__(f"{where}: {message}")

    def finding(self) -> Finding:
        return Finding(self.file, self.line, "error", self.message)

    @classmethod
    def from_sandbox(cls, file: str, error: SandboxError) -> "PluginError":
        return cls(error.file or file, f"{error.kind} error: {bare_message(error)}", error.line)


def given_params(name: str, file: str, declared: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    """The script's ``params`` with ``[plugins.NAME] params`` over them. Raises PluginError for a
    value of another kind than the script's default: ``"false"`` given for ``false`` reads as
    true in Lua (any string does), so a guard's switch would be turned the other way unseen."""
    for key, value in given.items():
        if key in declared and (want := _kind(declared[key])) != (got := _kind(value)):
            raise PluginError(file, f"[plugins.{name}] params.{key}: expected {want}, as the script's default "
                                    f"{json.dumps(declared[key], default=str)}, got {got} "
                                    f"{json.dumps(value, default=str)}")
    return {**declared, **given}


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "true or false"
    if isinstance(value, (int, float)):
        return "a number"
    return "a string" if isinstance(value, str) else "a table"


@dataclass(frozen=True)
class PluginMeta:
    name: str
    symbols: frozenset[str] | None   # None: every symbol
    priority: int = 100
    params: Mapping[str, Any] = field(default_factory=dict)
    every: float | None = None       # seconds between on_timer calls
    budget: Mapping[str, Any] = field(default_factory=dict)
    guard: bool = False              # its on_alert or on_order failing refuses an entry or an opening order

    @classmethod
    def parse(cls, raw: Any, stem: str, file: str, symbols: SymbolMap) -> "PluginMeta":
        """Reads the script's ``plugin`` table (None if it has none); raises PluginError."""
        def bad(key: str, message: str) -> PluginError:
            return PluginError(file, f"plugin.{key}: {message}")

        if raw is None:
            raw = {}
        if raw == []:   # {}: an empty table crosses as an empty list
            raw = {}
        if not isinstance(raw, dict):
            got = "an array" if isinstance(raw, list) else f"a {lua_type(raw)}"
            raise PluginError(file, "the global `plugin` must be a table of fields (plugin = {name = ..., symbols = "
                                    f"...}}), got {got}")
        unknown = sorted(str(k) for k in raw if k not in _META_KEYS)
        if unknown:
            raise bad(unknown[0], f"unknown field (known: {', '.join(sorted(_META_KEYS))})")
        name = raw.get("name", stem)
        if not (isinstance(name, str) and _NAME.fullmatch(name)):
            raise bad("name", f"must be a letter then letters, digits, _ or - (at most 48), got {lua_source(name)}")
        sym = raw.get("symbols", "*")
        if sym == "*":
            watched = None
        elif isinstance(sym, str) or (isinstance(sym, list) and sym and all(isinstance(s, str) for s in sym)):
            try:
                watched = frozenset(symbols.normalize(s) for s in ([sym] if isinstance(sym, str) else sym))
            except AlertError as e:  # a future's ticker ("ES1!") the symbol map does not name
                raise bad("symbols", e.message) from None
        else:
            raise bad("symbols", f'must be "*" or a list of symbol names, got {lua_source(sym)}')
        priority = raw.get("priority", 100)
        if isinstance(priority, bool) or not isinstance(priority, int) or not -10_000 <= priority <= 10_000:
            raise bad("priority", f"must be an integer from -10000 to 10000, got {lua_source(priority)}")
        params = raw.get("params", {})
        if params == []:
            params = {}
        if not isinstance(params, dict) or not all(isinstance(k, str) for k in params):
            raise bad("params", "must be a table with string keys")
        every = raw.get("every")
        if every is not None:
            every = parse_every(every)
            if every is None:
                got = lua_source(raw["every"])
                raise bad("every", f'must be a duration such as "30s", "1m" or "1h" (at least 1 s), got {got}')
        budget = raw.get("budget", {})
        if budget == []:
            budget = {}
        try:
            check_budget(budget, "plugin.budget")
        except ValueError as e:   # a PluginError, the plugin's own: a ValueError ended the engine's load
            raise PluginError(file, str(e)) from None
        guard = raw.get("guard", False)
        if not isinstance(guard, bool):
            raise bad("guard", f"must be true or false, got {lua_source(guard)}")
        return cls(name, watched, priority, params, every, budget, guard)

    def watches(self, symbol: str | None) -> bool:
        return self.symbols is None or symbol in self.symbols


def check_budget(budget: Any, where: str) -> None:
    if not isinstance(budget, dict):
        raise ValueError(f"{where}: must be a table of {', '.join(sorted(_BUDGET_KEYS))}")
    for key, value in budget.items():
        if key not in _BUDGET_KEYS:
            raise ValueError(f"{where}.{key}: unknown (known: {', '.join(sorted(_BUDGET_KEYS))})")
        # math.huge too: made an integer later, it raised OverflowError out of the loader
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise ValueError(f"{where}.{key}: must be a positive number, got {value!r}")


def make_budget(default: Budget, limits: Budget, *overrides: Mapping[str, Any]) -> Budget:
    """The default budget with each override applied in turn, capped by the engine's limits."""
    return asked_budget(default, *overrides).capped(limits)


def asked_budget(default: Budget, *overrides: Mapping[str, Any]) -> Budget:
    """The default budget with each override applied in turn, as asked (not capped)."""
    instructions, timeout, memory = default.instructions, default.timeout, default.memory
    for o in overrides:
        instructions = int(o.get("instructions", instructions))
        timeout = float(o.get("timeout", timeout))
        memory = int(o["memory_mb"] * 1024 * 1024) if "memory_mb" in o else memory
    return Budget(instructions=max(1, instructions), timeout=timeout, memory=max(256 * 1024, memory))


def over_limits(asked: Budget, limits: Budget) -> str | None:
    """What of ``asked`` the limits lower, in the words a script's author reads; None: nothing."""
    over = [f"{what} (the limit is {limit})" for what, limit, more in (
        (f"{asked.instructions:,} instructions", f"{limits.instructions:,}", asked.instructions > limits.instructions),
        (f"{asked.timeout:g} s", f"{limits.timeout:g} s", asked.timeout > limits.timeout),
        (f"{asked.memory / MB:g} MB", f"{limits.memory / MB:g} MB", asked.memory > limits.memory)) if more]
    return "its budget asks for " + ", ".join(over) + ": it runs with the limit" if over else None


class PluginStats:
    """Counts and recent hook latencies, for the API and the breaker."""

    def __init__(self) -> None:
        self.calls = 0
        self.errors = 0
        self.timeouts = 0
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.last_where: str | None = None  # file:line of the last error, as the script named it
        self._latency_us: deque[float] = deque(maxlen=1024)

    def ok(self, seconds: float | None) -> None:
        """A call that returned; ``seconds`` is None when its time is unknown (a fold whose
        worker died after it)."""
        self.calls += 1
        self.consecutive_failures = 0
        if seconds is not None:
            self._latency_us.append(seconds * 1e6)

    def failed(self, error: SandboxError, hook: str, counted: bool = True) -> None:
        """A failed call; not ``counted`` toward the breaker when it was not the script's doing
        (the broker was disconnected)."""
        self.calls += 1
        if counted:
            self.consecutive_failures += 1
        if error.kind in ("instructions", "timeout", "memory"):
            self.timeouts += 1
        else:
            self.errors += 1
        where = f" at {error.file}:{error.line}" if error.line else ""
        self.last_error = f"{hook}: {error.kind} error{where}: {bare_message(error)}"
        self.last_where = f"{error.file}:{error.line}" if error.line else error.file

    def percentile(self, q: float) -> float | None:
        data = sorted(self._latency_us)
        if not data:
            return None
        if len(data) == 1:
            return data[0]
        return quantiles(data, n=100, method="inclusive")[int(q) - 1]

    def to_plain(self) -> dict[str, Any]:
        return {"calls": self.calls, "errors": self.errors, "timeouts": self.timeouts,
                "p50_us": self.percentile(50), "p99_us": self.percentile(99), "last_error": self.last_error}


@dataclass(eq=False)
class Plugin:
    """One loaded version of a script: ``pool_id`` names its runtime in the sandbox pool,
    ``digest`` the source it was loaded from. A reload makes a new Plugin; its stats carry on."""

    pool_id: str
    path: Path
    meta: PluginMeta
    hooks: frozenset[str]
    budget: Budget
    enabled: bool = True
    stats: PluginStats = field(default_factory=PluginStats)
    digest: str = ""
    source: bytes = b""                # the text loaded: what serves, for the editor's replay of it
    disabled_by: str | None = None     # config | api | dashboard | telegram:<user id> | breaker, while disabled
    switched: dict[str, Any] | None = None  # the last kept switch: enabled, by, at, reason (switchboard.py)
    reload_error: str | None = None    # the last save that did not load; this version serves on
    logs: str = "moonhook.plugin"      # its lines' logger is logs.<name> (the shadow's: moonhook.shadow.plugin)
    budget_note: str | None = None     # what of the budget it asked for the engine's limits lowered

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def version(self) -> str:
        """Which version this is: the start of its source's hash (``digest``), as the editor's
        version of the file (``/api/scripts``) begins."""
        return self.digest[:12]

    @property
    def logger(self) -> logging.Logger:
        """Where its own lines go: ``log.*`` and ``print``."""
        return logging.getLogger(f"{self.logs}.{self.name}")

    @property
    def state(self) -> str:
        """active | disabled | failed (its last save did not load: this version still serves)."""
        if self.reload_error is not None:
            return "failed"
        return "active" if self.enabled else "disabled"

    def to_plain(self) -> dict[str, Any]:
        row = {"name": self.name, "file": self.path.name, "enabled": self.enabled, "state": self.state,
               "symbols": sorted(self.meta.symbols) if self.meta.symbols is not None else "*",
               "priority": self.meta.priority, "guard": self.meta.guard, "hooks": sorted(self.hooks),
               "version": self.version,
               "budget": {"instructions": self.budget.instructions, "timeout_ms": round(self.budget.timeout * 1000, 3),
                          "memory_mb": round(self.budget.memory / MB, 3)},
               **self.stats.to_plain()}
        if self.budget_note is not None:
            row["budget_note"] = self.budget_note
        if self.disabled_by and not self.enabled:
            row["disabled_by"] = self.disabled_by
        if self.reload_error is not None:
            row["last_error"] = self.reload_error
        if self.switched is not None:
            row["switched"] = dict(self.switched)
        return row


def breaker_trips(plugin: Plugin, limit: int) -> bool:
    """The breaker's rule: ``limit`` failed hook calls in a row (errors or budget overruns)
    switch an enabled plugin off; 0 never does. Never a guard: switched off, it would let
    through what it is failing closed on."""
    return bool(limit) and plugin.enabled and not plugin.meta.guard and plugin.stats.consecutive_failures >= limit


GUARDED_HOOKS = ("on_alert", "on_order")  # a guard failing in one refuses an entry or an opening order


def failed_call(plugin: Plugin, hook: str) -> str:
    """How a failed call is told: a guard's "failed" (the entry or opening order it was asked
    about is refused, an exit goes on: see ``hooks``), anyone else's "skipped"."""
    return "failed" if plugin.meta.guard and hook in GUARDED_HOOKS else "skipped"


def guard_failing(plugin: Plugin, limit: int) -> bool:
    """A guard has just reached ``limit`` failures in a row: the moment to tell the admins
    once that the entries it checks are refused until it is fixed."""
    return bool(limit) and plugin.meta.guard and plugin.stats.consecutive_failures == limit

