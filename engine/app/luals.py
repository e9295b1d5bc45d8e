"""Lua language-server (LuaLS) definitions of the script API, written by ``moonhook init`` so
VS Code and other LuaLS editors complete and check a strategy's every call.

Generated from the engine's own tables so it cannot drift: the services from
``SERVICE_API`` (the names the sandbox is handed), the order tables' fields from the checks
``orders.*`` runs, the hooks from ``plugins.HOOKS``, the ``plugin`` table's fields from the
keys its parser accepts, the hooks' arguments from the dataclasses they are made from, and
``.luarc.json``'s switched-off libraries from ``sandbox/allowlist.py``. Only the words (what a
call does, what it returns) are written here by hand, in ``SERVICES`` and ``HOOK_DOCS``; a
name in one table and not the other is caught by tests/unit/app/test_luals.py.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Any

from sandbox.allowlist import LIBRARIES

from engine.core.plugins import _BUDGET_KEYS, _META_KEYS, HOOKS
from engine.core.services import _ORDER_FIELDS, SERVICE_API
from engine.domain.alerts import TREND_STATES
from engine.domain.alerts.model import Action, Alert
from engine.domain.orders import Closed, Dropped, Fill, OrderRequest, OrderResult

TYPES_DIR = "types"
DEFINITIONS_NAME = "moonhook.lua"  # in TYPES_DIR
LUARC_NAME = ".luarc.json"

# A service: its parameters (name, LuaLS type; "..." for varargs), its return types, what it does.
Service = tuple[list[tuple[str, str]], list[str], str]

SERVICES: dict[str, Service] = {
    "account.info": ([], ["moonhook.Account"], "The account: balance, equity, margin, free margin, currency."),
    "market.symbol": ([("symbol", "string")], ["moonhook.Symbol?"],
                      "A symbol's specification, or nil for a symbol the broker does not know."),
    "market.price": ([("symbol", "string")], ["moonhook.Price?"], "The last bid and ask, or nil when none is known."),
    "positions.list": ([("symbol", "string?")], ["moonhook.Position[]"],
                       "The open positions (of one symbol, if given)."),
    "orders.list": ([("symbol", "string?")], ["moonhook.WaitingOrder[]"],
                    "The pending orders waiting for their price (of one symbol, if given)."),
    "orders.market": ([("spec", "moonhook.MarketOrder")], ["moonhook.OrderResult"],
                      "Opens a position at the market; other plugins' on_order see it first. A refusal is an answer."),
    "orders.pending": ([("spec", "moonhook.PendingOrder")], ["moonhook.OrderResult"],
                       "Places a limit or stop order."),
    "orders.close": ([("spec", "moonhook.CloseOrder")], ["moonhook.OrderResult"],
                     "Closes a position (all, or part: volume= with ticket=), a pending order (cancels it), "
                     "or a symbol's positions whole: moonhook's, of every plugin; never one placed by hand."),
    "orders.cancel": ([("spec", "moonhook.CancelOrder")], ["moonhook.OrderResult"],
                      "Removes a pending order, and only that: one filled meanwhile is refused, its position left "
                      "open."),
    "orders.modify": ([("spec", "moonhook.ModifyOrder")], ["moonhook.OrderResult"],
                      "Moves a position's stop or target (0 removes one), or a pending order's price."),
    "risk.lot_size": ([("spec", "moonhook.LotSize")], ["number", "string?"],
                      "The volume that risks risk_pct (or risk_amount) to the stop, and why it is 0 when it is; "
                      "without price, the stop is measured from where the entry fills (the ask for a stop under "
                      "the market, the bid over it)."),
    "trend.get": ([("symbol", "string"), ("timeframe", "string?")], ["moonhook.Trend?"],
                  "The trend recorded for a symbol (and timeframe)."),
    "trend.set": ([("symbol", "string"), ("timeframe", "string"), ("state", "moonhook.Trend")], [],
                  "Records a trend; returns once it is in the journal."),
    "store.get": ([("key", "string")], ["any"], "A value this plugin stored, or nil."),
    "store.set": ([("key", "string"), ("value", "any")], [],
                  "Stores a plain value (nil deletes it); returns once it is in the journal."),
    "store.delete": ([("key", "string")], ["boolean"], "Deletes a stored key; whether it was there."),
    "store.keys": ([("prefix", "string?")], ["string[]"], "This plugin's stored keys (those starting with prefix)."),
    "notify.send": ([("text", "string")], [], "Tells the chats that take the plugin kind (Telegram)."),
    "log.debug": ([("...", "any")], [], "Writes to the engine's log, at debug level."),
    "log.info": ([("...", "any")], [], "Writes to the engine's log, at info level."),
    "log.warn": ([("...", "any")], [], "Writes to the engine's log, at warning level."),
    "log.error": ([("...", "any")], [], "Writes to the engine's log, at error level."),
    "time.now": ([], ["number"], "Seconds since the epoch, on the engine's clock (use it, not os.time, for ages)."),
}

# A hook: its parameters, its return types, what it is for.
HOOK_DOCS: dict[str, Service] = {
    "on_load": ([], [], "Runs once when the script is loaded (a failure keeps it out of service)."),
    "on_unload": ([], [], "Runs when this version is replaced or removed."),
    "on_alert": ([("alert", "moonhook.Alert")], ["moonhook.AlertAnswer", "string?"],
                 "Each alert on a watched symbol: nil or true passes, false, \"reason\" rejects, a table changes "
                 "fields (field = false removes one; handled = true: this plugin placed its own orders)."),
    "on_order": ([("order", "moonhook.Order")], ["moonhook.OrderAnswer", "string?"],
                 "Each order another plugin or the engine places: nil or true passes, false, \"reason\" vetoes, "
                 "a table changes volume, price, sl, tp or comment."),
    "on_fill": ([("fill", "moonhook.Fill")], [], "Each deal on a watched symbol."),
    "on_close": ([("closed", "moonhook.Closed")], [], "Each position fully closed on a watched symbol."),
    "on_cancel": ([("order", "moonhook.Cancelled")], [],
                  "Each pending order on a watched symbol that the broker ended without a fill and without "
                  "moonhook asking: reason cancelled (in the terminal), rejected (no margin when its price "
                  "came) or expired."),
    "on_timer": ([], [], "Every plugin.every."),
}

# The `plugin` table: each key its parser takes, as LuaLS types.
PLUGIN_FIELDS: dict[str, tuple[str, str]] = {
    "name": ("string", "Default: the file's name. A letter, then letters, digits, _ or - (at most 48)."),
    "symbols": ("string[]|string", "The symbols whose alerts and events it sees; \"*\" (the default): all."),
    "priority": ("integer", "Lower runs first (default 100; -10000 to 10000)."),
    "params": ("table<string, any>",
               "Defaults; [plugins.NAME] params in moonhook.toml override them. Seen as `params`."),
    "every": ("string|number", "How often on_timer runs: \"30s\", \"1m\", \"1h\" or seconds (at least 1)."),
    "budget": ("moonhook.Budget", "What one hook call may spend, capped by the engine."),
    "description": ("string", "What the strategy does."),
    "version": ("string|number", "The strategy's version, for you."),
    "guard": ("boolean", "true: when its on_alert or on_order fails, an entry or an opening order is refused "
                         "(exits pass), and the breaker never switches it off. Default false: skipped."),
}
BUDGET_FIELDS: dict[str, tuple[str, str]] = {
    "instructions": ("number", "Lua instructions per call (5e6 is 5,000,000)."),
    "timeout": ("number", "CPU seconds per call."),
    "memory_mb": ("number", "Megabytes of Lua heap."),
}

# The order tables' fields (the keys orders.* accept come from services._ORDER_FIELDS).
SPEC_TYPES: dict[str, str] = {
    "symbol": "string", "side": "moonhook.Side", "volume": "number", "sl": "number", "tp": "number",
    "comment": "string", "type": "moonhook.PendingType", "price": "number", "ticket": "integer",
    "expiry": "number",
}
_REQUIRED = {"market": {"symbol", "side", "volume"}, "pending": {"symbol", "side", "volume", "type", "price"},
             "close": set(), "cancel": {"ticket"}, "modify": {"ticket"}}
LOT_SIZE_FIELDS = {"symbol": "string", "risk_pct": "number", "risk_amount": "number", "sl": "number",
                   "sl_points": "number", "price": "number"}

# Broker answers (engine/adapters/brokers/base.py describes them); "?": on one broker only (MetaTrader
# 5's login, server, filling_mode, a position's swap, magic and external; the paper broker's commission).
SHAPES: dict[str, dict[str, str]] = {
    "Account": {"balance": "number", "equity": "number", "margin": "number", "margin_free": "number",
                "currency": "string", "login": "integer?", "server": "string?"},
    "Symbol": {"name": "string", "digits": "integer", "point": "number", "volume_min": "number",
               "volume_step": "number", "volume_max": "number", "contract_size": "number",
               "tick_size": "number", "tick_value": "number?", "commission": "number?",
               "account_is_base": "boolean?", "stops_level": "integer", "filling_mode": "integer?"},
    "Price": {"bid": "number", "ask": "number", "time": "number"},
    "Position": {"ticket": "integer", "symbol": "string", "side": "moonhook.Side", "volume": "number",
                 "price_open": "number", "sl": "number?", "tp": "number?", "profit": "number",
                 "plugin": "string?", "comment": "string?", "opened_at": "number", "swap": "number?",
                 "magic": "integer?", "external": "boolean?"},
    "WaitingOrder": {"ticket": "integer", "symbol": "string", "side": "moonhook.Side", "type": "moonhook.PendingType",
                     "price": "number", "volume": "number", "sl": "number?", "tp": "number?", "plugin": "string?",
                     "comment": "string?", "created_at": "number", "expires": "number?"},
}

# Libraries a script has only part of: LuaLS's own is switched off and these are declared instead.
REDECLARED: dict[str, dict[str, Service]] = {
    "os": {
        "clock": ([], ["number"], "CPU seconds used by the worker."),
        "date": ([("format", "string?"), ("time", "number?")], ["string|table"], "A date, formatted."),
        "difftime": ([("t2", "number"), ("t1", "number")], ["number"], "t2 - t1 in seconds (time.now()'s too)."),
        "time": ([("date", "table?")], ["integer"], "The time now, or of a date table."),
    },
}
# LuaLS's libraries ("runtime.builtin"); those a script lacks are switched off in .luarc.json.
LUALS_LIBRARIES = ("coroutine", "debug", "io", "math", "os", "package", "string", "table", "utf8",
                   "bit", "bit32", "ffi", "jit", "table.clear", "table.new", "string.buffer")

_SCALARS = {"str": "string", "float": "number", "int": "integer", "bool": "boolean", "Action": "moonhook.Action",
            "Any": "any", "list[int]": "integer[]", "dict[str, Any]": "table<string, any>"}


def lua_type(annotation: str) -> str:
    """A dataclass field's annotation (a string: ``from __future__ import annotations``) as
    LuaLS spells it, e.g. "float | None" -> "number?"; raises KeyError for one not known."""
    parts = [p.strip() for p in annotation.split("|")]
    optional = "None" in parts
    spelled = "|".join(_SCALARS[p] for p in parts if p != "None")
    return spelled + "?" if optional else spelled


def _fields_of(cls: Any, skip: tuple[str, ...] = ()) -> dict[str, str]:
    return {f.name: lua_type(str(f.type)) for f in fields(cls) if f.name not in skip}


def _class(name: str, members: dict[str, str], notes: dict[str, str] | None = None,
           parent: str = "", extra: str = "") -> list[str]:
    lines = [f"---@class moonhook.{name}{' : ' + parent if parent else ''}"]
    for key, kind in members.items():
        opt = kind.endswith("?")
        note = f" {notes[key]}" if notes and key in notes else ""
        lines.append(f"---@field {key}{'?' if opt else ''} {kind.rstrip('?')}{note}")
    if extra:
        lines.append(extra)
    return lines + [""]


def _function(name: str, doc: Service) -> list[str]:
    params, returns, what = doc
    lines = [f"---{what}"]
    for pname, ptype in params:
        lines.append(f"---@param {pname} {ptype}")
    lines += [f"---@return {r}" for r in returns]
    lines.append(f"function {name}({', '.join(p for p, _ in params)}) end")
    return lines + [""]


def service_names() -> list[str]:
    """Every service a script may call, dotted, from ``SERVICE_API``."""
    return [f"{ns}.{fn}" for ns, fns in SERVICE_API.items() for fn in fns]


def render_definitions() -> str:
    """The ``---@meta`` file: types, ``plugin``, ``params``, the hooks and every service.
    Raises KeyError for a service of ``SERVICE_API`` with no entry in ``SERVICES``."""
    out = ["---@meta moonhook",
           "-- moonhook's script API for the Lua language server (LuaLS), written by `moonhook init`",
           "-- from the engine's own tables (engine/app/luals.py). Do not edit: after an upgrade,",
           "-- `moonhook init --editor-files` writes it again. Annotate a hook to get its argument's fields:",
           "--   ---@param alert moonhook.Alert", "--   function on_alert(alert) ... end", ""]
    out.append("---@alias moonhook.Side " + "|".join(f'"{s}"' for s in ("buy", "sell")))
    out.append("---@alias moonhook.PendingType \"limit\"|\"stop\"")
    out.append("---@alias moonhook.Trend " + "|".join(f'"{s}"' for s in TREND_STATES))
    out.append("---@alias moonhook.Action " + "|".join(f'"{a.value}"' for a in Action))
    out.append("---@alias moonhook.AlertAnswer nil|boolean|table<string, any>")
    out.append("---@alias moonhook.OrderAnswer nil|boolean|{volume?: number, price?: number, sl?: number, "
               "tp?: number, comment?: string}")
    out.append("")
    out += _class("Budget", {k: BUDGET_FIELDS[k][0] + "?" for k in sorted(_BUDGET_KEYS)},
                  {k: BUDGET_FIELDS[k][1] for k in _BUDGET_KEYS})
    out += _class("Plugin", {k: PLUGIN_FIELDS[k][0] + "?" for k in sorted(_META_KEYS)},
                  {k: PLUGIN_FIELDS[k][1] for k in _META_KEYS})
    alert = {**_fields_of(Alert, ("extra",)), "side": "moonhook.Side?", "alert_id": "integer?"}
    out += _class("Alert", alert, {"alert_id": "the journal's id of this alert", "side": "buy or sell, for entries"},
                  extra="---@field [string] any a JSON alert's other fields")
    out += _class("Order", _fields_of(OrderRequest))
    # to_plain leaves out what is unset, false or empty: only ok is always there.
    out += _class("OrderResult", {k: v if k == "ok" or v.endswith("?") else v + "?"
                                  for k, v in _fields_of(OrderResult).items()})
    out += _class("Fill", _fields_of(Fill))
    out += _class("Closed", _fields_of(Closed))
    out += _class("Cancelled", _fields_of(Dropped))
    for name, shape in SHAPES.items():
        out += _class(name, shape)
    for kind, allowed in _ORDER_FIELDS.items():
        spec = {k: SPEC_TYPES[k] + ("" if k in _REQUIRED[kind] else "?") for k in sorted(allowed)}
        out += _class(f"{kind.capitalize()}Order", spec)
    out += _class("LotSize", {k: v + ("" if k == "symbol" else "?") for k, v in LOT_SIZE_FIELDS.items()})
    out += ["---The script's declaration (every field optional).", "---@type moonhook.Plugin", "plugin = {}", "",
            "---plugin.params with [plugins.NAME] params of moonhook.toml over them.",
            "---@type table<string, any>", "params = {}", ""]
    for hook in HOOKS:
        out += _function(hook, HOOK_DOCS[hook])
    for ns, fns in SERVICE_API.items():
        out += [f"---@class moonhook.services.{ns}", f"{ns} = {{}}", ""]
        for fn in fns:
            out += _function(f"{ns}.{fn}", SERVICES[f"{ns}.{fn}"])
    for lib, funcs in REDECLARED.items():
        out += [f"---Only {', '.join(funcs)}: the sandbox offers no more of {lib}.",
                f"---@class moonhook.{lib}lib", f"{lib} = {{}}", ""]
        for fn, doc in funcs.items():
            out += _function(f"{lib}.{fn}", doc)
    return "\n".join(out).rstrip("\n") + "\n"


def render_luarc() -> str:
    """``.luarc.json``: Lua 5.4, the definitions as a library, and the libraries a script lacks
    (or has only part of, declared in the definitions instead) switched off."""
    off = {lib: "disable" for lib in LUALS_LIBRARIES if lib not in LIBRARIES or lib in REDECLARED}
    config = {
        "$schema": "https://raw.githubusercontent.com/LuaLS/vscode-lua/master/setting/schema.json",
        "runtime.version": "Lua 5.4",
        "runtime.builtin": off,
        "workspace.library": [TYPES_DIR],
        "workspace.checkThirdParty": False,
    }
    return json.dumps(config, indent=2) + "\n"
