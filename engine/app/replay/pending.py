"""Replay's pending orders: limit and stop orders checked as the paper broker checks them,
waiting for their price (``rules.pending_fill``, the paper broker's rule); ``Book`` opens the
positions they fill. At a quote or a bar's open an order fills at the better of its price and
the market's (a gap fills at the market); inside a bar at its price, which the market passed
through. An order given an expiry leaves at the first price at or after it, unfilled."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

from engine.adapters.brokers.paper.market import Market
from engine.adapters.brokers.paper.rules import pending_fill, price_of, stop_of
from engine.domain.instruments import SymbolSpec
from engine.domain.orders import Dropped, OrderRequest
from engine.domain.rules import check_stops


@dataclass
class PendingOrder:
    """A limit or stop order waiting for its price."""
    ticket: int
    symbol: str
    side: str
    type: str
    price: float
    volume: float
    sl: float | None
    tp: float | None
    placed_at: float
    plugin: str | None = None
    alert_id: int | None = None
    client_id: str | None = None
    expires: float | None = None
    comment: str | None = None


class Pending:
    def __init__(self, market: Market):
        self._market = market
        self._orders: list[PendingOrder] = []
        self.cancelled: set[int] = set()   # the tickets of the orders cancelled (the report names them so)

    def place(self, r: OrderRequest, at: float, ticket: Callable[[], int]) -> PendingOrder:
        """The order ``r``, checked as the paper broker checks one; raises Refused."""
        spec, side, price, volume, sl, tp = self._market.pending(r)
        o = PendingOrder(ticket(), spec.name, side, r.type, price, volume, sl, tp, at, r.plugin, r.alert_id,
                         r.client_id, at + r.expiry if r.expiry else None, r.comment)
        self._orders.append(o)
        return o

    def due(self, spec: SymbolSpec, bid: float, ask: float, inside: bool) -> list[tuple[PendingOrder, float]]:
        """The orders of ``spec`` this price fills, taken out, each with its fill price."""
        filled = []
        for o in [o for o in self._orders if o.symbol == spec.name]:
            fill = pending_fill(o.side, o.type, o.price, bid, ask)
            if fill is not None:
                self._orders.remove(o)
                filled.append((o, round(o.price if inside else fill, spec.digits)))
        return filled

    @property
    def expiring(self) -> bool:
        """Whether an order waits with an expiry."""
        return any(o.expires is not None for o in self._orders)

    def expire(self, at: float, symbol: str | None = None, horizon: Mapping[str, float] | None = None) -> list[Dropped]:
        """Takes out the orders (of ``symbol``) whose expiry came by ``at`` (or a symbol's earlier
        ``horizon``), a price or not, as the paper broker does: a Dropped "expired" each, the
        first to expire first."""
        horizon = horizon or {}
        gone = sorted((o for o in self._orders if (symbol is None or o.symbol == symbol) and o.expires is not None
                       and o.expires <= min(at, horizon.get(o.symbol, at))), key=lambda o: (o.expires, o.ticket))
        for o in gone:
            self._orders.remove(o)
        return [Dropped.expired(o.ticket, o.symbol, o.side, o.type, o.volume, o.price, o.placed_at, o.expires or at,
                                o.plugin, o.alert_id) for o in gone]

    def cancel(self, ticket: int) -> PendingOrder | None:
        """Takes out the order ``ticket``; None if no such order waits."""
        o = next((o for o in self._orders if o.ticket == ticket), None)
        if o is not None:
            self._orders.remove(o)
            self.cancelled.add(ticket)
        return o

    def modify(self, ticket: int, r: OrderRequest) -> PendingOrder | None:
        """A new price, sl or tp for the order ``ticket`` (0 removes a stop); None if no such
        order waits. Raises Refused."""
        o = next((o for o in self._orders if o.ticket == ticket), None)
        if o is None:
            return None
        spec = self._market.spec(o.symbol)
        price = o.price if r.price is None else price_of(spec, r.price)
        sl, tp = stop_of(spec, "sl", r.sl, keep=o.sl), stop_of(spec, "tp", r.tp, keep=o.tp)
        check_stops(o.side, price, sl, tp, "the order price", **spec.stops())
        self._market.check_pending(spec, o.side, o.type, price)
        o.price, o.sl, o.tp = price, sl, tp
        return o

    @property
    def waiting(self) -> list[PendingOrder]:
        """The orders waiting, by ticket."""
        return list(self._orders)

    def rows(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """The orders as ``PaperBroker.orders`` lists them, by ticket."""
        return [{"ticket": o.ticket, "symbol": o.symbol, "side": o.side, "type": o.type, "price": o.price,
                 "volume": o.volume, "sl": o.sl, "tp": o.tp, "plugin": o.plugin, "comment": o.comment,
                 "created_at": o.placed_at, "expires": o.expires}
                for o in self._orders if symbol is None or o.symbol == symbol]
