"""Short texts for a phone: tables in ``<pre>`` at most about 32 characters wide (so a phone
shows them without wrapping), numbers and durations in a few characters, and HTML escaping
for every engine or user text put in them."""

from __future__ import annotations

import html
from typing import Any

from engine.adapters.notify.bot import MAX_TEXT, text_length
from engine.app.overview import limits_text
from engine.domain.times import when
from engine.domain.words import amount, counted, duration

PLUGINS = "the dashboard's Plugins page"
TRADES = "the dashboard's Trades page"
MAX_ROWS = 30               # table rows shown; the rest are counted
MAX_LINES = 10              # lines of a list as long as the engine holds (scripts failing, plugins): the rest counted


def status_text(view: dict[str, Any], pause: dict[str, Any]) -> str:
    """/status: the engine's state (paused: by whom, why, and the alerts held, which a resume
    skips unless told to run them, as the Plugins page says), the broker, the account, the limits."""
    plugins = view["plugins"]
    rows = [("uptime", duration(view["uptime_s"])),
            ("plugins", f"{plugins['enabled']}/{plugins['loaded']} enabled"),
            ("broker", f"{view['broker']} {'connected' if view['broker_connected'] else 'DISCONNECTED'}")]
    rows += [("⚠ broker", warning) for warning in view["broker_warnings"]]
    scripts = ["scripts folder gone: saves not seen until it is back"] if view.get("scripts_unwatched") else []
    scripts += [f"{file} does not load: /plugins" for file in view.get("load_errors") or {}]
    scripts += [f"{file} save failed, the older serves" for file in view.get("reload_errors") or {}]
    rows += [("⚠ script", line) for line in capped(scripts, "/plugins")]   # each up to 90 characters
    if stopped := view.get("last_stop_out"):   # the last: the broker closed positions for want of margin
        level = f" ({stopped['margin_level']:g}%)" if stopped["margin_level"] is not None else ""
        rows.append(("⚠ stopout", f"{len(stopped['tickets'])} closed, net {amount(stopped['net'], sign=True)}{level}"))
        rows.append(("", when(stopped["time"])))   # kept across restarts: when says whether it is news
    account, positions = view["account"], view["positions"]
    if "error" in account:
        rows.append(("account", account["error"]))
    else:
        currency = account.get("currency") or ""
        rows += [(k, f"{amount(account[k])} {currency}") for k in ("balance", "equity")]
    rows.append(("positions", positions["error"] if isinstance(positions, dict) else str(len(positions))))
    if isinstance(view["orders"], list) and view["orders"]:
        rows.append(("pending", counted(len(view["orders"]), "order")))
    rows.append(("alerts", f"{view['alerts_in_progress']} in progress"))
    rows.append(("limits", limits_text(view["limits"])))
    state = "▶️ <b>running</b>"
    if view["paused"]:
        by = f" by {escape(str(pause['by']))}" if pause.get("by") else ""
        why = f": {escape(cut(str(pause['reason']), 100))}" if pause.get("reason") else ""
        held = pause.get("held") or 0
        state = (f"⏸ <b>paused</b>{by}{why} (alerts journaled, not executed; {held} held, which /resume asks "
                 "about)" if held else f"⏸ <b>paused</b>{by}{why} (alerts journaled, not executed)")
    return f"moonhook {state}\n<pre>" + "\n".join(f"{k:<9} {escape(v)}" for k, v in rows) + "</pre>"


def position_table(positions: list[dict[str, Any]]) -> str:
    """The positions as a <pre> table 32 characters wide (a profit in 6: ``signed``); past MAX_ROWS, counted."""
    lines = [f"{'symbol':<7}{'side':<5}{'lots':>5} {'open':>7} {'profit':>6}"]
    for p in positions[:MAX_ROWS]:
        profit = p.get("profit")
        lines.append(f"{cut(str(p.get('symbol')), 7):<7}{str(p.get('side'))[:4]:<5}{number(p.get('volume')):>5} "
                     f"{number(p.get('price_open')):>7} {'' if profit is None else signed(profit):>6}")
    if len(positions) > MAX_ROWS:
        lines.append(f"… and {len(positions) - MAX_ROWS} more")
    return "<pre>" + escape("\n".join(lines)) + "</pre>"


