"""``moonhook init [DIR]``: a commented moonhook.toml with fresh secrets, and ``scripts/``
with one example strategy, so a new user has a working engine and the exact text to paste
into TradingView; and editor support beside them: the config's JSON Schema
(moonhook.schema.json, for Taplo) and the script API's Lua language-server definitions
(types/moonhook.lua and .luarc.json, for LuaLS).

Nothing existing is ever overwritten: a moonhook.toml already there stops ``init``, and an
example script or an editor file already there is kept.
"""

from __future__ import annotations

import errno
import json
import os
import secrets
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Mapping

import tomli_w

from sandbox import MB

from engine.app.config_schema import DIRECTIVE, SCHEMA_NAME, render_schema
from engine.app.settings import server_env
from engine.domain.config import BUDGET_LIMITS, DEFAULT_BUDGET, EngineConfig, ServerConfig
from engine.domain.config.paper import PaperConfig

CONFIG_NAME = "moonhook.toml"
EXAMPLE_NAME = "demo.lua"  # the example strategy, written to scripts/ (from engine/app/demo.lua)
# The first alert the banner and the README suggest: it carries the stop the example requires,
# and a price, so the paper broker executes it without a quote of its own.
TRY_ALERT = "buy EURUSD risk=1 sl=1.0800 tp=1.0950 price=1.0850"

EXAMPLE_SCRIPT = (files("engine.app") / EXAMPLE_NAME).read_text(encoding="utf-8")  # engine/app/demo.lua


@dataclass(frozen=True)
class InitResult:
    """What ``init`` wrote, and what the user pastes into TradingView."""

    config: Path
    scripts: Path
    example: Path
    example_written: bool   # False: the folder held strategies already, and was left as it was
    strategies: tuple[Path, ...]  # the .lua files in scripts/ after init
    webhook_url: str
    json_template: str      # the alert's message, JSON form (carries the secret)
    text_template: str      # the alert's message, text form (the secret goes in the URL)
    text_webhook_url: str
    editor_files: tuple[Path, ...] = ()  # the schema and LuaLS files init wrote (one already there is kept)
    gitignore: Path | None = None  # the .gitignore init wrote; None: the folder's own was left as it is
    port: int = ServerConfig.port   # the port in the URLs: MOONHOOK_PORT's when set; 0: the system's choice


def _toml(**values: Any) -> str:
    """``key = value`` lines, quoted by tomli_w so any value is valid TOML."""
    return tomli_w.dumps(values).rstrip("\n")


