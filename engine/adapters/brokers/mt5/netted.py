"""A position's deals as lives: on a netting account one deal (DEAL_ENTRY_INOUT) closes the
symbol's position and opens the other way, and the new position keeps the old one's identifier
(its deals' ``position_id``) under the reversing order's ticket. moonhook sends no such deal
(``netting.py``), but one of its pending orders filling against a position opened by hand
makes one: its fill is then told as what it did, the position it closed and the one it opened.

On a hedging account a position has one life: its deals, IN first, OUT after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.rows import deal_cost


@dataclass(frozen=True)
class Life:
    """One life of a position, up to a deal that closes it: how it was opened and what its
    closing deals add up to (an INOUT's parts counted where they belong)."""

    ticket: int | None    # the order that opened it by reversing another (its ticket), None: the position id
    side: str | None      # its opening deal's, None if the history has none
    price_open: float | None
    volume: float         # closed
    profit: float
    commission: float     # every deal of it, its share of an INOUT
    swap: float


def ordered(deals: Any) -> list[dict[str, Any]]:
    return sorted(deals, key=lambda d: (d.get("time_msc") or d["time"] * 1000, d["ticket"]))


def split(deals: Any, deal: dict[str, Any]) -> tuple[float, float]:
    """The lots the INOUT ``deal`` closed and those it opened: the position before it held
    the sum of its deals before it, buys counted up and sells down."""
    before = 0.0
    for d in ordered(deals):
        if d["ticket"] == deal["ticket"]:
            break
        before += d["volume"] if c.DEAL_SIDES.get(d["type"]) == "buy" else -d["volume"]
    closed = min(round(abs(before), 8), deal["volume"])
    return closed, round(deal["volume"] - closed, 8)


def life(deals: Any, deal: dict[str, Any]) -> Life:
    """The life of its position that ``deal`` closes: its deals from the last INOUT before it
    (which opened it) or the first, to ``deal``."""
    upto = []
    for d in ordered(deals):
        upto.append(d)
        if d["ticket"] == deal["ticket"]:
            break
    else:
        upto.append(deal)   # a history not yet showing it
    last = upto[-1]
    mine = upto[max((i for i, d in enumerate(upto[:-1]) if d["entry"] == c.DEAL_ENTRY_INOUT), default=0):]
    opened_by = mine[0]["entry"] == c.DEAL_ENTRY_IN or (mine[0]["entry"] == c.DEAL_ENTRY_INOUT and mine[0] is not last)
    first = mine[0] if opened_by else None
    volume = profit = commission = swap = 0.0
    for d in mine:
        reversal = d["entry"] == c.DEAL_ENTRY_INOUT
        part = _part(deals, d, d is last) if reversal else 1.0
        commission += deal_cost(d) * part
        if reversal and d is not last:
            continue   # it opened this life: its swap and profit were the last one's
        swap += float(d.get("swap") or 0.0)
        if d["entry"] != c.DEAL_ENTRY_IN:
            volume += d["volume"] * part
            profit += float(d.get("profit") or 0.0)
    reversed_ = first is not None and first["entry"] == c.DEAL_ENTRY_INOUT
    return Life(first["order"] if reversed_ else None, c.DEAL_SIDES.get(first["type"], "buy") if first else None,
                first["price"] if first else None, round(volume, 8), round(profit, 2) + 0.0,
                round(commission, 2) + 0.0, round(swap, 2) + 0.0)


def _part(deals: Any, deal: dict[str, Any], closing: bool) -> float:
    """The share of the INOUT ``deal`` that closed the position (``closing``), or that opened the next."""
    closed, opened = split(deals, deal)
    return (closed if closing else opened) / deal["volume"]


def position_of(positions: Any, identifier: int) -> list[dict[str, Any]]:
    """The open position of ``identifier`` among ``positions`` (a netting account's, whose ticket a
    reversal changed), as a list like ``positions_get(ticket=)``."""
    return [p for p in positions or () if p.get("identifier") == identifier][:1]
