"""Entries whose answer was lost and never found ("lost", ``lost.py``) that the poll meets
later, settled as their answer would have said: a repeat answers it, the engine's order ledger
learns it (``Broker.first_result``), and it no longer holds a place in doubt.

A pending entry resting, or ended unfilled in the history before a poll listed it, was placed,
as a deal settles a market entry's (``History._arrived``); its end, unfilled, is told as any
order's. A market entry the order history has ended with nothing filled (the trade server
rejected it late, or cancelled a FOK or IOC order) was refused, and that refusal stands: never
sent again, as ``LostAnswers.resolve`` settles one it finds so. Without this look, only a
reconnection (``resolve_left``) would have found it, and the trader, told "not known", would
not learn its end until then. A market entry found filled was done: its deal, read by a poll
while it was still looked for (just before "lost" was written), settles it no more.

A close (of a position, of a part, a close by symbol's) whose answer was lost and whose deal was not in
the history yet is settled so too: done by its deal, which carries its tag (read by the deals' poll
first, ``History._arrived``, else met here); refused for good when the order history has its order
ended unfilled, or when its position is gone, closed whole by deals none of which is its own (its sl,
a stop-out: ``LostAnswers.closed_otherwise``). Looked at only at a repeat of the close before, its
record, its alert and the trades chat said "not known" for good, whatever the terminal did.

A send is looked at so at every poll for up to an hour (``LATE_HOLD``): all of them are looked for
in one ``found.Window``, MetaTrader's positions, orders, deals and order history each read once from
the earliest one's time, not four reads a send.

A stop change or a pending order's modify whose answer was lost, judged not executed (its stops
unchanged when looked for, ``lost.UNCHANGED``), that the trade server applied a moment later (the far
side of a bridge going on with it) is looked at again at each poll for ten minutes (``CHANGE_HOLD``):
the stops shown as it asked, it is done after all, its request's refusal overturned (``Book.overturned``)
and the engine told to ask its record again (``Overturned``), in one write (``Book.changed_after_all``).
Not one that another change of moonhook's to the same position or order followed: that one is what was
asked last of those stops, and its refusal stands, unsaid. Nothing is sent again because of it.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.found import Window
from engine.adapters.brokers.mt5.lost import UNCHANGED, LostAnswers
from engine.adapters.brokers.mt5.send import plain
from engine.adapters.brokers.mt5.session import Unknown
from engine.adapters.brokers.mt5.terminal import Terminal
from engine.domain.orders import OrderResult, Overturned
from engine.domain.rules import Refused

log = logging.getLogger("moonhook.mt5")


async def arrived(broker: Terminal, resting: dict[int, dict[str, Any]]) -> set[int]:
    """The lost entries in doubt met at the broker, settled: pending ones ``resting`` now (the
    orders of moonhook's, by ticket) or ended unfilled, market ones ended unfilled. Returns the
    tickets of the pending orders settled that are no longer resting, to be known (their end told).
    Raises Unknown if MetaTrader cannot be asked."""
    ended: set[int] = set()
    lost, closes = [s for s in broker.book.in_doubt() if s["state"] == "lost"], broker.book.lost_closes()
    window = Window(broker, min((s["created_at"] for s in (*lost, *closes)), default=0.0))   # one read each, for all
    for send in closes:
        await _close(broker, window, send)
    for send in lost:
        order = next((o for o in resting.values() if o.get("comment") == send["tag"]), None)
        if order is not None and send["kind"] == "pending":
            found = {"ticket": order["ticket"], "price": order["price_open"], "volume": order["volume_initial"]}
        else:
            found = await window.find(send["tag"], send["created_at"], send["request"].get("magic"))
            if found is None or "ended" not in found and send["kind"] == "pending":   # filled: its deal settles it
                continue
        if send["kind"] == "market":
            if found.get("ended"):
                log.warning("%s: its answer was lost, and the history has it %s later", send["tag"], found["ended"])
                await broker.settle(send["tag"], OrderResult.refused(c.describe_ended(found["ended"])), stands=True)
            else:   # its deal told by a poll before "lost" was written: no deal read later settles it
                log.warning("%s: its answer was lost, and it was found at the broker later (ticket %s)", send["tag"],
                            found["ticket"])
                await broker.settle(send["tag"], OrderResult(ok=True, ticket=found["ticket"], price=found.get("price"),
                                                             volume=found.get("volume")))
            continue
        log.warning("%s: its answer was lost, and it was placed later (pending order %s)", send["tag"], found["ticket"])
        await broker.settle(send["tag"], OrderResult(ok=True, ticket=found["ticket"], price=found["price"],
                                                     volume=found["volume"]))
        if order is None:
            ended.add(found["ticket"])
    return ended


async def _close(broker: Terminal, window: Window, send: dict[str, Any]) -> None:
    """The close ``send``, its answer lost, settled if the terminal shows its end: its deal (done), its
    order ended unfilled, or its position closed whole by other deals (refused for good). Left "lost"
    while none of these shows: its position open (a part of it asked), or gone while the history trails.
    Raises Unknown if MetaTrader cannot be asked."""
    tag, position = send["tag"], send["request"]["position"]
    found = await window.find(tag, send["created_at"], send["request"].get("magic"))
    if found is not None and found.get("ended"):
        log.warning("%s: its answer was lost, and the history has it %s later", tag, found["ended"])
        await broker.settle(tag, OrderResult.refused(c.describe_ended(found["ended"])), stands=True)
    elif found is not None and "deal" in found:   # the deals' poll settles it first, unless it came in between
        log.warning("%s: its answer was lost, and its deal %s came later (position %s)", tag, found["deal"], position)
        await broker.settle(tag, OrderResult(ok=True, ticket=found["ticket"], price=found["price"],
                                             volume=found["volume"]))
    elif not await window.open(position) and (otherwise := await LostAnswers(broker).closed_otherwise(send)):
        log.warning("%s: its answer was lost: %s", tag, otherwise)
        await broker.settle(tag, OrderResult.refused(otherwise), stands=True)


async def changed(broker: Terminal) -> list[Overturned]:
    """The stop changes and modifies judged unchanged (their answer lost) that the terminal now shows in
    effect, done after all: their Overturned events, written down with their settling and kept until
    told. MetaTrader lost midway, those settled so far (the rest is looked at at the next poll): never
    raised, so that the poll's other events, kept already, are told now."""
    events = []
    for send in broker.book.unchanged_changes():
        if send["result"]["error"] != UNCHANGED:
            continue
        try:
            if not await LostAnswers(broker).applied(send["request"]):
                continue
        except Refused:   # its order ended otherwise (filled, expired): the refusal stands
            continue
        except Unknown:
            break
        ticket = send["request"].get("position") or send["request"]["order"]
        log.warning("%s: judged unchanged, its answer lost, and MetaTrader shows it in effect later (ticket %s)",
                    send["tag"], ticket)
        events.append(Overturned(send["client_id"]))
        await broker.write(broker.book.changed_after_all, send["tag"], plain(OrderResult(ok=True, ticket=ticket)),
                           events[-1])
    return events
