"""The dashboard's overview, read from what the engine keeps already: today's counts (the
journal and the order ledger; "today" is the trading day, ``engine.trading_day``), the
receipt-to-broker latency of the last hour (the ledger's ``latency_ms``: from the alert's
receipt to the broker call, one sample per order), and the last errors (the plugin rows, the
load errors, the refused orders).

Plain functions over plain data, so the facade (``Operations.overview``) only gathers.
"""

from __future__ import annotations

import math
import re
from typing import Any

from engine.domain.times import when
from engine.domain.words import counted, duration

DAY = 86_400
HOUR = 3_600
MINUTE = 60
ERRORS = 10
_LOCATED = re.compile(r"(?P<file>[^\s:]+\.lua):(?P<line>\d+)")


def percentile(sorted_values: list[float], q: float) -> float | None:
    """The nearest-rank ``q``th percentile of ``sorted_values`` (None for none)."""
    if not sorted_values:
        return None
    rank = max(1, math.ceil(q / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def latency_minutes(samples: list[tuple[float, float]], now: float) -> list[dict[str, Any]]:
    """The last hour's ``(when, ms)`` samples as 60 points, one a minute, oldest first:
    {at (the minute's start), count, p50_ms, p99_ms}; a minute without a sample has count 0 and
    no percentiles."""
    end = now - now % MINUTE + MINUTE  # the end of the current minute
    start = end - HOUR
    buckets: list[list[float]] = [[] for _ in range(HOUR // MINUTE)]
    for at, ms in samples:
        if start <= at < end:
            buckets[int((at - start) // MINUTE)].append(ms)
    points = []
    for i, bucket in enumerate(buckets):
        bucket.sort()
        points.append({"at": start + i * MINUTE, "count": len(bucket),
                       "p50_ms": _round(percentile(bucket, 50)), "p99_ms": _round(percentile(bucket, 99))})
    return points


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def located(message: str | None) -> dict[str, Any]:
    """The file and line a plugin's error message names (``demo.lua:12``), if any."""
    match = _LOCATED.search(message or "")
    return {"file": match["file"], "line": int(match["line"])} if match else {"file": None, "line": None}


def last_errors(rows: list[dict[str, Any]], load_errors: dict[str, str], refused: list[dict[str, Any]],
                limit: int = ERRORS, telegram: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """Up to ``limit`` errors, those standing now first: each file that does not load (no version
    of it serving, or its last save refused while the previous version serves: then with its
    plugin), each plugin's last hook error, each bot whose messages Telegram does not take now and
    the Telegram chats that refused messages for good (``telegram``: health, its
    ``telegram_unreachable`` and ``telegram_refused``), then the orders refused, newest first.
    Each: {kind (load, plugin, telegram, order), at (None when not kept), plugin, file, line,
    message}; an order's also alert_id and symbol."""
    out: list[dict[str, Any]] = []
    for file, message in sorted(load_errors.items()):
        where = located(message)
        out.append({"kind": "load", "at": None, "plugin": None, "file": file, "line": where["line"],
                    "message": message})
    for row in rows:
        if row.get("last_error") and row.get("file") not in load_errors:   # those are listed above
            # "failed" with a version serving: its file's last save did not load, a load error too
            kind = "load" if row.get("state") == "failed" else "plugin"
            where = located(row["last_error"])
            out.append({"kind": kind, "at": None, "plugin": row["name"], "file": where["file"] or row["file"],
                        "line": where["line"], "message": row["last_error"]})
    for bot in (telegram or {}).get("telegram_unreachable", ()):
        out.append({"kind": "telegram", "at": bot["since"], "plugin": None, "file": None, "line": None,
                    "message": f"Telegram unreachable for {unreachable(bot)}"})
    for chat in (telegram or {}).get("telegram_refused", ()):
        out.append({"kind": "telegram", "at": chat["at"], "plugin": None, "file": None, "line": None,
                    "message": f"Telegram refused {refusal(chat)}"})
    for order in refused:
        out.append({"kind": "order", "at": order["at"], "plugin": order["plugin"], "file": None, "line": None,
                    "message": order["error"] or "refused", "alert_id": order["alert_id"],
                    "symbol": order["symbol"]})
    return out[:limit]


def today(alerts: dict[str, int], orders: dict[str, int]) -> dict[str, int]:
    """Today's counts: alerts received, of them rejected by a plugin and failed (an error),
    orders sent to the broker, orders refused (by the broker, or vetoed by a plugin's on_order)."""
    return {"alerts": alerts["alerts"], "rejections": alerts["rejected"], "failed": alerts["failed"],
            "orders": orders["sent"], "refused_orders": orders["refused"]}


def refusal(chat: dict[str, Any]) -> str:
    """A row of health's ``telegram_refused`` in words: ``3 messages for chat 4343 for good (sendMessage:
    Bad Request: chat not found)``."""
    return f"{counted(chat['messages'], 'message')} for chat {chat['chat']} for good ({chat['error']})"


def unreachable(bot: dict[str, Any]) -> str:
    """A row of health's ``telegram_unreachable`` in words: ``bot 5150 since 2026-12-06 09:12:05 UTC,
    3 messages waiting (sendMessage: Telegram unreachable (ConnectError: ...))``."""
    return (f"bot {bot['bot']} since {when(bot['since'])}, {counted(bot['messages'], 'message')} waiting "
            f"({bot['error']})")


# /health's fields as the dashboard's Health panel names them (the JSON and the status line keep the keys).
HEALTH_LABELS = {"status": "Status", "journal": "Journal", "uptime_s": "Running for", "plugins": "Plugins",
                 "load_errors": "Scripts that do not load",
                 "reload_errors": "Saves that did not load (the version before serves)",
                 "scripts_unwatched": "Scripts folder gone (saves not seen)",
                 "shadow_load_errors": "Shadow scripts that do not load",
                 "broker": "Broker", "broker_connected": "Broker connected", "broker_state": "Broker state",
                 "broker_warnings": "Broker warnings", "paused": "Paused", "last_stop_out": "Last stop-out",
                 "telegram_refused": "Telegram refused for good", "telegram_unreachable": "Telegram unreachable"}


def said(key: str, value: Any) -> str:
    """One of /health's values in words rather than JSON: yes or no, "none" for nothing, the
    plugins counted, a stop-out's time and net, the files that do not load (their messages are
    in the plugins' rows), warnings joined."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == [] or value == {}:
        return "none"
    if key == "plugins" and isinstance(value, dict):
        return f"{value.get('loaded', 0)} loaded, {value.get('enabled', 0)} enabled"
    if key == "last_stop_out" and isinstance(value, dict):
        return f"{when(value['time'])}, net {value['net']:+,.2f} {value.get('currency') or ''}".rstrip()
    if key == "telegram_refused" and isinstance(value, list):
        return "; ".join(refusal(chat) for chat in value)
    if key == "telegram_unreachable" and isinstance(value, list):
        return "; ".join(unreachable(bot) for bot in value)
    if isinstance(value, dict):   # load_errors, reload_errors: the files; the messages follow the plugin table
        return ", ".join(str(k) for k in value)
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


def health_line(health: dict[str, Any]) -> str:
    """``/health``'s JSON as ``moonhook status`` prints it first, ``key=value`` two spaces apart,
    the values in words (``said``): ``status=degraded  ...  plugins=1 loaded, 1 enabled
    load_errors=bad.lua  broker_connected=yes  broker_warnings=none  last_stop_out=none``."""
    return "  ".join(f"{key}={said(key, value)}" for key, value in health.items())


BROKER_LABELS = {"name": "Broker", "connected": "Connected", "state": "State"}
ACCOUNT_LABELS = {"balance": "Balance", "equity": "Equity", "margin": "Margin", "margin_free": "Free margin",
                  "margin_level": "Margin level (%)", "currency": "Currency", "error": "Account"}
TODAY_LABELS = {"alerts": "Alerts", "rejections": "Rejected by a plugin", "failed": "Failed", "orders": "Orders sent",
                "refused_orders": "Orders refused", "trades_closed": "Trades closed", "net": "Net of those"}
LIMIT_LABELS = {"max_order_volume": "Lots an order, at most", "max_open_positions": "Open positions, at most",
                "max_price_gap_pct": "Price gap, at most (%)", "max_daily_loss_pct": "A day's loss, at most (%)",
                "day_loss_pct": "The day's loss now (%)", "min_equity": "Equity, at least",
                "max_risk_pct": "Risk at a stop, at most (%)", "max_entries_per_hour": "Entries an hour, at most",
                "max_spread_pips": "Spread, at most (pips)", "max_spread_wait": "Waited for the spread, at most (s)",
                "trading_day": "Trading day"}


def _labelled(values: dict[str, Any], labels: dict[str, str], say: Any = said) -> list[list[str]]:
    """``[label, value]`` in ``values``' order, each key's label from ``labels`` (else the key in
    words), each value as ``say(key, value)`` gives it."""
    return [[labels.get(key, key.replace("_", " ").capitalize()), say(key, value)] for key, value in values.items()]


def _figure(key: str, value: Any) -> str:
    """A count or an amount of the day's, or a limit: grouped by thousands, money with its cents,
    a table of spreads by symbol; "none" for a limit not set."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ", ".join(f"{k} {v:g}" for k, v in value.items()) if isinstance(value, dict) else said(key, value)
    if key in ("net", "min_equity", "balance", "equity", "margin", "margin_free"):
        return f"{value:+,.2f}" if key == "net" else f"{value:,.2f}"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def paused_words(paused: bool, kept: dict[str, Any]) -> str:
    """Whether paused, in words, with who paused and why from the switchboard's ``kept`` pause
    (``by``, ``reason``): "yes, by dashboard: NFP at 14:30"; "no"."""
    if not paused:
        return "no"
    return f"yes{f', by {by}' if (by := kept.get('by')) else ''}{f': {why}' if (why := kept.get('reason')) else ''}"


def words(view: dict[str, Any], pause: dict[str, Any] | None = None) -> dict[str, list[list[str]]]:
    """The overview's panels as the dashboard says them, ``[label, value]`` pairs: ``health``
    (its values as ``health_line`` says them, the uptime as a duration: "4h 5m", and, given the
    switchboard's kept ``pause``, who paused and why), ``broker``, ``account`` (or why the broker
    could not say it), ``today`` and ``limits``; the JSON beside keeps the keys and raw values."""
    health = view["health"]

    def health_said(key: str, value: Any) -> str:
        if key == "paused" and pause is not None:
            return paused_words(bool(value), pause)
        return duration(value) if key == "uptime_s" else said(key, value)
    return {"health": _labelled(health, HEALTH_LABELS, health_said),
            "broker": _labelled(view["broker"], BROKER_LABELS),
            "account": _labelled(view["account"], ACCOUNT_LABELS, _figure),
            "today": _labelled(view["today"], TODAY_LABELS, _figure),
            "limits": _labelled(view["limits"], LIMIT_LABELS, _figure)}


def line(view: dict[str, Any]) -> str:
    """The account and the day in one line for ``moonhook status``, from ``/api/overview``'s JSON:
    ``account: balance 10,000.00 USD, equity 9,998.40; 2 positions, 1 pending order; today: 4 alerts,
    3 orders, 1 trade closed, net +12.30; limits: none`` (``4 alerts (1 failed)`` when one failed); what
    the broker could not say, said so."""
    account, positions, today = view.get("account") or {}, view.get("positions"), view.get("today") or {}
    if "error" in account or not account:
        money = f"account: {account.get('error', 'unknown')}"
    else:
        money = (f"account: balance {account['balance']:,.2f} {account.get('currency') or ''}".rstrip()
                 + f", equity {account['equity']:,.2f}")
    held = counted(len(positions), "position") if isinstance(positions, list) else "positions unknown"
    if isinstance(view.get("orders"), list) and view["orders"]:
        held += f", {counted(len(view['orders']), 'pending order')}"
    failed = f" ({today['failed']} failed)" if today.get("failed") else ""
    day = f"today: {counted(today.get('alerts', 0), 'alert')}{failed}, {counted(today.get('orders', 0), 'order')}"
    if "trades_closed" in today:
        day += f", {counted(today['trades_closed'], 'trade')} closed, net {today['net']:+,.2f}"
    return f"{money}; {held}; {day}; limits: {limits_text(view.get('limits') or {})}"


def _now(loss_pct: float | None) -> str:
    return f" ({loss_pct:g}% now)" if loss_pct is not None else " (now unknown)"


def limits_text(limits: dict[str, Any]) -> str:
    """The account's hard limits in a few words ("0.5 lots an order, 4 positions, price within
    0.1%, a day's loss under 4% (1.2% now), equity above 91,000.00, at most 1% at a stop, spreads up to
    3 pips (XAUUSD 40)"), or
    "none"."""
    volume, positions = limits.get("max_order_volume"), limits.get("max_open_positions")
    gap, loss, floor = limits.get("max_price_gap_pct"), limits.get("max_daily_loss_pct"), limits.get("min_equity")
    words = [f"{volume:g} lot{'' if volume == 1 else 's'} an order" if volume else "",
             counted(positions, "position") if positions else "", f"price within {gap:g}%" if gap else "",
             f"a day's loss under {loss:g}%" + _now(limits.get("day_loss_pct")) if loss else "",
             f"equity above {floor:,.2f}" if floor else "",
             f"at most {risk:g}% at a stop" if (risk := limits.get("max_risk_pct")) else "",
             f"{rate} entries an hour" if (rate := limits.get("max_entries_per_hour")) else "",
             _spreads(spreads, limits.get("max_spread_wait")) if (spreads := limits.get("max_spread_pips")) else ""]
    return ", ".join(w for w in words if w) or "none"


def _spreads(table: dict[str, float], wait: float | None) -> str:
    """"spreads up to 3 pips (XAUUSD 40), waited for 300 s" for ``engine.max_spread_pips`` and
    ``engine.max_spread_wait``."""
    named = ", ".join(f"{symbol} {pips:g}" for symbol, pips in sorted(table.items()) if symbol != "*")
    waited = f", waited for {wait:g} s" if wait else ""
    if "*" not in table:
        return f"spreads up to {named} pips{waited}"
    return f"spreads up to {table['*']:g} pips" + (f" ({named})" if named else "") + waited
