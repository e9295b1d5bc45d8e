"""A position's deals as lives: on a netting account one deal (DEAL_ENTRY_INOUT) closes the
symbol's position and opens the other way, and the new position keeps the old one's identifier
(its deals' ``position_id``) under the reversing order's ticket. moonhook sends no such deal
(``netting.py``), but one of its pending orders filling against a position opened by hand
makes one. Read as the two deals it stands for (``rows.relived``), each life is a position of
its own, as the engine counts them: its fill is told as what it did, the position it closed and
the one it opened.

On a hedging account a position has one life, and its deals pass as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.rows import deal_cost, deal_order, relived


@dataclass(frozen=True)
class Life:
    """One life of a position, up to a deal that closes it: its ticket, how it was opened, and
    what its deals add up to."""

    ticket: int
    side: str | None      # its opening deal's, None if the history has none
    price_open: float | None  # its opening deals' average (a netting account's buy on a long adds to it)
    volume: float         # closed
    profit: float
    commission: float     # every deal of it, with its share of a reversal's
    swap: float


def ordered(deals: Any) -> list[dict[str, Any]]:
    return sorted(deals, key=deal_order)


def parts(deals: Any, deal: dict[str, Any]) -> list[dict[str, Any]]:
    """The deals ``deal`` stands for, read among its position's ``deals``: itself, or a reversal's
    OUT and IN; and before them, the deals of the life it closes (or adds to)."""
    upto = []
    for d in ordered(deals):
        if d["ticket"] == deal["ticket"]:
            break
        upto.append(d)
    rows = relived([*upto, deal])
    mine = [r for r in rows if r["ticket"] == deal["ticket"]]
    key = mine[0]["position_id"]
    return [r for r in rows if r["position_id"] == key and r["ticket"] != deal["ticket"]] + mine


def life(deals: Any, deal: dict[str, Any]) -> Life:
    """The life of its position that ``deal`` closes: its deals from its opening (or the
    reversal that opened it) to ``deal`` (a reversal's OUT)."""
    rows = parts(deals, deal)
    rows = rows[:-1] if deal["entry"] == c.DEAL_ENTRY_INOUT else rows   # a reversal's IN opens the next
    ins = [r for r in rows if r["entry"] == c.DEAL_ENTRY_IN]
    outs = [r for r in rows if r["entry"] != c.DEAL_ENTRY_IN]
    volume_in = sum(r["volume"] for r in ins)
    return Life(rows[-1]["position_id"], c.DEAL_SIDES.get(ins[0]["type"], "buy") if ins else None,
                round(sum(r["price"] * r["volume"] for r in ins) / volume_in, 8) if volume_in else None,
                round(sum(r["volume"] for r in outs), 8),
                round(sum(float(r.get("profit") or 0.0) for r in outs), 2) + 0.0,
                round(sum(deal_cost(r) for r in rows), 2) + 0.0,
                round(sum(float(r.get("swap") or 0.0) for r in rows), 2) + 0.0)


def position_of(positions: Any, identifier: int) -> list[dict[str, Any]]:
    """The open position of ``identifier`` among ``positions`` (a netting account's, whose ticket a
    reversal changed), as a list like ``positions_get(ticket=)``."""
    return [p for p in positions or () if p.get("identifier") == identifier][:1]
