"""The default execution: the orders an accepted alert asks for, when no plugin handled it.

Client ids are named after what the order is for (``a42-engine-open``,
``a42-engine-close-EURUSD``, ``a42-engine-sltp-1007``), not after a counter, so replaying an
alert after a crash asks for exactly the orders it asked for before, whatever of them had
already gone through.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.domain.alerts import Action, Alert
from engine.adapters.brokers.base import Broker
from engine.domain.orders import OrderRequest
from engine.domain.risk import lot_size, lots_of_units

ENGINE = "engine"  # the name orders of the default execution go by


@dataclass
class Plan:
    requests: list[OrderRequest] = field(default_factory=list)
    note: str | None = None    # why there is nothing to do
    error: str | None = None   # why the alert cannot be executed


def pip_size(spec: dict) -> float:
    """A pip: ten points on 5- and 3-digit quotes (FX), else one point."""
    return spec["point"] * (10 if spec["digits"] in (3, 5) else 1)


async def plan(alert: Alert, alert_id: int, broker: Broker, default_volume: float | None) -> Plan:
    def cid(purpose: str) -> str:
        return f"a{alert_id}-{ENGINE}-{purpose}"

    action, symbol = alert.action, alert.symbol
    if action is None or action is Action.TREND:
        return Plan(note="no trading command")
    if action is Action.CLOSE_ALL:
        symbols = sorted({p["symbol"] for p in await broker.positions()})
        if not symbols:
            return Plan(note="no open position to close")
        return Plan([OrderRequest("close", cid(f"close-{s}"), symbol=s, plugin=ENGINE, alert_id=alert_id,
                                  comment=alert.comment) for s in symbols])
    assert symbol is not None  # the parser requires one for every other command
    if action in (Action.CLOSE, Action.CLOSE_LONG, Action.CLOSE_SHORT):
        side = {Action.CLOSE_LONG: "buy", Action.CLOSE_SHORT: "sell"}.get(action)
        if not [p for p in await broker.positions(symbol) if side is None or p["side"] == side]:
            return Plan(note=f"no open {side + ' ' if side else ''}position on {symbol} to close")
        return Plan([OrderRequest("close", cid(f"close-{symbol}"), symbol=symbol, side=side, plugin=ENGINE,
                                  alert_id=alert_id, comment=alert.comment)])

    spec = await broker.symbol(symbol)
    if spec is None:
        return Plan(error=f"unknown symbol {symbol} at the broker")

    if action is Action.NEW_SLTP:
        positions = await broker.positions(symbol)
        if not positions:
            return Plan(note=f"no open position on {symbol} to change")
        requests = []
        for p in positions:
            sl, tp = _stops(alert, spec, p["side"], p["price_open"])
            requests.append(OrderRequest("modify", cid(f"sltp-{p['ticket']}"), symbol=symbol, ticket=p["ticket"],
                                         sl=sl, tp=tp, plugin=ENGINE, alert_id=alert_id))
        return Plan(requests)

    side = action.side
    assert side is not None
    entry = alert.price
    if entry is None:
        quote = await broker.price(symbol)
        if quote is None:
            return Plan(error=f"no price for {symbol}: the alert has none and the broker has no quote")
        entry = quote["ask"] if side == "buy" else quote["bid"]
    sl, tp = _stops(alert, spec, side, entry)
    if alert.volume is not None:
        volume = alert.volume
    elif alert.risk is not None:
        balance = (await broker.account())["balance"]
        sizing = lot_size(spec, balance=balance, price=entry, risk_pct=alert.risk, sl=sl)
        if not sizing.volume:
            return Plan(error=f"cannot size {alert.risk}% risk: {sizing.reason}")
        volume = sizing.volume
    elif alert.units is not None:
        sizing = lots_of_units(spec, alert.units)
        if not sizing.volume:
            return Plan(error=f"cannot size {alert.units:g} units: {sizing.reason}")
        volume = sizing.volume
    elif default_volume is not None:
        volume = default_volume
    else:
        return Plan(error="no volume: give volume=, risk= (with a stop) or units=, or set engine.default_volume")
    if action.is_pending:
        kind, order_type = "pending", ("limit" if action in (Action.BUY_LIMIT, Action.SELL_LIMIT) else "stop")
    else:
        kind, order_type = "market", None
    return Plan([OrderRequest(kind, cid("open"), symbol=symbol, side=side, volume=volume, price=alert.price,
                              type=order_type, sl=sl, tp=tp, comment=alert.comment, plugin=ENGINE,
                              alert_id=alert_id)])


def _stops(alert: Alert, spec: dict, side: str, entry: float) -> tuple[float | None, float | None]:
    """SL and TP as prices: given as prices, or as distances in pips from ``entry``."""
    sign = 1 if side == "buy" else -1
    pip, digits = pip_size(spec), spec["digits"]
    sl = alert.sl if alert.sl is not None else (
        round(entry - sign * alert.sl_pips * pip, digits) if alert.sl_pips is not None else None)
    tp = alert.tp if alert.tp is not None else (
        round(entry + sign * alert.tp_pips * pip, digits) if alert.tp_pips is not None else None)
    return sl, tp
