"""A send whose answer was lost (a timeout, a worker that hung or died), looked for at the broker
before anything else is decided, and settled by what MetaTrader shows: found (done), ended unfilled
in the order history (refused, for good), absent ("lost": it may still arrive, so it is never sent
again), or, for what leaves no tag at the broker, judged by its effect (a stop change, a modify, a
removal: not in effect is refused, "not executed"). A close of a position still open whole is
refused too: sent again, it cannot close twice.

A close judged so, or "lost", may have executed all the same while it was looked at: its deal made
between the last look and the verdict being written, and told by a poll meanwhile, which settles only
a send lost or refused (``History._arrived``). So the history is looked at once more once the verdict
is written: its deal found, the close is done, never refused nor left not known, never sent again; a
deal read later finds the send refused or lost, and settles it. MetaTrader lost before that look,
the send is not known again, and looked for once it is back.
"""

from __future__ import annotations

import logging
from typing import Any

import trio

from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.found import find
from engine.adapters.brokers.mt5.rows import deal_order
from engine.adapters.brokers.mt5.session import Unknown
from engine.adapters.brokers.mt5.terminal import Terminal
from engine.domain.orders import OrderResult
from engine.domain.rules import Refused, filled_meanwhile

log = logging.getLogger("moonhook.mt5")

# A stop change, modify or removal whose answer was lost, not in effect when looked for (``resolve``).
UNCHANGED = f"{c.NOT_EXECUTED} and MetaTrader shows the order unchanged"


def _not_known(request: dict[str, Any], waited: float) -> str:
    """Why the send of ``request``, its answer lost, is not known after ``waited`` seconds."""
    if request.get("action") == c.ACTION_REMOVE:
        return (f"not known: the answer was lost, and pending order {request['order']} is no longer open, but "
                f"MetaTrader's history did not have it within {waited:g} s (removed, most likely); it is not sent "
                "again (look at the orders: a repeat looks for it again)")
    return (f"not known: the answer was lost, and MetaTrader showed no trace of the order within {waited:g} s; it "
            "is not sent again (look at the positions: if it arrives, its fill is told)")


def _as_asked(order: dict[str, Any], request: dict[str, Any]) -> bool:
    """Whether pending ``order`` has what the modify ``request`` asks: its price, sl and tp (0:
    none), and its expiry when the request sets one. Not the price alone: a change of a stop
    only would be called done though never applied."""
    asked = (request["price"], request.get("sl") or 0.0, request.get("tp") or 0.0)
    if (order["price_open"], order["sl"] or 0.0, order["tp"] or 0.0) != asked:
        return False
    return "expiration" not in request or order["time_expiration"] == request["expiration"]


