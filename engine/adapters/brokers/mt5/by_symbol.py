"""A close by symbol's answer, folded from its parts' (one a position, ``MT5Broker._close``).

A trader who closes a symbol asks that nothing of it be left open. A position its sl or tp (a
stop-out, a close by hand) closed between the look at the positions and its close's send is
closed, not by this close: its part, refused by the trade server (10036, the position is closed),
is met all the same, said in the answer's ``note`` (and told in the trades chat by that deal's own
close), never a failure with "What it did not close stays open". The paper broker, whose look and
closes are one step, answers the same: done, closing the positions left. A part whose answer was lost,
found by the poll closed before it so (``late.py``), is met the same in the request's record
(``Book.executed_result``).
"""

from __future__ import annotations

from typing import Any

from engine.adapters.brokers.mt5.lost import LostAnswers
from engine.adapters.brokers.mt5.orders import tag_for
from engine.domain.orders import OrderRequest, OrderResult


async def folded(lost: LostAnswers, r: OrderRequest, before: list[int], mine: list[dict[str, Any]],
                 results: list[OrderResult], left: dict[int, OrderResult]) -> OrderResult:
    """The answer of the close by symbol ``r``: ``before``, the positions its sends closed before it ran
    again, ``mine`` the positions it closed now, with their ``results``, and ``left`` what its sends not
    known then answer (by position; those of positions gone meanwhile count). Raises Unknown if MetaTrader
    cannot be asked."""
    met: dict[int, str] = {}   # the positions closed by something else first, and how
    for p, x in zip(mine, results):
        if not x.ok and not x.unknown and not x.volume and (why := await _gone(lost, r, p["ticket"])) is not None:
            met[p["ticket"]] = why
    parts = [*(x for p, x in zip(mine, results) if p["ticket"] not in met),
             *(x for ticket, x in left.items() if ticket not in {p["ticket"] for p in mine})]   # gone meanwhile
    failed = [x.error for x in parts if not x.ok]
    closed = list(dict.fromkeys(before + [p["ticket"] for p, x in zip(mine, results) if x.ok]))  # parts once
    return OrderResult(ok=not failed, closed=closed, error="; ".join(failed) if failed else None,
                       unknown=any(x.unknown for x in parts), note="; ".join(met.values()) or None)


async def _gone(lost: LostAnswers, r: OrderRequest, ticket: int) -> str | None:
    """How position ``ticket``, whose close was refused, was closed by something else; None while it is
    open. The history trailing, it is gone all the same: closed, by what is not known yet."""
    why = await lost.closed_by(ticket, tag_for(r.client_id, r.alert_id, str(ticket)))
    if why is None and not await lost.open(ticket):
        return f"position {ticket} was closed before it, not by it"
    return why