def order_table(orders: list[dict[str, Any]]) -> str:
    """Pending orders as a <pre> table 32 characters wide; past MAX_ROWS, counted. One placed by
    hand in the terminal (no plugin) is marked with *, and said under the table."""
    lines = [f"{'symbol':<7}{'order':<11}{'lots':>5} {'price':>7}"]
    for o in orders[:MAX_ROWS]:
        kind = f"{str(o.get('side'))[:4]} {str(o.get('type') or '')[:5]}"
        symbol = cut(str(o.get("symbol")), 6) + ("*" if o.get("plugin") is None else "")
        lines.append(f"{symbol:<7}{kind:<11}{number(o.get('volume')):>5} {number(o.get('price')):>7}")
    if len(orders) > MAX_ROWS:
        lines.append(f"… and {len(orders) - MAX_ROWS} more")
    by_hand = "\n* placed by hand: /cancel leaves it" if any(o.get("plugin") is None for o in orders) else ""
    return "<pre>" + escape("\n".join(lines)) + "</pre>" + by_hand


def plugins_text(rows: list[dict[str, Any]]) -> str:
    """/plugins: the facade's plugin rows as a <pre> table 32 characters wide (past MAX_ROWS,
    counted), and under it each guard, plugin switched off by someone, and failure (a save that did
    not load, whose version before serves on, or a file nothing serves: ``state_words``)."""
    if not rows:
        return "No plugins: put .lua scripts in the scripts folder."
    states = {"active": "on", "disabled": "off", "failed": "fail", "loading": "load"}
    lines = [f"{'plugin':<11} {'st':<4} {'calls':>5} {'err':>3} {'p50':>5}"]
    notes = []
    for row in rows[:MAX_ROWS]:
        errors = (row.get("errors") or 0) + (row.get("timeouts") or 0)
        lines.append(f"{cut(row['name'], 11):<11} {states.get(row['state'], row['state'][:4]):<4} "
                     f"{count(row.get('calls')):>5} {count(errors):>3} {micros(row.get('p50_us')):>5}")
        if row.get("guard"):
            notes.append(f"{row['name']}: guard (fails closed)")
        if row.get("disabled_by") and row["state"] == "disabled":
            notes.append(f"{row['name']}: disabled by {row['disabled_by']}")
        if row.get("last_error") and row["state"] == "failed":   # a failed save (its version before serves) or none
            notes.append(f"{row['name']}: {row['state_words']}: {cut(str(row['last_error']), 120)}")
    if len(rows) > MAX_ROWS:
        lines.append(f"… and {len(rows) - MAX_ROWS} more")
    return "<pre>" + escape("\n".join(lines)) + "</pre>" + "".join(f"\n• {escape(n)}" for n in capped(notes, PLUGINS))


def none_ours(command: str, symbol: str | None, by_hand: int) -> str:
    """The answer of a /close or /cancel (of ``symbol``; None: all) with nothing of moonhook's to
    act on: those placed by hand in the terminal (``by_hand`` of them), which /positions and
    /orders list, are said to be there and left alone, not taken for nothing open."""
    on = f" on {escape(symbol)}" if symbol is not None else ""
    if by_hand:
        what = f"position of moonhook's open{on}" if command == "close" else f"pending order of moonhook's{on}"
        verb = "opened" if command == "close" else "placed"
        return f"No {what}: {by_hand} {verb} by hand, which /{command} leaves alone."
    if command == "close":
        return "No open positions." if symbol is None else f"Nothing open{on}."
    return "No pending orders." if symbol is None else f"No pending order{on}."


