"""A JSON Schema for moonhook.toml, generated from ``settings.SCHEMA``, the table the file is
read with, so editors (Taplo, Even Better TOML) complete and check the same keys and bounds
the engine enforces.

Each reader of ``SCHEMA`` is turned into JSON Schema by ``READERS`` (plain readers, by
identity) or by ``FACTORIES`` (readers a factory made, with the bounds it was given). A
reader neither knows raises ``UnknownReader``: a key added to ``SCHEMA`` with a new kind of
reader must be taught here, not silently described as "anything". The engine stays the judge:
a few checks (a strict IP network, a symbol table's fields) are looser here than there.
"""

from __future__ import annotations

import json
import math
from typing import Any, Callable

from engine.app import checks
from engine.app.settings import SCHEMA
from engine.domain.config import MAX_SESSION_HOURS
from engine.domain.config.telegram import BOT_TOKEN, KINDS

SCHEMA_NAME = "moonhook.schema.json"
DIRECTIVE = f"#:schema ./{SCHEMA_NAME}"  # Taplo's: the config's first line names its schema

_NON_EMPTY = {"type": "string", "pattern": r"\S"}  # checks.string: not empty, not only spaces
_CHAT_ID = {"oneOf": [{"type": "integer", "not": {"const": 0}}, {"type": "string", "pattern": "^@.+"}]}

# A name, or an IPv6 address (two colons at least): no port, no scheme; checks.listen_host is stricter.
_LISTEN_HOST = r"^\s*([A-Za-z0-9_.-]{1,253}|\[?[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Za-z.:%_-]*\]?)\s*$"

# An IP address or network: IPv4's digits and dots, or IPv6's two colons at least, and a prefix length
# (checks.networks is stricter: no host bits set).
_NETWORK = r"^([0-9.]+|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Fa-f.:]*)(/[0-9.]{1,15})?$"  # /8, /255.0.0.0
# server.hosts' entry: a name or an IP address, with a port or not; an IPv6 address with one in brackets.
_HOST = (r"^\s*([A-Za-z0-9_.-]{1,253}(:[0-9]{1,5})?|\[[0-9A-Za-z.:%_-]+\](:[0-9]{1,5})?"
         r"|[0-9A-Fa-f.]*:[0-9A-Fa-f.]*:[0-9A-Za-z.:%_-]*)\s*$")

# Plain readers (functions of SCHEMA used as they are).
READERS: dict[Callable[..., Any], dict[str, Any]] = {
    checks.string: _NON_EMPTY,
    # at least MIN_SECRET characters between its first and last that are not spaces, as checks.secret strips it
    checks.secret: {"type": "string", "pattern": rf"\S[\s\S]{{{checks.MIN_SECRET - 2},}}\S",
                    "not": {"pattern": checks.ENV_REFERENCE}},
    checks.currency: {"type": "string", "pattern": f"^{checks.CURRENCY}$"},
    checks.bot_token: {"type": "string", "pattern": f"^{BOT_TOKEN}$"},   # "123456:ABC-DEF..."
    checks.telegram_secret: {"type": "string", "pattern": f"^{checks.TELEGRAM_SECRET}$"},
    checks.folder: {**_NON_EMPTY, "description": "A folder, relative to this file's folder."},
    checks.boolean: {"type": "boolean"},
    checks.table: {"type": "object"},
    checks.params: {"type": "object"},
    checks.anything_string: {"type": "string"},
    checks.listen_host: {"type": "string", "description": "An IP address or a name, without a port.",
                         "pattern": _LISTEN_HOST},
    checks.url: {"type": "string", "pattern": "^(http://.{3,}|https://.{2,})"},  # 10 characters at least
    checks.networks: {"type": "array", "items": {"type": "string", "pattern": _NETWORK},
                  "description": "IP addresses or networks (CIDR), like \"203.0.113.7\" or \"10.0.0.0/8\"."},
    checks.hosts: {"type": "array", "items": {"type": "string", "pattern": _HOST},
                   "description": "Names, or name:port, like \"trader.example.com\" or \"mypc.local:8080\"."},
    checks.user_id: {"type": "integer", "minimum": 1},
    checks.group_id: {"type": "integer", "maximum": -1},
    checks.chat_id: _CHAT_ID,
    checks.chats: {"type": "array", "items": {"oneOf": [
        _CHAT_ID,
        {"type": "object", "additionalProperties": False, "required": ["id"],
         "properties": {"id": _CHAT_ID, "events": {"type": "array", "items": {"enum": list(KINDS)}}}}]}},
    checks.session_hours: {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_SESSION_HOURS},
}


