"""The default execution: the orders an accepted alert asks for, when no plugin handled it.

Client ids are named after what the order is for (``a42-engine-open``,
``a42-engine-close-EURUSD``, ``a42-engine-close-1007`` for a position closed by its ticket,
``a42-engine-sltp-1007``, ``a42-engine-cancel-1009`` for a pending order removed), not after a
counter, so replaying an alert after a crash asks for exactly the orders it asked for before,
whatever of them had already gone through. The plans the positions left cannot give again,
part of several positions closed and a ``closeall`` (the symbols it closed have none left), are
written ahead (``Plans``) and read back instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable, Protocol

from engine.domain.alerts import Action, Alert
from engine.adapters.brokers.base import Broker
from engine.domain.orders import OrderRequest, ours
from engine.domain.risk import lot_size, lots_of_units
from engine.domain.rules import down_to_step
from engine.domain.instruments import on_tick_grid, pip_size
from engine.core.run import alert_client_id

ENGINE = "engine"  # the name orders of the default execution go by


@dataclass
class Plan:
    requests: list[OrderRequest] = field(default_factory=list)
    note: str | None = None    # why there is nothing to do
    error: str | None = None   # why the alert cannot be executed


class Plans(Protocol):
    """Where a plan is written before its first order is sent (``storage/plans.py``)."""

    async def written(self, alert_id: int) -> list[OrderRequest] | None: ...

    async def write(self, alert_id: int, requests: list[OrderRequest]) -> None: ...


def _cid(alert_id: int, purpose: str) -> str:
    return f"a{alert_id}-{ENGINE}-{purpose}"


def entry_ids(alert_id: int, plugins: Iterable[str], most: int) -> list[tuple[str, str]]:
    """The client ids an entry of alert ``alert_id`` may have had, each with its plugin: the default
    execution's, and each of ``plugins``' first ``most`` orders. What a broker that lost a plugin's
    magic number (a restore) matches its orders' comments against (``Broker.entry_ids``)."""
    return [(ENGINE, _cid(alert_id, "open")),
            *((p, alert_client_id(alert_id, p, n)) for p in plugins if p != ENGINE for n in range(1, most + 1))]


async def reversal(alert: Alert, alert_id: int, broker: Broker) -> list[OrderRequest]:
    """The close of the positions the other way than a strategy's entry (its ``position`` says
    the strategy is now long or short: ``domain/alerts/strategy.py``), the exit half of a
    reversal. The decider places it even when the entry is refused or cannot be sized: the
    strategy has left that position either way."""
    if alert.position not in ("long", "short") or alert.action not in (Action.BUY, Action.SELL):
        return []
    other = "sell" if alert.action is Action.BUY else "buy"
    close = OrderRequest("close", _cid(alert_id, f"close-{alert.symbol}"), symbol=alert.symbol, side=other,
                         plugin=ENGINE, alert_id=alert_id, comment=alert.comment)
    if not [p for p in await _own(broker, alert.symbol) if p["side"] == other] and not await _ran(broker, close):
        return []
    return [close]


async def _own(broker: Broker, symbol: str | None = None) -> list[dict]:
    """Moonhook's own open positions (of ``symbol``): the only ones an alert acts on. Those the
    trader opened by hand are shown, never closed or changed (a close by ticket would take them)."""
    return [p for p in await broker.positions(symbol) if ours(p)]


async def _ran(broker: Broker, request: OrderRequest) -> bool:
    """Whether ``request`` was executed before a restart (its alert is processed again): it is
    placed again all the same, and the broker answers its first result, so the alert's outcome
    still shows what it did."""
    return await broker.first_result(request.client_id) is not None


async def still_to_close(broker: Broker, close: OrderRequest) -> bool:
    """Whether the close by symbol ``close`` (of one side, or both) has a position left to
    close in its turn at the desk, or ran before a restart (its first result is answered). A
    plugin's or an administrator's close of the symbol placed after the plan was made may have
    closed them: there is nothing to send then, and nothing failed."""
    return bool([p for p in await _own(broker, close.symbol) if close.side is None or p["side"] == close.side]) \
        or await _ran(broker, close)


