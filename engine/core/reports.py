"""What the engine says about its work: one log line per alert, the text of a trade
notification, and an outcome's plugins and reason as the journal keeps them."""

from __future__ import annotations

import logging
import re
from typing import Any

from engine.adapters.storage import Recorded
from engine.core import order_site
from engine.core.limits import is_breach
from engine.domain.alerts import Alert
from engine.domain.orders import OPENING, Closed, Dropped, Event, Fill, OrderRequest, OrderResult, StopOut
from engine.domain.rules import is_malformed, is_unclosable

log = logging.getLogger("moonhook.engine")
# A stop-out deal's comment, as MetaTrader 5 writes it (and paper): "[so 36.39%/1800.00/4946.00]".
_SO = re.compile(r"\bso\s*(-?[\d.]+)%\s*/\s*(-?[\d.]+)\s*/\s*(-?[\d.]+)")


def log_alert(alert_id: int, alert: Alert, status: str, outcome: dict[str, Any]) -> None:
    """The alert's one line: id, symbol, command, outcome, latency."""
    why = outcome.get("reason") or outcome.get("error") or outcome.get("note") or ""
    fields = {"alert": alert_id, "symbol": alert.symbol or "-",
              "command": alert.action.value if alert.action else "-", "outcome": status,
              "orders": len(outcome.get("orders") or ()), "latency_ms": outcome.get("latency_ms", "-")}
    if outcome.get("rejected_by"):
        fields["by"] = outcome["rejected_by"]
    log.info("alert %d %s %s: %s%s", alert_id, fields["symbol"], fields["command"], status,
             f" ({why})" if why else "", extra={"fields": fields})


AGAIN = " (told at this start: the engine stopped before it was told, or while it was)"


def describe_event(event: Event) -> str:
    return _described(event) + (AGAIN if getattr(event, "again", None) else "")


def _described(event: Event) -> str:
    if isinstance(event, StopOut):
        return describe_stop_out(event)
    if isinstance(event, Dropped):
        return (f"pending order {event.ticket} {event.side} {event.type} {event.volume:g} {event.symbol} "
                f"@ {event.price:g} {event.reason}{' (' + event.plugin + ')' if event.plugin else ''}: {event.detail}")
    if isinstance(event, Fill) and event.left:
        return (f"position {event.position} {event.symbol}: {event.volume:g} closed by {event.reason} "
                f"@ {event.price:g}{' (' + event.plugin + ')' if event.plugin else ''}, {event.left:g} left open: "
                f"profit {event.profit:+.2f}, commission {event.commission:+.2f}"
                + (f", swap {event.swap:+.2f}" if event.swap else ""))
    if isinstance(event, Fill):
        verb = "opened" if event.entry == "in" else "closed"
        return (f"{verb} {event.side} {event.volume:g} {event.symbol} @ {event.price:g}"
                f" ({event.reason}{', ' + event.plugin if event.plugin else ''}){_part(event)}")
    return (f"position {event.ticket} {event.side} {event.volume:g} {event.symbol} closed by {event.reason} "
            f"@ {event.price_close:g}: {money_of(event)}")


def _part(fill: Fill) -> str:
    """What an opening deal of part of its order filled of what it asked (``Fill.asked``), else ""."""
    if fill.asked is None or fill.filled is None:
        return ""
    if fill.filled < fill.asked - 1e-9:
        rest = "the rest is pending" if fill.reason == "pending" else "the market filled no more"
        return f": filled in part, {fill.filled:g} of {fill.asked:g} lots asked; {rest}"
    return f": the rest of its order, {fill.filled:g} of {fill.asked:g} lots asked filled"


def margin_said(comment: str | None) -> dict[str, float] | None:
    """The account as a stop-out deal's comment says it was: margin_level (percent), equity,
    margin; None when the comment says nothing of it."""
    found = _SO.search(comment or "")
    return None if found is None else dict(zip(("margin_level", "equity", "margin"), map(float, found.groups())))