def no_plugin(name: str, loads: bool) -> str:
    """The answer of an /enable or /disable of ``name``, which serves as no plugin: a file that does not
    load (not ``loads``, the facade's NotLoaded) is listed by /plugins, so it is said not to load, not to
    be unknown."""
    if not loads:
        return (f"Plugin {escape(name)} does not load, so it is neither on nor off: /plugins shows why. It serves "
                "once its file is saved and loads.")
    return f"No plugin {escape(cut(name, 64))}; /plugins lists them."


def results_lines(command: str, results: list[tuple[Any, Any]]) -> list[str]:
    """What a confirmed /close or /cancel did, one plain line a symbol (close: ``results`` are
    ((symbol, ticket), result), the positions shown, closed by their tickets) or an order
    (cancel: (ticket, result)), as the facade's ``close_positions`` and ``cancel`` answer them.
    What was not done, or may not have been, comes first: a message cut short still shows it."""
    if command == "cancel":
        lines = [(_trouble(result), f"order {ticket}: {_outcome(result, 'cancelled', 'no longer pending')}")
                 for ticket, result in results]
        return [line for trouble, line in sorted(lines, key=lambda each: not each[0])]
    by_symbol: dict[str, list[tuple[int, Any]]] = {}
    for (symbol, ticket), result in results:
        by_symbol.setdefault(symbol, []).append((ticket, result))
    troubles, lines = [], []
    for symbol, each in by_symbol.items():
        done = [r for _, r in each if r is not None and not _trouble(r)]
        gone = sum(r is None for _, r in each)   # closed another way since the question: said, not left out
        troubles += [f"{symbol} position {ticket}: {_outcome(r, 'closed', '')}" for ticket, r in each if _trouble(r)]
        if done:
            prices = {r.price for r in done}
            price = prices.pop() if len(prices) == 1 else None
            lines.append(f"{symbol}: closed {len(done)} position{'s' * (len(done) != 1)}, "
                         f"{number(round(sum(r.volume or 0.0 for r in done), 8))} lots"
                         + (f" at {number(price)}" if price is not None else "")
                         + (f"; {gone} no longer open" if gone else ""))
        elif gone == len(each):
            lines.append(f"{symbol}: nothing open any more")
        elif gone:
            lines.append(f"{symbol}: {gone} no longer open")
    return troubles + lines


def results_text(command: str, target: str, lines: list[str]) -> str:
    """``results_lines`` as the message that answers a confirmed /close or /cancel (HTML), cut
    to fit one message."""
    look = "/positions shows what is open" if command == "close" else "/orders shows what is pending"
    return f"<b>/{escape(command)} {escape(target)}</b>\n" + escape("\n".join(fit(lines, look)))


def fit(lines: list[str], more: str, budget: int = MAX_TEXT - 200) -> list[str]:
    """As many of ``lines`` as fit in ``budget`` characters as Telegram counts them (a message
    holds MAX_TEXT: a longer one is refused, and nothing is shown), then one counting the rest
    and saying ``more``."""
    out, size = [], 0
    for i, line in enumerate(lines):
        size += text_length(line) + 1
        if size > budget:
            return out + [f"… and {len(lines) - i} more: {more}"]
        out.append(line)
    return out


def _trouble(result: Any) -> bool:
    """Not done, or not known to be (None, no longer there, is neither)."""
    return result is not None and (isinstance(result, Exception) or not result.ok)


def _outcome(result: Any, done: str, gone: str) -> str:
    if result is None:
        return gone
    if isinstance(result, Exception):
        return f"failed: {type(result).__name__}: {str(result)[:120]}"
    if result.unknown:  # it may have been done: "NOT closed" would send the admin to close it again by hand
        return f"MAYBE {done}, not known yet: {result.error}"
    return done if result.ok else f"NOT {done}: {result.error}"


