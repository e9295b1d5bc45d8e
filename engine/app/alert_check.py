"""What an alert would do now, without doing it: ``moonhook send --dry-run`` and ``POST
/api/alerts/check``.

A trader pastes the message a TradingView alert will send and sees how moonhook reads it (its
fields, the broker's symbol), the orders the default execution would place for it at this
moment (sized from the account and the broker's price, their volume as the broker takes it),
and what would refuse one: the account's hard limits, then the broker itself (MetaTrader's
``order_check``: the margin, the stops level, a closed market; a stop change, the rules its
change meets first). Nothing is journaled and
nothing reaches the broker but reads and that check. The plugins that would see it are named,
not run: a hook may place orders or remember things.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, Sequence

from engine.adapters.brokers.base import Broker, Seen
from engine.core import Engine, execution
from engine.domain.alerts import Action, Alert
from engine.domain.orders import OrderRequest
from engine.domain.rules import Refused, volume_on_step

PLUGINS_NOT_RUN = "not run by a check: their on_alert and on_order may change or refuse what is shown"


class _AsSeen:
    """The engine's broker, read only, quoting the alert's price as the broker would take it
    (the paper broker trades on it) without recording it."""

    def __init__(self, broker: Broker, alert: Alert):
        self._broker, self._alert = broker, alert

    def __getattr__(self, name: str) -> Any:
        if name in ("execute", "quote"):
            raise AttributeError(f"a check does not {name}")
        return getattr(self._broker, name)

    def _carries(self, symbol: str | None) -> bool:
        """Whether the alert carries ``symbol``'s market price, which the engine quotes first."""
        return self._alert.market_price is not None and symbol == self._alert.symbol

    async def price(self, symbol: str) -> dict[str, Any] | None:
        if self._carries(symbol):
            seen = self._broker.quote_of(symbol, self._alert.market_price, self._alert.timenow)
            if seen is not None:
                return seen
        return await self._broker.price(symbol)

    async def symbol(self, symbol: str) -> dict[str, Any] | None:
        """The symbol as the alert's price makes it where the broker trades on it: on paper, a pair
        whose rate is its own price (USDJPY on a USD account) is sized from the alert's."""
        return await self._broker.symbol_seen(symbol, self._seen())

    async def check(self, request: OrderRequest, before: Sequence[OrderRequest] = ()) -> str | None:
        """The broker's check, measured from the alert's price where the broker would trade on it
        (on paper, as after the engine quotes the alert)."""
        return await self._broker.check(request, before, self._seen())

    def _seen(self) -> Seen | None:
        alert = self._alert
        return None if alert.market_price is None else (alert.symbol, alert.market_price, alert.timenow)


async def check_alert(engine: Engine, alert: Alert) -> dict[str, Any]:
    """``{"alert": the fields as the plugins would see them, "plugins": the names of those that
    would see it, in order, "plugins_note", "orders": each order the default execution would
    place (``refused``: the limit's reason, or None), "note", "error", "paused"}``. Raises what
    the broker raises when it cannot be asked."""
    out: dict[str, Any] = {
        "alert": alert.to_plain(), "plugins": [p.name for p in engine.plugins.concerned(alert.symbol, "on_alert")],
        "plugins_note": PLUGINS_NOT_RUN, "orders": [], "note": None, "error": None, "paused": engine.paused}
    if alert.action is None or alert.action is Action.TREND:
        out["note"] = "no trading command" if alert.action is None else "a trend state: recorded, nothing traded"
        return out
    if not engine.config.execute_alerts:
        out["note"] = "not executed: engine.execute_alerts is off"
        return out
    broker: Any = _AsSeen(engine.broker, alert)
    plan = await execution.plan(alert, 0, broker, engine.config.default_volume)
    for n, request in enumerate(plan.requests):
        refused = await engine.limits.breach(request, broker, asked=True) if engine.limits.apply_to(request) else None
        if refused is None:
            request = await _as_taken(broker, request)
            refused = await broker.check(request, plan.requests[:n])
        plain = request.to_plain()
        for key in ("client_id", "alert_id", "plugin"):
            plain.pop(key, None)
        out["orders"].append({**plain, "refused": refused})
    out["note"], out["error"] = plan.note, plan.error
    return out


async def _as_taken(broker: Broker, request: OrderRequest) -> OrderRequest:
    """``request`` with its volume as the broker takes it (rounded down to the symbol's step):
    what a check shows is what would be sent. A volume off the symbol's bounds is left as it
    is, for the broker's check to refuse."""
    spec = await broker.symbol(request.symbol) if request.volume is not None and request.symbol else None
    try:
        return request if spec is None else replace(request, volume=volume_on_step(
            request.volume, request.symbol, spec["volume_step"], spec["volume_min"], spec["volume_max"]))
    except Refused:
        return request