def render_config(secret: str, api_token: str) -> str:
    """The commented moonhook.toml, with every default spelled out."""
    server, engine, paper, budget, limits = ServerConfig(), EngineConfig(), PaperConfig(), DEFAULT_BUDGET, BUDGET_LIMITS
    monitor = engine.monitor
    return f"""\
{DIRECTIVE}
# moonhook.toml, written by `moonhook init`. Every key is optional except the secrets; one
# left out takes the default shown here. Folders are relative to this file's folder.
# The first line points TOML editors (Taplo, Even Better TOML) at the schema init wrote.
# Saved while moonhook runs, [engine]'s settings below `broker` and [plugins.NAME] apply to
# the next alert; the rest at the next start (the log and the admins' chat say which).

[server]
# Where the webhook listens. 127.0.0.1 takes local connections only: put a reverse proxy
# with HTTPS in front (TradingView sends webhooks to ports 80 and 443 only).
# MOONHOOK_PORT in the environment overrides the port.
{_toml(host=server.host, port=server.port)}
# Sent in each alert ("secret" in a JSON message, or the URL /webhook/<secret> for text).
# Keep it private; MOONHOOK_SECRET in the environment overrides it.
{_toml(secret=secret)}
# Bearer token for the HTTP API (`moonhook status`); MOONHOOK_API_TOKEN overrides it.
{_toml(api_token=api_token)}
# Addresses or networks (CIDR) allowed to send webhooks; empty allows any. TradingView's,
# at the time of writing: "52.89.214.238", "34.212.75.30", "54.218.53.128", "52.32.178.7".
{_toml(allow_ips=list(server.allow_ips))}
# Proxies whose X-Forwarded-For header is believed, e.g. ["127.0.0.1"] behind nginx here.
{_toml(trusted_proxies=list(server.trusted_proxies))}
# The names the dashboard and the API answer to besides this machine's IP addresses and
# localhost: your reverse proxy's public name, or a LAN name, e.g. ["trader.example.com",
# "mypc.local:8080"]. A request naming another is refused, as a stranger's site may make its
# own name lead here (DNS rebinding). The webhook answers at any name: its secret guards it.
{_toml(hosts=list(server.hosts))}
# The largest request body accepted (the webhook's, every route's), in bytes.
{_toml(max_body=server.max_body)}
# Connections open at once; one more waits up to 2 s for room, then is closed. Of those, at
# most max_connections_per_ip from one address (trusted_proxies, allow_ips and 127.0.0.1 are
# held only to max_connections), so that one address cannot crowd out TradingView's. The
# addresses in allow_ips have max_connections places of their own, which no other takes.
{_toml(max_connections=server.max_connections)}
{_toml(max_connections_per_ip=server.max_connections_per_ip)}
# The dashboard at http://host:port/ (log in with api_token): hours a login lasts, and
# whether its editor may save scripts (false: it shows them and checks them only).
{_toml(session_hours=server.session_hours, dashboard_edit=server.dashboard_edit)}

[engine]
# Where the plugins (.lua) are, and where the journal and plugin stores are kept.
{_toml(scripts=str(engine.scripts), data=str(engine.data))}
# paper (simulated account, see [paper]) or mt5.
{_toml(broker=engine.broker)}
# false: alerts only reach the plugins; nothing is executed unless a plugin orders it.
{_toml(execute_alerts=engine.execute_alerts)}
# Seconds within which a repeat of an alert (its id, or without one its content) is dropped.
{_toml(dedup_window=engine.dedup_window)}
# A plugin whose hooks fail (or overrun their budget) this many times in a row is switched
# off until its file is saved again or the API enables it; 0: never.
{_toml(breaker=engine.breaker)}
# An alert older than this many seconds when its turn comes (recovered after a stop, or
# resumed with the missed alerts after a pause) is journaled as expired and not executed;
# 0: no limit. An alert may give its own ttl (seconds), which can shorten this, never lengthen it.
{_toml(max_alert_age=int(engine.max_alert_age))}
# Closes, stop changes and cancels (close..., closeall, newsltp, cancel..., cancelall)
# expire alike; false executes them whatever their age. Trend alerts are recorded whatever
# their age.
{_toml(expire_closes=engine.expire_closes)}
# Orders one plugin may place for one alert, timer tick or broker event; past it, orders.* raises
# in the script (a loop placing orders by mistake places this many, not thousands).
{_toml(max_plugin_orders=engine.max_plugin_orders)}
# Entries (market and pending orders) one plugin may place in any minute from its timers and
# broker-event hooks (on_fill...): a script opening an entry from each of its own fills stops here.
{_toml(max_plugin_entries_per_minute=engine.max_plugin_entries_per_minute)}
# The account's hard limits, on every entry whoever places it (the alert, a plugin, an admin);
# closes always pass. An order over this many lots is refused:
# max_order_volume = 1.0
# An entry is refused while this many positions and pending orders are open:
# max_open_positions = 10
# A market entry is refused when the broker's price (the ask for a buy, the bid for a sell) is
# more than this percent from the alert's price: TradingView's feed is not the broker's, and the
# market can run between them (0.1 is about 11 pips on EURUSD, 2 USD on gold at 2,000):
# max_price_gap_pct = 0.1
# Entries are refused for the rest of the trading day once its loss (closed trades and open
# positions) reaches this percent of the balance the day began with; set it under a prop firm's
# daily limit (4 for FTMO's 5). The day begins at midnight on the trading_day clock: "UTC",
# "Europe/Prague" (FTMO's), "GMT+2/+3 US" (a broker's server midnight, 17:00 New York).
# max_daily_loss_pct = 4
{_toml(trading_day=engine.trading_day)}
# Entries are refused while the account's equity is at or under this amount (a prop firm's
# maximum loss: 91000 for a 100,000 account that fails at 90,000).
# min_equity = 91000
# An entry is refused when it would lose more than this percent of the balance at its stop, or
# has no stop (whoever sized it: the alert, a plugin's on_order, an administrator):
# max_risk_pct = 2
# An entry is refused once this many were made in the last hour (an alert firing on every tick,
# a strategy flipping back and forth):
# max_entries_per_hour = 20
# A market entry is refused while the spread is wider than this many pips: at the daily rollover
# (17:00 New York) and in news, EURUSD's pip becomes ten or twenty, paid at the fill and by a
# tight stop. One number for every symbol, or by symbol with "*" for the rest:
# max_spread_pips = {{ "*" = 3, XAUUSD = 40 }}
# How long such an entry waits for the spread to narrow before it is refused (seconds, at most
# max_alert_age; the rollover's lasts minutes, and the price moves meanwhile: max_price_gap_pct
# bounds it):
# max_spread_wait = 90
# The volume of an entry that gives neither volume nor risk (unset: such an entry is refused).
# default_volume = 0.01
# TradingView's tickers to the broker's symbols; a key with its exchange matches that exchange
# only, and goes first ("OANDA:EURUSD" is "EURUSD" when unmapped):
# symbol_map = {{ "TVC:GOLD" = "XAUUSD", "US30" = "US30.cash" }}

[sandbox]
# Worker processes running the plugins, and what one hook call may spend by default.
{_toml(workers=engine.workers, instructions=budget.instructions,
       timeout_ms=round(budget.timeout * 1000), memory_mb=budget.memory // MB)}

[paper]
# The simulated account: starting balance, its currency, leverage, spread (points) and
# commission per lot. spreads sets a symbol's own; symbols adds or changes symbol specs.
{_toml(balance=paper.balance, currency=paper.currency, leverage=paper.leverage,
       spread_points=paper.spread_points, commission_per_lot=paper.commission_per_lot)}
# spreads = {{ EURUSD = 8 }}
# The stop-out level, as MetaTrader 5 brokers set it: when the margin level (equity / margin,
# in percent) falls below it, the most losing position is closed at the market (0: never).
# stop_out_pct = {paper.stop_out_pct:g}
# The part of the contract charged on hedged volume (a buy and a sell of one symbol), as
# MetaTrader 5's "Hedged" margin over the contract size (50,000 of 100,000; 0: none).
# hedged_margin = {paper.hedged_margin:g}

[monitor]
# The administrators are told (Telegram "admin") when an alert takes longer than this from
# receipt to the broker, and when the engine and its workers use more memory than this.
{_toml(latency_alert_ms=monitor.latency_alert_ms, memory_alert_mb=monitor.memory_alert_mb)}
# An event loop held longer than this (ms) is logged with the task that held it.
{_toml(lag_alert_ms=monitor.lag_alert_ms)}

# Telegram: uncomment to be told of trades and trouble, and to command the engine from a
# chat. A chat is served by the bot it is listed under (start a conversation with the bot
# first); events: trades, errors, admin, plugin (default: all). Commands (/status, /pause,
# /close ...) are obeyed from the admins only: people, by their Telegram user id (the log
# names yours when you send the bot a command before you are listed), in their private chat
# with the bot, or in a group listed in command_chats, where the other members are ignored.
# [telegram]
# admins = [123456789]               # user ids, not chats: a group here is refused
# command_chats = [-1001234567890]   # groups where the admins may command (default: none)
# [[telegram.bots]]
# token = "123456:ABC-DEF1234ghIkl-zyx57W2v1u123ew11"   # from @BotFather; keep this file private
# chats = [123456789, {{ id = -1001234567890, events = ["trades"] }}]

# MetaTrader 5, with [engine] broker = "mt5" (see docs/metatrader5.md): uncomment and fill in.
# [mt5]
# module = "mt5linux"           # the default on Linux (host, port: its server); "MetaTrader5" on Windows
# login = 12345678
# server = "YourBroker-Demo"    # the password: MOONHOOK_MT5_PASSWORD in the environment
# symbol_suffix = ""

# Shadow mode (docs/shadow.md): the scripts of another folder decide beside the live ones, on
# a paper account of their own, never the real broker; /api/shadow lists where they differ.
# [shadow]
# scripts = "scripts-next"

# One table per plugin, named after it (its plugin.name, else its file's name: [plugins.breakout]
# for a script saying name = "breakout"): enabled = false turns it off; params override the
# script's own; budget raises the [sandbox] default, up to {limits.instructions}
# instructions, {limits.timeout:g} s and {limits.memory // MB} MB.
{tomli_w.dumps({"plugins": {"demo": {"enabled": True}}}).rstrip()}
# budget = {{ instructions = 5000000, timeout = 0.2, memory_mb = 32 }}

{tomli_w.dumps({"plugins": {"demo": {"params": {"allow_without_stop": False}}}})}"""


