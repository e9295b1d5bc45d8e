"""The paper market's rules as pure functions: a price, stop or volume as a symbol takes it;
when pending orders and stops trigger and at what price, what a move is worth; and the same
trigger rules as the queries that find the rows a quote crosses. The checks every broker
makes are in ``engine/domain/rules.py``."""

from __future__ import annotations

import math
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from engine.adapters.storage.database import select
from engine.domain.rules import is_number, positive_price, volume_on_step
from engine.domain.instruments import SymbolSpec

WIDE = Context(prec=400)   # digits enough for any float to the cent: 1e308 has 309 before the point


def waits_below(side: str, type_: str) -> bool:
    """A buy limit and a sell stop wait below the market, a buy stop and a sell limit above."""
    return (side == "buy") == (type_ == "limit")


def pending_fill(side: str, type_: str, price: float, bid: float, ask: float) -> float | None:
    """Where a pending order fills on this quote (a buy's ask, a sell's bid), or None: a limit
    at its price or better, a stop at its price or worse."""
    current = ask if side == "buy" else bid
    if waits_below(side, type_):
        return min(price, current) if current <= price else None
    return max(price, current) if current >= price else None


def stop_hit(p: dict[str, Any], bid: float, ask: float) -> tuple[str, float] | None:
    """("sl" | "tp", close price) when this quote crosses a stop; the stop loss first."""
    sl, tp = p["sl"], p["tp"]
    if p["side"] == "buy":
        if sl is not None and bid <= sl:
            return "sl", min(sl, bid)
        if tp is not None and bid >= tp:
            return "tp", tp
    else:
        if sl is not None and ask >= sl:
            return "sl", max(sl, ask)
        if tp is not None and ask <= tp:
            return "tp", tp
    return None


def profit_of(spec: SymbolSpec, tick_value: float, p: dict[str, Any], close: float, volume: float) -> float:
    direction = 1 if p["side"] == "buy" else -1
    return cents((close - p["price_open"]) * direction / spec.tick_size * tick_value * volume)


def cents(amount: float) -> float:
    """Money booked to the cent, a half cent away from zero whatever the float's noise (to 9
    places first): 3.5 x 0.03 lots, 0.10499999999999998 as a float, is 0.11, as 0.175 is 0.18.
    Total on every float: a finite one is quantized in a context wide enough for 1e308 (the
    default's 28 digits raised InvalidOperation past 1e26); inf and nan are as they are."""
    if not math.isfinite(amount):
        return amount
    exact = Decimal(repr(round(amount, 9)))
    return float(exact.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=WIDE)) + 0.0


def lots(volume: float) -> Decimal:
    return Decimal(repr(volume))


def price_of(spec: SymbolSpec, value: Any, name: str = "price") -> float:
    """``value`` to the symbol's digits; raises Refused for one that is not a positive price there."""
    return positive_price(name, value, lambda v: round(v, spec.digits), spec.name)


def stop_of(spec: SymbolSpec, name: str, value: Any, keep: float | None = None) -> float | None:
    """A stop as given: None keeps ``keep``, 0 means none."""
    if value is None or (is_number(value) and value == 0):
        return keep if value is None else None
    return price_of(spec, value, name)


def volume_of(spec: SymbolSpec, value: Any) -> float:
    """``value`` lots as the symbol takes them, as MetaTrader 5's broker does (``volume_on_step``)."""
    return volume_on_step(value, spec.name, spec.volume_step, spec.volume_min, spec.volume_max)


# What a quote crosses (?1 the symbol, ?2 and ?3 the prices its buys and its sells trigger
# at): one index range search per side and level, however many positions are open. Orders
# fill oldest first (by ticket), as replay's book fills them: which of two gets the margin left
# must not depend on the index.
PENDING_CROSSED = " UNION ALL ".join(
    f"SELECT * FROM paper_orders WHERE symbol = ?1 AND state = 'placed' AND side = '{side}' "
    f"AND type = '{kind}' AND price {op} ?{arg}"
    for side, kind, op, arg in (("buy", "limit", ">=", 2), ("buy", "stop", "<=", 2),
                                ("sell", "limit", "<=", 3), ("sell", "stop", ">=", 3))) + " ORDER BY ticket"
STOPS_CROSSED = " UNION ALL ".join(
    f"SELECT * FROM paper_positions WHERE symbol = ?1 AND side = '{side}' AND {level} {op} ?{arg}"
    for side, level, op, arg in (("buy", "sl", ">=", 2), ("buy", "tp", "<=", 2),
                                 ("sell", "sl", "<=", 3), ("sell", "tp", ">=", 3)))


def crossed(db: Any, sql: str, args: list[Any]) -> list[dict[str, Any]]:
    """The rows of ``sql`` by ticket, each once (a row crossed at both levels is one row)."""
    return sorted({r["ticket"]: r for r in select(db, sql, args)}.values(), key=lambda r: r["ticket"])


def row_of(db: Any, sql: str, ticket: int) -> dict[str, Any] | None:
    """The row of ``sql`` for ``ticket``, or None."""
    rows = select(db, sql, [ticket])
    return rows[0] if rows else None
