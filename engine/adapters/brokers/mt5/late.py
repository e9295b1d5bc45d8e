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

An entry is looked at so at every poll for up to an hour (``LATE_HOLD``): all of them are looked for
in one ``found.Window``, MetaTrader's positions, orders, deals and order history each read once from
the earliest one's time, not four reads an entry.
"""

from __future__ import annotations

import logging
from typing import Any

from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.found import Window
from engine.adapters.brokers.mt5.terminal import Terminal
from engine.domain.orders import OrderResult

log = logging.getLogger("moonhook.mt5")


async def arrived(broker: Terminal, resting: dict[int, dict[str, Any]]) -> set[int]:
    """The lost entries in doubt met at the broker, settled: pending ones ``resting`` now (the
    orders of moonhook's, by ticket) or ended unfilled, market ones ended unfilled. Returns the
    tickets of the pending orders settled that are no longer resting, to be known (their end told).
    Raises Unknown if MetaTrader cannot be asked."""
    ended: set[int] = set()
    lost = [s for s in broker.book.in_doubt() if s["state"] == "lost"]
    window = Window(broker, min((s["created_at"] for s in lost), default=0.0))   # one read each, for all of them
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
