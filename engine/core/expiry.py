"""Old alerts are not executed as if they were new.

An alert's age runs from its receipt (the journal's ``received_at``, on the engine's clock), or
from when TradingView fired it when the alert says so (``timenow``) and that is earlier, to the
moment its turn comes in its lane: after a recovery at start, a resume with the alerts missed
during a pause, a long queue, or a delivery TradingView delayed. Past its limit it is journaled
``expired``, the administrators are told, and nothing runs for it, not even its plugins'
``on_alert``. What an earlier run of it had sent (cut by a crash or a wait) stands, and its
outcome shows it (``after``).

An alert whose turn finds the broker disconnected waits for it until then (``remaining``).

The limit is ``engine.max_alert_age`` (0: none) or the alert's own ``ttl``, whichever is
shorter: a ``ttl`` can shorten the engine's limit, never lengthen it. Closes, stop changes
and cancels (close, closelong, closeshort, closeall, newsltp, cancel, cancellong, cancelshort,
cancelall) follow ``max_alert_age`` unless ``engine.expire_closes`` is false; their own ``ttl``
applies either way, since the sender asked for it. Trend alerts never expire: they are state,
not orders, and in a lane's order the newest trend is still the last one set.
"""

from __future__ import annotations

from typing import Any

from engine.core.reports import command_of
from engine.domain.alerts import Action, Alert
from engine.domain.config import EngineConfig

CLOSES = frozenset({Action.CLOSE, Action.CLOSE_LONG, Action.CLOSE_SHORT, Action.CLOSE_ALL, Action.NEW_SLTP,
                    *(a for a in Action if a.is_cancel)})
MAX_AGE = "engine.max_alert_age"


def limit(config: EngineConfig, alert: Alert) -> tuple[float, str] | None:
    """The age in seconds past which ``alert`` expires, and the rule setting it (MAX_AGE or
    "ttl"); None if it never does."""
    if alert.action is Action.TREND:
        return None
    limits = []
    if config.max_alert_age and (config.expire_closes or alert.action not in CLOSES):
        limits.append((float(config.max_alert_age), MAX_AGE))
    if alert.ttl is not None:
        limits.append((float(alert.ttl), "ttl"))
    return min(limits) if limits else None


def deadline(config: EngineConfig, alert: Alert, received_at: float | None) -> tuple[float, str] | None:
    """When ``alert`` expires (on the engine's clock) and the rule setting it; None if it never
    does. What runs for it waits no later: an entry's wait for a narrower spread ends then."""
    rule = limit(config, alert)
    if rule is None or received_at is None:
        return None
    born = alert.timenow if alert.timenow is not None and alert.timenow < received_at else received_at
    return born + rule[0], f"{rule[1]}, {rule[0]:g} s"


def remaining(config: EngineConfig, alert: Alert, received_at: float | None, now: float) -> float | None:
    """Seconds from ``now`` until ``alert`` expires (0 or less: it has); None if it never does."""
    ends = deadline(config, alert, received_at)
    return None if ends is None else ends[0] - now


def check(config: EngineConfig, alert: Alert, received_at: float | None, now: float) -> dict[str, Any] | None:
    """The outcome to journal if ``alert``, received at ``received_at``, has expired by ``now``;
    None if it may run (or its receipt time is unknown)."""
    rule = limit(config, alert)
    if rule is None or received_at is None:
        return None
    fired = alert.timenow is not None and alert.timenow < received_at
    age = now - (alert.timenow if fired else received_at)
    if age <= rule[0]:
        return None
    when = (f"fired {_duration(age)} ago by TradingView's timenow (received {_duration(now - received_at)} ago)"
            if fired else f"received {_duration(age)} ago")
    return {"age_s": round(age, 3), "max_age_s": rule[0], "limit": rule[1],
            "reason": f"not executed: {when}, over {rule[1]} ({rule[0]:g} s)"}


def after(outcome: dict[str, Any], lost: str | None, orders: list[dict[str, Any]]) -> dict[str, Any]:
    """The outcome of an alert that expired (``check``'s), with what it waited for (``lost``),
    and the ``orders`` an earlier run of it sent, cut by a crash or a wait: they stand, and it
    says so rather than that it was not executed."""
    reason = outcome["reason"] if lost is None else f"{outcome['reason']}, {lost}"
    if not orders:
        return {**outcome, "reason": reason}
    sent = ", ".join(f"{o['client_id']}: {'done' if o['ok'] else 'unknown' if o.get('unknown') else 'refused'}"
                     for o in orders)
    return {**outcome, "orders": orders,
            "reason": f"nothing more executed: {reason.removeprefix('not executed: ')}; sent before: {sent}"}


def describe(alert_id: int, alert: Alert, outcome: dict[str, Any]) -> str:
    """The administrators' notification of an expired alert; for an exit, a stop change or a
    cancel, what it leaves as it was: the trader may be counting on it having run."""
    said = f"alert {alert_id} ({command_of(alert)}) expired: {outcome['reason']}"
    where = alert.symbol or "every symbol"
    if alert.action in (Action.CLOSE, Action.CLOSE_LONG, Action.CLOSE_SHORT, Action.CLOSE_ALL):
        return f"{said}. The positions it would have closed on {where} stay open: /close in Telegram closes them"
    if alert.action is Action.NEW_SLTP:
        return f"{said}. The stops on {where} stay as they were"
    if alert.action is not None and alert.action.is_cancel:
        return f"{said}. The pending orders it would have cancelled on {where} stay: /cancel in Telegram cancels them"
    return said


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 2 * 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