def _integer(lo: int, hi: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": lo, "maximum": hi}


def _number(lo: float = 0.0, hi: float = math.inf, *, above: bool = False, below: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "number", "exclusiveMinimum" if above else "minimum": lo}
    if math.isfinite(hi):
        out["exclusiveMaximum" if below else "maximum"] = hi
    return out


def _choice(*options: str) -> dict[str, Any]:
    return {"enum": list(options)}


def _table_of(item: Any, what: str) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": reader_schema(item),
            "description": f"{what[0].upper()}{what[1:]}."}


def _per_symbol(item: Any, what: str) -> dict[str, Any]:
    return {"oneOf": [reader_schema(item), _table_of(item, what)]}


def _ids_of(item: Any, example: str) -> dict[str, Any]:
    return {"type": "array", "items": reader_schema(item)}


# Readers a factory of checks.py made: the factory -> the same arguments, as JSON Schema.
FACTORIES: dict[Callable[..., Any], Callable[..., dict[str, Any]]] = {
    checks.integer: _integer, checks.number: _number, checks.choice: _choice, checks.table_of: _table_of,
    checks.ids_of: _ids_of, checks.per_symbol: _per_symbol,
}

# What a key means, where a word helps; the types and bounds come from the readers.
DESCRIPTIONS: dict[str, str] = {
    "server": "Where the webhook, the HTTP API and the dashboard listen.",
    "server.port": "The port to listen on (0: any free port, which moonhook run prints and send and status "
                   "find in the data folder); MOONHOOK_PORT overrides it.",
    "server.secret": "Sent in each alert; MOONHOOK_SECRET overrides it. Keep it private.",
    "server.api_token": "Bearer token for the HTTP API and the dashboard; MOONHOOK_API_TOKEN overrides it.",
    "server.allow_ips": "Addresses allowed to send webhooks; empty allows any. They have max_connections places "
                        "of their own.",
    "server.trusted_proxies": "Proxies whose X-Forwarded-For header is believed.",
    "server.hosts": "Names the dashboard and the API answer to besides this machine's IP addresses and localhost.",
    "server.max_body": "The largest request body accepted (the webhook's, every route's), in bytes.",
    "server.max_connections": "Connections open at once; one more waits up to 2 s for room, then is closed.",
    "server.max_connections_per_ip": "Connections open at once from one address; trusted_proxies, allow_ips "
                                     "and 127.0.0.1 are held only to max_connections.",
    "server.session_hours": "Hours a dashboard login lasts.",
    "server.dashboard_edit": "Whether the dashboard's editor may save scripts.",
    "engine": "The plugins, the journal, the broker and how alerts are executed.",
    "engine.broker": "paper (a simulated account) or mt5.",
    "engine.execute_alerts": "false: alerts only reach the plugins.",
    "engine.dedup_window": "Seconds within which a repeat of an alert (its id, or without one its content) is a "
                           "duplicate, not run again.",
    "engine.default_volume": "The volume of an entry that gives neither volume nor risk.",
    "engine.breaker": "Hook failures in a row that switch a plugin off; 0: never.",
    "engine.max_alert_age": "Seconds past which a waiting alert expires; 0: no limit.",
    "engine.max_plugin_orders": "Orders one plugin may place for one alert, timer tick or broker event.",
    "engine.max_plugin_entries_per_minute": "Entries one plugin may place in any minute from its timers and "
                                            "broker-event hooks.",
    "engine.max_order_volume": "The most lots one entry may ask for, whoever places it; unset: no limit.",
    "engine.max_open_positions": "Positions and pending orders open at the broker past which entries are refused.",
    "engine.max_price_gap_pct": "How far (percent) the broker's price may be from the price a market entry was "
                                "asked at (the alert's); unset: no limit.",
    "engine.max_daily_loss_pct": "The trading day's loss (closed trades and open positions), in percent of the "
                                 "balance it began with, at which entries are refused until the next day; unset: "
                                 "no limit.",
    "engine.max_risk_pct": "What one entry may lose at its stop, in percent of the balance; with it set, an entry "
                           "without a stop is refused; unset: no limit.",
    "engine.max_entries_per_hour": "Entries the broker made in the last hour past which the next is refused (an "
                                   "alert sent in a loop); unset: no limit.",
    "engine.max_spread_pips": "The widest spread, in pips, at which a market entry is sent: one number for every "
                               "symbol, or a table by symbol with \"*\" for the rest ({ \"*\" = 3, XAUUSD = 40 }); "
                               "unset: no limit.",
    "engine.max_spread_wait": "Seconds a market entry waits for a spread over engine.max_spread_pips to narrow "
                               "(the rollover's lasts minutes) before it is refused; 0: refused at once.",
    "engine.min_equity": "The equity, in the account's currency, at or under which entries are refused (a prop "
                         "firm's maximum loss: set it above the firm's floor); unset: no limit.",
    "engine.trading_day": "The clock whose midnight begins the trading day: \"UTC\", \"Europe/Prague\", \"GMT+2/+3 "
                          "US\" (a broker's server midnight, 17:00 New York).",
    "engine.symbol_map": "TradingView's tickers to the broker's symbols; a key with its exchange (OANDA:XAUUSD) "
                         "matches that exchange only.",
    "sandbox": "The plugins' worker processes and a hook call's default budget.",
    "paper": "The simulated account of the paper broker.",
    "paper.stop_out_pct": "MetaTrader 5's stop-out level: below this margin level (equity / margin, in percent) "
                          "the most losing position is closed at the market, as brokers do; 0: never.",
    "paper.hedged_margin": "The part of the contract charged on hedged volume (a buy and a sell of one symbol), "
                           "as MetaTrader 5's SYMBOL_MARGIN_HEDGED: 0.5 (50,000 of 100,000), 1 the larger leg "
                           "alone, 0 none.",
    "plugins": "One table per plugin, named after it: its plugin.name, else its file's name.",
    "telegram": "Notifications and commands through Telegram bots (docs/telegram.md).",
    "telegram.bots": "The bots, each with its token and its chats.",
    "monitor": "When the administrators are told of slow alerts, memory and a held event loop.",
    "mt5": "MetaTrader 5, with engine.broker = \"mt5\" (docs/metatrader5.md).",
    "mt5.module": "MetaTrader5 (on Windows), or mt5linux: the package in a Windows Python under Wine, "
                  "reached over RPyC at host and port.",
    "mt5.host": "The RPyC server holding the MetaTrader5 package (module = \"mt5linux\").",
    "mt5.server_clock": "The trade server's clock, in which MetaTrader writes every time: \"auto\" (found from "
                        "a forex major's hourly bars), \"GMT+2/+3 US\" (or EU, AU), \"GMT+2\", or a time zone name.",
    "shadow": "Another folder of scripts run beside the live ones on a private paper broker (docs/shadow.md).",
    "shadow.scripts": "The shadow's scripts folder, relative to this file's folder; not engine.scripts.",
}