async def plan(alert: Alert, alert_id: int, broker: Broker, default_volume: float | None,
               plans: Plans | None = None) -> Plan:
    """The orders ``alert`` asks for; a Plan with an error keeps the requests to place all the
    same (a reversal's close). ``plans`` keeps the plans that must be written ahead; without
    it (a trial, which never restarts) they are not."""
    action, symbol = alert.action, alert.symbol
    if action is None or action is Action.TREND:
        return Plan(note="no trading command")
    if action is Action.CLOSE_ALL:
        if plans is not None and (written := await plans.written(alert_id)) is not None:
            return Plan(written)  # processed again after a crash: the symbols it closed have no position left
        symbols = sorted({p["symbol"] for p in await _own(broker)})
        if not symbols:
            return Plan(note="no open position to close")
        closes = [OrderRequest("close", _cid(alert_id, f"close-{s}"), symbol=s, plugin=ENGINE, alert_id=alert_id,
                               comment=alert.comment) for s in symbols]
        if plans is not None:
            await plans.write(alert_id, closes)
        return Plan(closes)
    if action.is_cancel:
        return await _cancel(alert, alert_id, broker)
    assert symbol is not None  # the parser requires one for every other command
    if action in (Action.CLOSE, Action.CLOSE_LONG, Action.CLOSE_SHORT):
        side = {Action.CLOSE_LONG: "buy", Action.CLOSE_SHORT: "sell"}.get(action)
        # Not all of it, unless a strategy's order left it flat: then every position of that side, whatever its size
        sized = alert.volume is not None or alert.units is not None or alert.position == "flat"
        if not sized and (unread := alert.unread("size")):
            return Plan(error=f"{unread}={alert.extra[unread]!r} is not read as the size to close: give volume= (lots) "
                              "or units=, or neither to close the whole position")
        written = (await plans.written(alert_id)
                   if plans is not None and (alert.volume is not None or alert.units is not None) else None)
        if written is not None:  # processed again after a crash: the closes decided the first time
            return Plan(written)
        positions = [p for p in await _own(broker, symbol) if side is None or p["side"] == side]
        whole = OrderRequest("close", _cid(alert_id, f"close-{symbol}"), symbol=symbol, side=side, plugin=ENGINE,
                             alert_id=alert_id, comment=alert.comment)
        if not positions:
            if alert.volume is None and alert.units is None and await _ran(broker, whole):
                return Plan([whole])
            return Plan(note=f"no open {side + ' ' if side else ''}position on {symbol} to close")
        if alert.volume is None and alert.units is None:
            return Plan([whole])
        return await _close_part(alert, alert_id, positions, broker, whole, plans)

    spec = await broker.symbol(symbol)
    if spec is None:
        return Plan(error=await broker.unknown_symbol(symbol))

    if action is Action.NEW_SLTP:
        positions = await _own(broker, symbol)
        if not positions:
            return Plan(note=f"no open position on {symbol} to change")
        requests = []
        for p in positions:
            sl, tp = _stops(alert, spec, p["side"], p["price_open"])
            requests.append(OrderRequest("modify", _cid(alert_id, f"sltp-{p['ticket']}"), symbol=symbol,
                                         ticket=p["ticket"], sl=sl, tp=tp, plugin=ENGINE, alert_id=alert_id))
        return Plan(requests)

    side = action.side
    assert side is not None
    closes = await reversal(alert, alert_id, broker)
    opening = await _open(alert, alert_id, broker, default_volume, spec, side, closes)
    return replace(opening, requests=closes + opening.requests)


async def _balance_after(broker: Broker, closes: list[OrderRequest], spec: dict) -> float:
    """The balance once ``closes`` (a reversal's close, placed before the entry) are done: the
    balance now plus what the positions they close would book (profit and swap at the current
    price, less the closing deal's commission where the symbol's is known: half its round
    trip). An entry risking 1% of the balance is sized on what is left after its own close: on
    the balance before a losing close, it would risk more than 1% of what it lands on (and more
    than ``max_risk_pct``, which measures it after). Processed again after a restart with the
    close done, the positions are gone and the balance has booked them: the same figure."""
    balance = (await broker.account())["balance"]
    for close in closes:
        balance += sum(p["profit"] + (p.get("swap") or 0.0) - (spec.get("commission") or 0.0) / 2 * p["volume"]
                       for p in await _own(broker, close.symbol) if p["side"] == close.side)
    return balance


