"""An entry on a netting account (``margin_mode`` netting or exchange), refused before it is
sent while its symbol holds a position or a pending order.

On such an account a symbol holds one position, and MetaTrader nets every deal on it into that
one: a buy on a long is added to it (the whole position taking the buy's stop and target), a
sell reduces or closes it, a larger one reverses it in one deal. moonhook's entries each open a
position of their own: sent there, an entry would be booked as a position that does not exist
(a close of its ticket finds nothing), a "sell" would close or reverse the trader's long instead
of opening a short of its own, and another entry's stop would be moved. A pending order resting
on the symbol nets the same way when it fills. So an entry goes only onto
a symbol that is flat, with nothing pending: then it is a position of its own, and closes, stop
changes and removals by ticket or by symbol are right. A reversal (a close, then the entry) is
right too: its close goes first.
"""

from __future__ import annotations

from typing import Any, Protocol, Sequence

from engine.adapters.brokers.mt5 import constants as c
from engine.domain.orders import OrderRequest
from engine.domain.rules import Refused, side_of

WHY = ("and the account nets positions (one position a symbol), so this {entry} would not open a position of its "
       "own: {what}. {remedy}, or trade on a hedging account (docs/metatrader5.md)")


class Account(Protocol):
    """What the check needs of the broker (MT5Broker is one)."""

    warnings: tuple[str, ...]

    async def positions(self, symbol: str | None = None) -> list[dict[str, Any]]: ...

    async def orders(self, symbol: str | None = None) -> list[dict[str, Any]]: ...

    async def in_doubt(self) -> list[dict[str, Any]]: ...


async def check_entry(account: Account, r: OrderRequest, before: Sequence[OrderRequest] = ()) -> None:
    """Raises Refused for the entry ``r`` on a netting account whose symbol holds a position or a
    pending order (anyone's: the trader's own nets with it as well), or another entry whose answer
    was lost (``Broker.in_doubt``), saying which and why. A dry
    run gives the orders ``before`` it, not sent: a position one of them closes whole (a
    reversal's close) is taken as closed."""
    if c.NETTING not in account.warnings:
        return
    entry = f"{side_of(r.side)} {r.type}" if r.kind == "pending" else side_of(r.side)
    for p in await account.positions(r.symbol):
        if any(_closes(b, p) for b in before):
            continue
        what = ("it would be added to that position, which would take its stop and target" if p["side"] == r.side
                else "it would reduce, close or reverse that position")
        raise Refused(f"{r.symbol} holds position {p['ticket']} ({p['side']} {p['volume']:g}, {_owner(p)}) "
                      + WHY.format(entry=entry, what=what, remedy="Close it first"))
    for o in await account.orders(r.symbol):
        raise Refused(f"{r.symbol} has pending order {o['ticket']} ({o['side']} {o['type']} {o['volume']:g}, "
                      f"{_owner(o)}) " + WHY.format(entry=entry, what="that order's fill would be netted with it",
                                                    remedy="Cancel it first"))
    for d in await account.in_doubt():   # its answer lost: it may still arrive, and net
        if d["symbol"] == r.symbol and d["client_id"] != r.client_id:
            raise Refused(f"{r.symbol} has an entry whose answer was lost ({d['side']} {d['volume']:g}, not known: it "
                          "may still arrive) " + WHY.format(entry=entry, what="its arrival would be netted with it",
                                                            remedy="Wait until it is found (an hour at most)"))


def _closes(b: OrderRequest, p: dict[str, Any]) -> bool:
    """Whether ``b`` closes position ``p`` whole: by its ticket, or by its symbol (and side),
    which closes moonhook's positions only."""
    if b.kind != "close" or b.volume is not None:
        return False
    if b.ticket is not None:
        return b.ticket == p["ticket"]
    return b.symbol == p["symbol"] and b.side in (None, p["side"]) and not p["external"]


def _owner(row: dict[str, Any]) -> str:
    return f"plugin {row['plugin']}" if row.get("plugin") else "placed outside moonhook"
