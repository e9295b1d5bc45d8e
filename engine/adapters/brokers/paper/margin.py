"""The paper account's figures (balance, equity, margin), worked out once for the paper broker
and replay's book: a symbol's margin on a hedging account as MetaTrader 5 charges it.

A symbol's buys and sells are its two legs, each its volume and its volume-weighted open price.
The volume one leg covers of the other (the smaller leg's) is charged ``[paper] hedged_margin``
of the contract (MetaTrader 5's ``SYMBOL_MARGIN_HEDGED``, in contract units: 50,000 of a forex
pair's 100,000 is 0.5) at the weighted open price of both legs; what the larger leg has beyond
it is charged in full at that leg's weighted open price. 1 charges a hedge as its larger leg
alone, 0 charges none for it.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

Leg = tuple[float, float]   # a leg's volume, and its volume x open price
NO_LEG: Leg = (0.0, 0.0)


def charged(legs: Mapping[str, Leg], hedged: float) -> float:
    """The lots x open price a symbol's margin is charged on, for ``legs`` ({"buy": Leg, "sell": Leg})."""
    (bought, bought_at), (sold, sold_at) = legs.get("buy", NO_LEG), legs.get("sell", NO_LEG)
    covered = min(bought, sold)
    larger, larger_at = (bought, bought_at) if bought >= sold else (sold, sold_at)
    uncovered = (larger - covered) * larger_at / larger if larger > covered else 0.0
    hedge = covered * hedged * (bought_at + sold_at) / (bought + sold) if covered > 0 else 0.0
    return uncovered + hedge


def with_entry(legs: Mapping[str, Leg], side: str, volume: float, price: float) -> dict[str, Leg]:
    """``legs`` with a new position of ``volume`` lots opened on ``side`` at ``price``."""
    held = legs.get(side, NO_LEG)
    return {**legs, side: (held[0] + volume, held[1] + volume * price)}


def exposure(positions: Iterable[Any]) -> dict[tuple[str, str], Leg]:
    """Each (symbol, side)'s leg of ``positions`` (objects with symbol, side, volume and price_open)."""
    legs: dict[tuple[str, str], Leg] = {}
    for p in positions:
        volume, weighted = legs.get((p.symbol, p.side), NO_LEG)
        legs[p.symbol, p.side] = (volume + p.volume, weighted + p.volume * p.price_open)
    return legs


def figures(market: Any, table: Mapping[str, Any], balance: float, exposure: Iterable[tuple[str, str, float, float]],
            currency: str) -> dict[str, Any]:
    """The account as ``account()`` answers it, from the open positions' ``exposure``: each
    symbol and side once, as (symbol, side, volume, volume x open price). Floating profit is
    each side's at its weighted open price (profit is linear in it); a symbol without a rate to
    convert with is left out of the margin."""
    floating = margin = 0.0
    by_symbol: dict[str, dict[str, Leg]] = {}
    for symbol, side, volume, weighted in exposure:
        spec = table.get(symbol)
        if spec is None:
            continue
        floating += market.floating(spec, {"side": side, "volume": volume, "price_open": weighted / volume})
        by_symbol.setdefault(symbol, {})[side] = (volume, weighted)
    for symbol, legs in by_symbol.items():
        margin += market.margin(table[symbol], legs) or 0.0
    equity = balance + floating
    return {"balance": round(balance, 2), "equity": round(equity, 2), "margin": round(margin, 2),
            "margin_free": round(equity - margin, 2), "currency": currency}