async def _cancel(alert: Alert, alert_id: int, broker: Broker) -> Plan:
    """The removal of moonhook's pending orders (of the symbol, of one side with cancellong or
    cancelshort, or all with cancelall), each by its ticket: a restart in between asks again
    only for those still there. Orders placed by hand in the terminal are left alone."""
    side = {Action.CANCEL_LONG: "buy", Action.CANCEL_SHORT: "sell"}.get(alert.action)  # type: ignore[arg-type]
    symbol = None if alert.action is Action.CANCEL_ALL else alert.symbol
    orders = [o for o in await broker.orders(symbol) if ours(o) and (side is None or o["side"] == side)]
    if not orders:
        kind = f"{side} " if side else ""
        return Plan(note=f"no pending {kind}order{f' on {symbol}' if symbol else ''} to cancel")
    # Each with its type: a removal only, never the close of a position the order's fill opened meanwhile.
    return Plan([OrderRequest("close", _cid(alert_id, f"cancel-{o['ticket']}"), symbol=o["symbol"], ticket=o["ticket"],
                              type=o["type"], plugin=ENGINE, alert_id=alert_id, comment=alert.comment) for o in orders])


async def _open(alert: Alert, alert_id: int, broker: Broker, default_volume: float | None, spec: dict,
                side: str, closes: list[OrderRequest]) -> Plan:
    action, symbol = alert.action, alert.symbol
    assert action is not None and symbol is not None
    entry, quote = alert.price, None
    risked = alert.risk is not None or alert.risk_amount is not None
    if entry is None or (risked and alert.volume is None and not action.is_pending):
        quote = await broker.price(symbol)
    if entry is None:
        if quote is None:
            return Plan(error=f"no price for {symbol}: the alert has none and the broker has no quote")
        entry = quote["ask"] if side == "buy" else quote["bid"]
    sl, tp = _stops(alert, spec, side, entry)
    for given, name, fields in ((sl, "sl", "sl= (a price) or sl_pips="), (tp, "tp", "tp= (a price) or tp_pips=")):
        if given is None and (unread := alert.unread(name)):  # sent as it came, the entry would have no stop
            return Plan(error=f"{unread}={alert.extra[unread]!r} is not read as the entry's {name}: give {fields}")
    if alert.volume is not None:
        volume = alert.volume
    elif risked:
        asked = f"{alert.risk}% risk" if alert.risk is not None else f"a risk of {alert.risk_amount:g}"
        if sl is None:  # named as an alert gives it (lot_size names risk.lot_size's sl_points)
            return Plan(error=f"cannot size {asked}: a stop (sl or sl_pips) is needed to size by risk")
        fill, problem = _fill_price(action, side, entry, quote, sl)
        if problem:
            return Plan(error=f"cannot size {asked}: {problem}")
        balance = await _balance_after(broker, closes, spec)
        sizing = lot_size(spec, balance=balance, price=fill, risk_pct=alert.risk, risk_amount=alert.risk_amount,
                          sl=sl)
        if not sizing.volume:
            return Plan(error=f"cannot size {asked}: {sizing.reason}")
        volume = sizing.volume
    elif alert.units is not None:
        sizing = lots_of_units(spec, alert.units)
        if not sizing.volume:
            return Plan(error=f"cannot size {alert.units:g} units: {sizing.reason}")
        volume = sizing.volume
    elif unread := alert.unread("size"):  # engine.default_volume in its place would be another size
        return Plan(error=f"no volume: {unread}={alert.extra[unread]!r} is not read as a size: give volume= (lots), "
                          "units= (TradingView's contracts), risk= or risk_amount=")
    elif default_volume is not None:
        volume = default_volume
    else:
        return Plan(error="no volume: give volume=, risk= or risk_amount= (with a stop) or units=, or set "
                          "engine.default_volume")
    if action.is_pending:
        kind, order_type = "pending", ("limit" if action in (Action.BUY_LIMIT, Action.SELL_LIMIT) else "stop")
    else:
        kind, order_type = "market", None
    return Plan([OrderRequest(kind, _cid(alert_id, "open"), symbol=symbol, side=side, volume=volume, price=alert.price,
                              type=order_type, sl=sl, tp=tp, comment=alert.comment, plugin=ENGINE,
                              alert_id=alert_id, expiry=alert.expiry)])