def _write_new(path: Path, text: str, mode: int) -> bool:
    """Writes ``text`` to ``path`` only if nothing is there; False if something was."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        os.fchmod(f.fileno(), mode)  # exactly this mode, whatever the umask
        f.write(text)
    return True


# What init keeps out of git in a folder without a .gitignore of its own: the secrets, the copies of
# the file editors leave beside it (moonhook.toml~, .moonhook.toml.swp, #moonhook.toml#, a .bak), the journal.
GITIGNORE = ("# written by `moonhook init`: the secrets, the copies editors make of them, and the journal stay out of "
             "git\n/moonhook.toml*\n/.moonhook.toml*\n/#moonhook.toml#\n/data/\n/backups/\n")


def init_project(folder: Path, env: Mapping[str, str] | None = None) -> InitResult:
    """Writes ``folder``/moonhook.toml (mode 0600: it holds the secrets) and
    ``folder``/scripts/ with the example strategy. The templates carry the port and secret
    ``moonhook run`` will use: ``env``'s MOONHOOK_PORT and MOONHOOK_SECRET over the file's.
    Raises FileExistsError if moonhook.toml exists, NotADirectoryError if ``folder`` is a file,
    SettingsError for a bad variable in ``env``; each having written nothing."""
    config = folder / CONFIG_NAME
    overrides = server_env(env or {})
    if config.exists():
        raise FileExistsError(f"{config} exists already; init never overwrites it "
                              "(remove it, or run init in another folder)")
    if folder.exists() and not folder.is_dir():   # else mkdir says "File exists", of the folder to make
        raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(folder))
    folder.mkdir(parents=True, exist_ok=True)
    secret, token = secrets.token_urlsafe(24), secrets.token_urlsafe(24)
    if not _write_new(config, render_config(secret, token), 0o600):
        raise FileExistsError(f"{config} appeared while init was writing it; nothing was overwritten")
    scripts = folder / str(EngineConfig().scripts)
    scripts.mkdir(exist_ok=True)
    example = scripts / EXAMPLE_NAME
    # A folder that holds strategies already is the trader's: nothing is added to it.
    written = not any(scripts.glob("*.lua")) and _write_new(example, EXAMPLE_SCRIPT, 0o644)
    editor = _write_editor_files(folder)
    ignore = folder / ".gitignore"
    ignored = ignore if _write_new(ignore, GITIGNORE, 0o644) else None

    server = ServerConfig()
    port = overrides.get("port", server.port)
    url = f"http://{server.host}:{port}/webhook"
    secret = overrides.get("secret", secret)
    message = {"secret": secret, "symbol": "{{ticker}}", "action": "{{strategy.order.action}}",
               "price": "{{close}}", "units": "{{strategy.order.contracts}}", "sl_pips": 20,
               "position": "{{strategy.market_position}}", "position_size": "{{strategy.market_position_size}}",
               "id": "{{strategy.order.id}}-{{timenow}}", "timenow": "{{timenow}}"}
    text = ("{{strategy.order.action}} {{ticker}} units={{strategy.order.contracts}} sl_pips=20 "
            "position={{strategy.market_position}} position_size={{strategy.market_position_size}} "
            "price={{close}} id={{strategy.order.id}}-{{timenow}} timenow={{timenow}}")
    return InitResult(config=config, scripts=scripts, example=example, example_written=written,
                      strategies=tuple(sorted(scripts.glob("*.lua"))),
                      webhook_url=url, json_template=json.dumps(message, indent=2),
                      text_template=text, text_webhook_url=f"{url}/{secret}", editor_files=editor,
                      gitignore=ignored, port=port)


def refresh_editor_files(folder: Path) -> tuple[Path, ...]:
    """Writes the generated editor files again for this version of moonhook (after an upgrade,
    in a project whose config exists): the config's JSON Schema and the LuaLS definitions,
    each replaced whole (a temporary file renamed over it); ``.luarc.json``, which a trader may
    have edited, only if absent. Returns the files written."""
    *generated, (luarc, settings) = _editor_files(folder)
    written = []
    for path, text in generated:
        temp = path.with_name(f".{path.name}.tmp")
        temp.write_text(text, encoding="utf-8")
        os.replace(temp, path)
        written.append(path)
    if _write_new(luarc, settings, 0o644):
        written.append(luarc)
    return tuple(written)


def _write_editor_files(folder: Path) -> tuple[Path, ...]:
    """The config's JSON Schema and the LuaLS definitions and settings, each only if absent;
    returns those written."""
    return tuple(path for path, text in _editor_files(folder) if _write_new(path, text, 0o644))


def _editor_files(folder: Path) -> tuple[tuple[Path, str], ...]:
    """(path, text) of the config's JSON Schema, the LuaLS definitions and, last, ``.luarc.json``;
    makes the definitions' folder."""
    from engine.app import luals  # reads the core's hook and service tables: loaded only to write these

    types = folder / luals.TYPES_DIR
    types.mkdir(parents=True, exist_ok=True)
    return ((folder / SCHEMA_NAME, render_schema()), (types / luals.DEFINITIONS_NAME, luals.render_definitions()),
            (folder / luals.LUARC_NAME, luals.render_luarc()))