def describe_stop_out(event: StopOut) -> str:
    """The administrators' message of a stop-out: the positions the broker closed for want of
    margin, what they lost, the account as the broker said it was, and that alerts go on."""
    closed = event.positions
    net = round(sum(p["net"] for p in closed), 2) + 0.0
    lines = [f"STOP-OUT: the broker closed {len(closed)} position{'s' if len(closed) > 1 else ''} of moonhook's: "
             f"the account's margin level fell below its stop-out level. Net {net:+,.2f}"
             f"{' ' + event.currency if event.currency else ''} in all."]
    for p in closed:
        said = margin_said(p.get("said"))
        lines.append(f"position {p['ticket']} {p['side']} {p['volume']:g} {p['symbol']} closed @ {p['price_close']:g}: "
                     f"net {p['net']:+,.2f}{' (' + p['plugin'] + ')' if p.get('plugin') else ''}"
                     + (f", at a margin level of {said['margin_level']:g}% (equity {said['equity']:,.2f}, margin "
                        f"{said['margin']:,.2f})" if said else ""))
    lines.append("moonhook goes on taking alerts, on the margin left: /pause holds them (its exits too) until /resume.")
    return "\n".join(lines)


def money_of(closed: Closed) -> str:
    """What a closed position made, net first (what the balance moved by, as the trades' view
    counts it) then its parts: "net -4.00 USD (profit +10.00, commission -14.00)"; the swap when
    one was booked."""
    parts = [f"profit {closed.profit:+.2f}", f"commission {closed.commission:+.2f}"]
    if closed.swap:
        parts.append(f"swap {closed.swap:+.2f}")
    return f"net {closed.net:+.2f}{' ' + closed.currency if closed.currency else ''} ({', '.join(parts)})"


def command_of(alert: Alert) -> str:
    """An alert in a notification's words: "buy EURUSD", "closeall", "alert"."""
    return " ".join(x for x in (alert.action.value if alert.action else None, alert.symbol) if x) or "alert"


def describe_not_done(request: OrderRequest, result: OrderResult) -> tuple[str, str | None]:
    """The trades chat's notice of an order the broker did not do, and its throttle key. Not
    known: it may be live, so each is told (no key). A refused entry left nothing open: one
    plugin's refusals fold together. A refused close, removal or stop change left what it was
    for as it was, and nothing sends it again (a market closed for the weekend included): it is
    folded only with repeats of that very order, never under an entry's refusal, and says so."""
    said = f"{request.kind} {request.symbol or ''} for {request.plugin}: {result.error}"
    if result.unknown:
        return f"order not known: {said}", None
    own = _own_fault(request, result)
    if request.kind in OPENING:
        return f"order refused: {said}{'. ' + own if own else ''}", f"refused:{request.plugin}"
    return f"order refused: {said}. {_left_as_it_was(request, result, own)}", \
        f"refused:{request.plugin}:{request.kind}:{request.symbol}"


def _own_fault(request: OrderRequest, result: OrderResult) -> str | None:
    """A plugin's own order refused for its own values (``rules.is_malformed``: a volume or a stop it
    computed wrongly): the script is to be fixed, at its file:line where known; None for any other refusal."""
    if not is_malformed(result.error) or (site := order_site.where()) is None:
        return None
    return (f"{request.plugin}'s own order was malformed ({site}): fix the script; sent again as it is, the alert "
            "again included, it is refused the same")


def describe_settled(request: OrderRequest, result: OrderResult) -> str | None:
    """The end of an order told "not known" in the trades chat (its answer lost), now that the
    broker shows it: refused (nothing done), or done where no deal tells it (a pending order
    placed, a removal, a stop change). None for one done by a deal: its fill is told."""
    said = f"{request.kind} {request.symbol or ''} for {request.plugin}"
    if not result.ok:
        text = f"order refused at the broker after all (its answer was lost: told not known): {said}: {result.error}"
        return text if request.kind in OPENING else f"{text}. {_left_as_it_was(request, result)}"
    if request.kind == "market" or request.kind == "close" and request.type is None:
        return None
    volume = result.volume if result.volume is not None else request.volume
    price = result.price if result.price is not None else request.price
    if request.kind == "pending":
        done = (f"pending {request.side} {request.type} {volume:g} {request.symbol} @ {price:g} for "
                f"{request.plugin}, ticket {result.ticket}")
        return f"order placed after all (its answer was lost: told not known): {done}"
    what = f"pending order {request.ticket} removed" if request.kind == "close" else \
        f"ticket {request.ticket} changed as asked"
    return f"order done after all (its answer was lost: told not known, or refused as unchanged): {said}: {what}"