_POSITIVE = {"type": "number", "exclusiveMinimum": 0}
_SIZE = {**_POSITIVE, "maximum": 1e15}   # as instruments._check takes it
# Keys whose shape a reader of SCHEMA leaves to a dataclass: a paper symbol's fields (instruments.symbol_table).
SHAPES: dict[str, dict[str, Any]] = {
    "paper.symbols": {"type": "object", "description": "A table of symbol tables.", "additionalProperties": {
        "type": "object", "additionalProperties": False, "properties": {
            "quote": {"type": "string", "pattern": f"^{checks.CURRENCY}$"}, "digits": _integer(0, 8),
            "contract_size": _SIZE, "volume_min": _SIZE, "volume_step": _SIZE, "volume_max": _SIZE,
            "stops_level": {"type": "integer", "minimum": 0}}}},
}
# A key another needs beside it (draft 7's "dependencies"), as the engine refuses the one without the other.
NEEDS = {"telegram": {"webhook_url": ["webhook_secret"]}}


class UnknownReader(TypeError):
    """A reader of ``SCHEMA`` this module cannot describe: teach ``READERS`` or ``FACTORIES``."""


def reader_schema(reader: Any) -> dict[str, Any]:
    """The JSON Schema of one reader of ``settings.SCHEMA``; raises UnknownReader."""
    if reader in READERS:
        return dict(READERS[reader])
    factory = getattr(reader, "made_by", None)
    if factory in FACTORIES:
        return FACTORIES[factory](*reader.made_with, **reader.made_kw)
    raise UnknownReader(f"no JSON Schema for the reader {getattr(reader, '__qualname__', reader)!r}")


def _node(schema: Any, path: str) -> dict[str, Any]:
    if isinstance(schema, checks.Array):
        out: dict[str, Any] = {"type": "array", "items": _node(schema.schema, path)}
        if schema.required:
            out["items"]["required"] = list(schema.required)
    elif isinstance(schema, checks.Each):
        out = {"type": "object", "additionalProperties": _node(schema.schema, path + ".NAME")}
    elif isinstance(schema, dict):
        out = {"type": "object", "additionalProperties": False,
               "properties": {k: _node(v, f"{path}.{k}" if path else k) for k, v in schema.items()}}
        if path in NEEDS:
            out["dependencies"] = NEEDS[path]
    else:
        out = dict(SHAPES[path]) if path in SHAPES else reader_schema(schema)
    if path in DESCRIPTIONS:
        out["description"] = DESCRIPTIONS[path]
    return out


def config_schema() -> dict[str, Any]:
    """The whole JSON Schema (draft 7, which Taplo reads) of moonhook.toml."""
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": "moonhook.toml",
            "description": "moonhook's configuration (docs/configuration.md).", **_node(SCHEMA, "")}


def render_schema() -> str:
    """The schema as the file ``moonhook init`` writes."""
    return json.dumps(config_schema(), indent=2) + "\n"
