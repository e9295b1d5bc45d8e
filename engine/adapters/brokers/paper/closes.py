"""A close request to the paper broker, checked and booked inside the request's transaction: by
ticket, a position closed whole or in part (never below the symbol's minimum left open) or a
pending order removed; by symbol, every position of it (of one side, if given) at the market.
What cannot be done raises ``Refused``, and the caller rolls the request back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from engine.adapters.brokers.paper.books import Books
from engine.adapters.brokers.paper.market import Market
from engine.adapters.brokers.paper.rules import lots, row_of, volume_of
from engine.adapters.storage.database import select
from engine.domain.orders import Event, OrderRequest, OrderResult
from engine.domain.rules import Refused, close_by_symbol, filled_meanwhile, side_of, ticket_of


def close(db: Any, market: Market, books: Books, r: OrderRequest, now: float, events: list[Event]) -> OrderResult:
    """Closes what ``r`` names at ``now``, the deals' events added to ``events``; raises Refused."""
    meta = {"plugin": r.plugin, "client_id": r.client_id, "alert_id": r.alert_id, "comment": r.comment}
    if r.ticket is None:
        return _by_symbol(db, market, books, r, meta, now, events)
    ticket = ticket_of(r.ticket)
    p = row_of(db, "SELECT * FROM paper_positions WHERE ticket = ?", ticket)
    if p is not None and r.type is not None:   # a removal: the order's fill opened this since
        raise filled_meanwhile(ticket)
    if p is None:
        o = row_of(db, "SELECT * FROM paper_orders WHERE ticket = ? AND state = 'placed'", ticket)
        if o is None:
            raise Refused(f"ticket: no open position or pending order {ticket}")
        db.execute("UPDATE paper_orders SET state = 'cancelled', done_at = ? WHERE ticket = ?", [now, ticket])
        return OrderResult(True, ticket, o["price"], o["volume"])
    spec = market.spec(p["symbol"])
    volume = p["volume"] if r.volume is None else volume_of(spec, r.volume)
    left = lots(p["volume"]) - lots(volume)
    if left < 0:
        raise Refused(f"volume {volume}: position {ticket} has only {p['volume']} lots")
    if 0 < left < lots(spec.volume_min):
        raise Refused(f"volume {volume}: would leave {float(left)} lots of position {ticket}, "
                      f"below {spec.name}'s minimum {spec.volume_min}")
    bid, ask = market.at_market(spec, r.price)
    price = bid if p["side"] == "buy" else ask
    events += books.close_position(db, spec, p, volume, price, "close", meta, now)
    return OrderResult(True, ticket, price, volume, closed=[ticket] if left == 0 else [])


def _by_symbol(db: Any, market: Market, books: Books, r: OrderRequest, meta: dict[str, Any], now: float,
               events: list[Event]) -> OrderResult:
    close_by_symbol(r.symbol, r.volume)
    spec = market.spec(r.symbol)
    side = side_of(r.side) if r.side is not None else None
    positions = [p for p in select(db, "SELECT * FROM paper_positions WHERE symbol = ? ORDER BY ticket", [spec.name])
                 if side is None or p["side"] == side]
    if not positions:
        raise Refused(f"no open {side + ' ' if side else ''}position on {spec.name}")
    bid, ask = market.at_market(spec, r.price)
    prices, total = set(), Decimal(0)
    for p in positions:
        price = bid if p["side"] == "buy" else ask
        events += books.close_position(db, spec, p, p["volume"], price, "close", meta, now)
        prices.add(price)
        total += lots(p["volume"])
    return OrderResult(True, None, prices.pop() if len(prices) == 1 else None, float(total),
                       closed=[p["ticket"] for p in positions])