def trades_text(view: dict[str, Any], when: str) -> str:
    """The trades closed ``when`` (the facade's ``closed_since``): a line with their count and
    net, a <pre> table 32 characters wide (the rest counted past its rows), the net by plugin."""
    closed, trades = view["closed"], view["trades"][:MAX_ROWS]
    if not closed:
        return f"No trades closed {escape(when)}."
    money = f" {view['currency']}" if view.get("currency") else ""
    lines = [f"{'symbol':<7}{'side':<5}{'lots':>5} {'close':>7} {'net':>6}"]
    for t in trades:
        lines.append(f"{cut(str(t.get('symbol')), 7):<7}{str(t.get('side'))[:4]:<5}{number(t.get('volume')):>5} "
                     f"{number(t.get('price_close')):>7} {signed(t['net']):>6}")
    if closed > len(trades):
        lines.append(f"… and {closed - len(trades)} more")
    plugins = capped([f"{name} {amount(p['net'], sign=True)} ({p['trades']})"
                      for name, p in view["by_plugin"].items()], TRADES)
    return (f"<b>{closed} trade{'s' * (closed != 1)} closed {escape(when)}</b>, net {amount(view['net'], sign=True)}"
            f"{escape(money)}\n<pre>" + escape("\n".join(lines)) + "</pre>\nby plugin:"
            + "".join(f"\n• {escape(p)}" for p in plugins))


def capped(lines: list[str], more: str) -> list[str]:
    """At most MAX_LINES of ``lines``, then one counting the rest and saying where they are (``more``):
    a list as long as the engine holds (a line a script, a plugin) in a message, which holds MAX_TEXT
    characters (a longer one is refused, and the command goes unanswered)."""
    if len(lines) <= MAX_LINES:
        return lines
    return lines[:MAX_LINES] + [f"… and {len(lines) - MAX_LINES} more: {more}"]


def escape(text: str) -> str:
    """``text`` safe inside Telegram's HTML (quotes need no escaping outside attributes)."""
    return html.escape(text, quote=False)


def cut(text: str, width: int) -> str:
    """At most ``width`` characters, an ellipsis marking a cut."""
    return text if len(text) <= width else text[:width - 1] + "…"


def number(value: Any) -> str:
    """A price or volume in at most 6 significant digits; "?" for what is not a number."""
    return f"{value:.6g}" if isinstance(value, (int, float)) and not isinstance(value, bool) else "?"


def signed(x: Any) -> str:
    """A profit or net, signed, in at most 6 characters (a table's column): cents below 100 (+12.34), whole
    units below 100,000 (-1234), then thousands (+123k), millions (+1234M), a power of ten; "?" for what is
    not a number. The message's own line says the sum in full."""
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return "?"
    if abs(x) < 99.995:
        return f"{x:+.2f}"
    if abs(x) < 99_999.5:
        return f"{x:+.0f}"
    if abs(x) < 9_999.5e3:
        return f"{x / 1e3:+.0f}k"
    return f"{x / 1e6:+.0f}M" if abs(x) < 9_999.5e6 else f"{x:+.0e}"


def count(n: Any) -> str:
    """A count in at most 5 characters (12k, 1.5M); "-" for what is not an integer."""
    if not isinstance(n, int) or isinstance(n, bool):
        return "-"
    return str(n) if n < 10_000 else f"{n / 1000:.0f}k" if n < 1_000_000 else f"{n / 1e6:.1f}M"


def micros(us: Any) -> str:
    """Microseconds in a few characters (850µs, 1.2ms, 3.4s)."""
    if not isinstance(us, (int, float)):
        return "-"
    return (f"{us:.0f}µs" if us < 1000 else f"{us / 1000:.1f}ms" if us < 10_000
            else f"{us / 1000:.0f}ms" if us < 1e6 else f"{us / 1e6:.1f}s")


def ago(seconds: float) -> str:
    """An age in its one best unit (45 s, 5 min, 3 h)."""
    s = max(0, round(seconds))
    return f"{s} s" if s < 90 else f"{round(s / 60)} min" if s < 5400 else f"{round(s / 3600)} h"