def _left_as_it_was(request: OrderRequest, result: OrderResult, own: str | None = None) -> str:
    """What a refused close, removal or stop change left as it was, and how to send it again (a
    limit's refusal is no broker's: the same change sent again is refused again)."""
    symbol, ticket, command = request.symbol, request.ticket, None
    if request.kind == "modify":
        left = f"The stops of ticket {ticket}{f' on {symbol}' if symbol else ''} stay as they were"
    elif request.type:  # the engine's removal of a pending order: by its ticket, with its type
        left, command = f"Pending order {ticket}{f' on {symbol}' if symbol else ''} stays", "/cancel"
    elif ticket is not None:  # a plugin's close or cancel by ticket: a position or a pending order
        left = f"Ticket {ticket}{f' on {symbol}' if symbol else ''} stays open"
    else:  # closed in part (some positions, some lots): its error says which
        left, command = f"{'What it did not close of ' if result.closed or result.volume else ''}{symbol} stays open", \
            "/close"
    if own:
        return f"{left}: {own}"
    if is_breach(result.error):
        return f"{left}: a limit of moonhook.toml refuses this change, as it would the entry it makes"
    if is_unclosable(result.error):   # the broker's own volume rules: the same close is refused again
        return (f"{left}: no close moonhook may send can close those lots (the alert again is refused the same); "
                "ask the broker to close them")
    again = "the alert again" + (f", or {command} {symbol} in Telegram" if command and symbol else "")
    return f"{left}: nothing sends this order again; send it once the broker takes it ({again})"


def describe_rejection(alert_id: int, alert: Alert, outcome: dict[str, Any]) -> str:
    """The notification for an alert a plugin rejected."""
    why = outcome.get("reason") or "no reason given"
    said = f"alert {alert_id} ({command_of(alert)}) rejected by {outcome['rejected_by']}: {why}"
    return f"{said}; {outcome['note']}" if outcome.get("note") else said


def describe_failure(alert_id: int, alert: Alert, outcome: dict[str, Any]) -> str:
    """The notification for an alert that failed before any order was sent for it (no size, no
    price, a field moonhook does not read, the broker unable to serve): the position it meant to
    open or close is as it was. An order the broker refused is told on its own (``describe_not_done``)."""
    return f"alert {alert_id} ({command_of(alert)}) not executed: {outcome['error']}"


def describe_repeated_id(recorded: Recorded, alert: Alert, window: float) -> str:
    """The notification for an alert dropped as a repeat of another's id with other content."""
    return (f"alert {recorded.id} ({command_of(alert)}) not executed: its id {alert.id!r} is alert "
            f"{recorded.duplicate_of}'s, received "
            f"within engine.dedup_window ({window:g} s) with other content; give each TradingView alert an id of "
            "its own (with {{timenow}} in it)")


def named_plugins(outcome: dict[str, Any]) -> list[str]:
    """The plugins an outcome names: its on_alert steps' and its orders' (the journal's plugin
    filter matches the same)."""
    steps = [*(outcome.get("plugins") or ()), *(outcome.get("orders") or ())]
    return sorted({s["plugin"] for s in steps if isinstance(s, dict) and isinstance(s.get("plugin"), str)})


def outcome_reason(outcome: dict[str, Any]) -> str | None:
    """Why an alert was not done as asked: its rejection, its error or expiry, or its first
    refused order; None when it was."""
    reason = outcome.get("reason") or outcome.get("error")
    if reason is None:
        reason = next((o["error"] for o in outcome.get("orders") or () if o.get("error")), None)
    return reason if reason is None or isinstance(reason, str) else str(reason)