def describe(result: InitResult) -> str:
    """What ``moonhook init`` prints: the files, then what to paste into TradingView."""
    return f"""\
Wrote {result.config} (mode 0600: it holds the webhook secret and the API token).
{_ignored(result)}{_strategies(result)}{_editor(result)}

Start the engine:  moonhook run --config {result.config}

In TradingView, create an alert and set its webhook URL to
  {result.webhook_url}{_any_port(result)}
(for TradingView to reach it, serve it over HTTPS on port 443, e.g. behind a reverse proxy,
and use that public address instead of {result.webhook_url.split('/webhook')[0]})

and its message to (JSON form, for a Pine strategy):
{result.json_template}

or, in the text form, the message
  {result.text_template}
with the secret in the webhook URL instead:
  {result.text_webhook_url}

{_stop_note(result)}
"""


def _any_port(result: InitResult) -> str:
    """MOONHOOK_PORT=0 lets the system choose the port at each start: the URLs' 0 is not it."""
    return "" if result.port else "\n(MOONHOOK_PORT=0: the port is chosen at each start; moonhook run prints it)"


def _strategies(result: InitResult) -> str:
    """The strategies line: the example written, or the files the folder held already."""
    if result.example_written:
        return f"Example strategy: {result.example}"
    held = ", ".join(str(p) for p in result.strategies)
    return f"Strategies: {held} (the folder holds strategies already: no example was added)"


def _ignored(result: InitResult) -> str:
    """Whether git is kept from moonhook.toml: by the .gitignore init wrote, or said to check."""
    if result.gitignore is not None:
        return f"{result.gitignore} keeps it, data/ and backups/ out of git.\n"
    return (f"{result.config.parent / '.gitignore'} was there already and is left as it is: see that it lists "
            "moonhook.toml and data/.\n")


def _editor(result: InitResult) -> str:
    """The editor files line (none when every one was there already)."""
    if not result.editor_files:
        return ""
    names = ", ".join(str(p) for p in result.editor_files)
    return f"\nEditor support (LuaLS, Taplo): {names}"


def _stop_note(result: InitResult) -> str:
    if result.example_written:
        return ("The example strategy refuses entries without a stop loss, so both templates carry\n"
                f"sl_pips=20: change it to suit, or edit {result.example.name}.")
    return "Both templates carry a stop loss (sl_pips=20): change it to suit your strategies."