class LostAnswers:
    """The looks at the broker for the sends of ``broker`` whose answer was lost."""

    def __init__(self, broker: Terminal):
        self._b = broker

    async def resolve(self, send: dict[str, Any]) -> OrderResult:
        """A send with a lost answer: found at the broker (done), or absent for
        ``resolve_seconds``. A deal or a pending order absent is "lost" (not ok and ``unknown``):
        a trade server or a bridge slower than that may still execute it, so it is never sent
        again, only looked for (once, at each repeat). A stop change, modify or removal not in
        effect is refused: sent again, it changes nothing twice; but a removal whose order is gone
        while the history, which trails order_send, does not have it yet is "lost": removed, most
        likely, never "unchanged". Raises Unknown if MetaTrader cannot be asked."""
        wait = 0.0 if send["state"] == "lost" else self._b.config.resolve_seconds
        deadline = trio.current_time() + wait
        request = send["request"]
        by_effect = request.get("action") in (c.ACTION_SLTP, c.ACTION_MODIFY, c.ACTION_REMOVE)
        done: bool | None = None
        while True:
            if by_effect:
                try:
                    done = await self.applied(request)  # these leave no tag: their effect is checked
                except Refused as e:   # its order ended otherwise: it never can be, whatever the request reads
                    log.warning("%s: its answer was lost, and it was not applied: %s", send["tag"], e)
                    return await self._b.settle(send["tag"], OrderResult.refused(str(e)), stands=True)
                found = {"ticket": request.get("position") or request.get("order")} if done else None
            else:
                found = await find(self._b, send["tag"], send["created_at"], request.get("magic"))
            if found is not None and found.get("ended"):
                log.warning("%s: its answer was lost, and the history has it %s", send["tag"], found["ended"])
                said = c.describe_ended(found["ended"])
                return await self._b.settle(send["tag"], OrderResult.refused(said), stands=True)
            if found is not None:
                log.warning("%s: its answer was lost, and it was found at the broker (ticket %s)", send["tag"],
                            found["ticket"])
                return await self._b.settle(send["tag"], OrderResult(
                    ok=True, ticket=found["ticket"], price=found.get("price"), volume=found.get("volume")))
            if trio.current_time() >= deadline and by_effect and done is False:
                log.warning("%s: its answer was lost, and it is not in effect at the broker: not executed", send["tag"])
                return await self._b.settle(send["tag"], OrderResult.refused(UNCHANGED))
            if trio.current_time() >= deadline and await self._whole_close(request):
                log.warning("%s: its answer was lost, and its position is open whole: not executed", send["tag"])
                refused = await self._b.settle(send["tag"], OrderResult.refused(
                    f"{c.NOT_EXECUTED} and position {request['position']} is still open; a close "
                    "of it whole may be sent again (it cannot close twice)"))
                return await self.done_meanwhile(send) or refused
            if trio.current_time() >= deadline and (otherwise := await self.closed_otherwise(send)) is not None:
                log.warning("%s: its answer was lost: %s", send["tag"], otherwise)
                return await self._b.settle(send["tag"], OrderResult.refused(otherwise), stands=True)
            if trio.current_time() >= deadline:
                if send["state"] != "lost":
                    log.warning("%s: its answer was lost, and it is nowhere at the broker yet: not sent again",
                                send["tag"])
                lost = await self._b.settle(send["tag"], OrderResult(ok=False, unknown=True, error=_not_known(
                    request, self._b.config.resolve_seconds)))
                # a close's deal told before "lost" was written: answered done now, not at the next poll (``late.py``)
                return (request.get("position") and send["state"] != "lost" and await self.done_meanwhile(send)
                        or lost)
            await trio.sleep(min(0.5, self._b.config.resolve_seconds / 4))

    async def _whole_close(self, request: dict[str, Any]) -> bool:
        """Whether ``request`` closes a position that is still open with no more than its volume:
        one that arrives late then finds it gone and is refused, so it is safe to send again (a
        part of a position, sent twice, would close twice as much: that one stays lost)."""
        if not request.get("position"):
            return False
        now = await self._b.query("positions_get", ticket=request["position"])
        return bool(now) and now[0]["volume"] <= request["volume"] + 1e-9

    async def closed_otherwise(self, send: dict[str, Any]) -> str | None:
        """Why the close ``send`` never can execute (``closed_by``, "not executed: ..."); None while it may."""
        why = await self.closed_by(send["request"].get("position"), send["tag"])
        return None if why is None else c.CLOSED_OTHERWISE + why

    async def closed_by(self, position: int | None, tag: str) -> str | None:
        """How position ``position`` was closed whole before the close tagged ``tag`` could be: by deals none
        of which is that close's (its sl or tp hit, a stop-out, a close by hand or by another order), and a
        position closes once. None while it is open, while the history does not have it closed (it trails),
        when a deal of it is the close's, or on a netting account's reversal."""
        if not position or await self.open(position):
            return None
        deals = await self._b.query("history_deals_get", position=position) or ()
        if any(d.get("comment") == tag or d["entry"] not in (c.DEAL_ENTRY_IN, c.DEAL_ENTRY_OUT) for d in deals):
            return None
        outs = [d for d in deals if d["entry"] == c.DEAL_ENTRY_OUT]
        if not outs or sum(d["volume"] for d in outs) < sum(d["volume"] for d in deals if d not in outs) - 1e-9:
            return None
        last = max(outs, key=deal_order)
        by = {"sl": "its sl", "tp": "its tp", "stop_out": "a stop-out"}.get(c.DEAL_REASONS.get(last.get("reason")),
                                                                          "another close")
        return f"position {position} was closed before it, by {by} (deal {last['ticket']} at {last['price']:g})"

    async def open(self, position: int) -> bool:
        """Whether position ``position`` is open. Raises Unknown if MetaTrader cannot be asked."""
        return bool(await self._b.query("positions_get", ticket=position))

    async def done_meanwhile(self, send: dict[str, Any]) -> OrderResult | None:
        """The close ``send``, just written refused or "lost", done all the same: its deal, made after
        the last look, told by a poll before that was written (module docstring); or, sent again once
        judged not executed, made by its first send as the second went (``Sender.send``). Its result then,
        settled done; None if the history has no deal of it. Raises Unknown if MetaTrader cannot be
        asked: the send is then not known again, looked for once it is back (``Sender.resolve_left``),
        never answered as a send that did not go."""
        try:
            found = await find(self._b, send["tag"], send["created_at"], send["request"].get("magic"))
        except Unknown:
            await self._b.write(self._b.book.settle, send["tag"], "unknown")
            raise
        if found is None or found.get("ended") or "deal" not in found:
            return None
        log.warning("%s: judged not executed, but its deal %s was made meanwhile (position %s): done", send["tag"],
                    found["deal"], found["ticket"])
        return await self._b.settle(send["tag"], OrderResult(ok=True, ticket=found["ticket"], price=found["price"],
                                                             volume=found["volume"]))

    async def applied(self, request: dict[str, Any]) -> bool | None:
        """Whether the stop change, modify or removal ``request`` is in effect at the broker; None
        for a removal whose order is gone and not in the history yet. Raises Refused for a removal
        that never can be: its order ended otherwise (filled, expired, rejected). Raises Unknown
        if MetaTrader cannot be asked."""
        if request["action"] == c.ACTION_SLTP:
            now = await self._b.query("positions_get", ticket=request["position"])
            return bool(now) and (now[0]["sl"], now[0]["tp"]) == (request["sl"] or 0.0, request["tp"] or 0.0)
        now = await self._b.query("orders_get", ticket=request["order"])
        if request["action"] == c.ACTION_REMOVE:
            return False if now else await self.cancelled(request["order"]) or None
        if not now:   # filled or ended meanwhile: not "unchanged"
            await self.cancelled(request["order"], "changed")
        return bool(now) and _as_asked(now[0], request)

    async def cancelled(self, ticket: int, doing: str = "removed") -> bool:
        """Whether pending order ``ticket``, no longer open, is in the history as cancelled (as a
        removal leaves it); False while the history does not have it yet. Raises Refused if it
        ended otherwise (``ended_otherwise``): filled meanwhile, its position is open."""
        ended = await self._b.query("history_orders_get", ticket=ticket) or ()
        state = ended[0]["state"] if ended else None
        if (otherwise := ended_otherwise(ticket, state, doing)) is not None:
            raise otherwise
        return state == c.ORDER_STATE_CANCELED


def ended_otherwise(ticket: int, state: int | None, doing: str = "removed") -> Refused | None:
    """Why no removal (or with ``doing`` "changed", no modify) of pending order ``ticket`` can be done, its
    order in the history in ``state``: filled (its position is open), expired or rejected before it came (or
    for a modify, cancelled); None if cancelled (a removal's own end), or not there yet."""
    if state == c.ORDER_STATE_FILLED:
        return filled_meanwhile(ticket, doing)
    if state in c.DROPPED_STATES and (state != c.ORDER_STATE_CANCELED or doing != "removed"):
        reason, detail = c.DROPPED_STATES[state]
        return Refused(f"ticket {ticket}: the pending order was {reason} before it could be {doing} ({detail})")
    return None