async def _close_part(alert: Alert, alert_id: int, positions: list[dict], broker: Broker,
                      whole: OrderRequest, plans: Plans | None) -> Plan:
    """Closes the alert's size (``volume``, or ``units``) of ``positions`` (one symbol; part
    of them only on one side), oldest first, as TradingView's strategies and FIFO accounts
    do: whole positions, then part of the next. Each is closed by its ticket, the client id
    named after it. When the size covers them all, they are closed ``whole``. With several
    positions, the plan is written ahead: once some are closed, what is left would plan more
    closes. The size is taken down to the symbol's step first, as the broker takes one order's
    (0.055 lots on a step of 0.01 close 0.05): split first, its last part, 0.005, was refused."""
    spec = await broker.symbol(whole.symbol)
    if spec is None:
        return Plan(error=await broker.unknown_symbol(whole.symbol))
    lots = alert.volume
    if lots is not None:   # under one step: left as asked, for the broker to refuse in its words
        lots = down_to_step(lots, spec["volume_step"]) or lots
    else:
        sizing = lots_of_units(spec, alert.units)
        if not sizing.volume:
            return Plan(error=f"cannot size {alert.units:g} units: {sizing.reason}")
        lots = sizing.volume
    if len(positions) > 1 and lots >= round(sum(p["volume"] for p in positions), 8) - 1e-9:
        return Plan([whole])
    if len({p["side"] for p in positions}) > 1:
        return Plan(error=f"cannot close {lots:g} lots of {whole.symbol}: it has positions both ways; "
                          "say which with closelong or closeshort")
    requests, left = [], lots
    for p in sorted(positions, key=lambda p: (p["opened_at"], p["ticket"])):
        if left <= 1e-9:
            break
        part = round(left, 8) if left < p["volume"] - 1e-9 else None
        requests.append(OrderRequest("close", _cid(alert_id, f"close-{p['ticket']}"), symbol=whole.symbol,
                                     ticket=p["ticket"], volume=part, plugin=ENGINE, alert_id=alert_id,
                                     comment=alert.comment))
        left = round(left - p["volume"], 8)
    if len(positions) > 1 and plans is not None:
        await plans.write(alert_id, requests)
    return Plan(requests)


def _fill_price(action: Action, side: str, entry: float, quote: dict | None,
                sl: float | None) -> tuple[float, str | None]:
    """The price a risk-sized entry fills at, which its stop's distance is measured from: a
    pending order's own price; a market order's, the broker's quote on its side (a buy fills
    at the ask) when it has one, else the alert's. TradingView's feed is not the broker's: a
    10-pip stop measured from the chart's price with the broker's ask 3 pips higher would risk
    1.3 times what was asked. Second: why it cannot be sized (the market already past the stop)."""
    if action.is_pending or quote is None:
        return entry, None
    fill = quote["ask"] if side == "buy" else quote["bid"]
    if sl is not None and (fill - sl) * (1 if side == "buy" else -1) <= 0:
        return fill, (f"the broker's {'ask' if side == 'buy' else 'bid'} {fill:g} is already at or "
                      f"{'below' if side == 'buy' else 'above'} the stop {sl:g}")
    return fill, None


def _stops(alert: Alert, spec: dict, side: str, entry: float) -> tuple[float | None, float | None]:
    """SL and TP as prices: given as prices, or as distances in pips from ``entry``; on the
    symbol's tick grid, where the broker puts them, before the volume is sized on the stop (a
    stop moved 0.12 further on an index quoted in quarters would lose more than asked)."""
    sign = 1 if side == "buy" else -1
    pip = pip_size(spec)
    sl = alert.sl if alert.sl is not None else (
        entry - sign * alert.sl_pips * pip if alert.sl_pips is not None else None)
    tp = alert.tp if alert.tp is not None else (
        entry + sign * alert.tp_pips * pip if alert.tp_pips is not None else None)
    return on_tick_grid(sl, spec), on_tick_grid(tp, spec)
