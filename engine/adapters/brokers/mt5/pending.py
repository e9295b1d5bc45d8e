"""Moonhook's pending orders that leave MetaTrader without a fill and without moonhook asking:
cancelled in the terminal or by the broker, rejected when their price came (not enough
money), or expired. Each is told as a ``Dropped`` event, as the paper broker tells its own.

The orders moonhook placed are remembered by ticket from their placing (and across restarts, in
the book's state: one gone before any poll saw it, an expiry of a second, is still told); one
that is gone is looked up in the history by its ticket, which finds it
however long ago it was placed (a date range of ``history_orders_get`` selects by setup time).
A filled one is the deal history's to tell; one moonhook removed itself is not told again (a
removal refused, Algo Trading off, left it live: its end is told). A removal whose answer was lost,
judged not executed (the order was still there when it was looked for), that the trade server did
later (the far side of a bridge going on with it) is moonhook's cancel, not a drop: its send is
settled done, its request's refusal overturned (``Book.overturned``), and the engine told to ask its
record again (``Overturned``, told for any removal of moonhook's that cancelled it, so that a crash
between those writes still tells it).
Its event is written down with the ticket's leaving the known ones, and kept until the engine
has told it (``storage/untold.py``): a crash in between tells it at the next start, ``again``.

Each poll first settles the entries whose answer was lost that it meets (``late.py``): a pending
one resting, or ended unfilled, as placed (its end, unfilled, is then told as any order's).
"""

from __future__ import annotations

import json
import logging
from typing import Any

import trio

from engine.adapters.brokers.mt5 import constants as c, late
from engine.adapters.brokers.mt5.found import alert_of, moonhooks
from engine.adapters.brokers.mt5.lost import UNCHANGED, LostAnswers, ended_otherwise
from engine.adapters.brokers.mt5.terminal import Terminal
from engine.domain.orders import Dropped, OrderResult, Overturned

KNOWN = "pending_orders_known"

log = logging.getLogger("moonhook.mt5")


class PendingWatch:
    def __init__(self, broker: Terminal, lost: LostAnswers):
        self._b, self._lost = broker, lost
        self._polling = trio.Lock()

    async def start(self) -> None:
        """At the first start ever, the orders already there are known, not told."""
        if self._b.book.get_state(KNOWN) is None:
            await self._b.write(self._b.book.put_state, KNOWN, json.dumps(sorted(await self._ours())))

    async def poll(self) -> list[Dropped | Overturned]:
        """The Dropped events of the orders gone since the last poll, and the Overturned ones of the stop
        changes and modifies judged unchanged that are in effect now (``late.changed``). Raises Unknown when
        MetaTrader cannot be asked (nothing is marked read: the next poll looks again). One poll
        at a time, as the deals' (``History.poll``): two at once would both tell an order gone."""
        async with self._polling:
            return await self._gone() + await late.changed(self._b)

    async def _gone(self) -> list[Dropped | Overturned]:
        now = await self._ours()
        if placed := await late.arrived(self._b, now):
            # settled first: a crash in between leaves their end untold, never told twice
            await self._b.write(self._keep, set(), placed)
        known = self._known()
        events: list[Dropped | Overturned] = []
        left = set()
        for ticket in sorted(known - set(now)):
            found = await self._b.query("history_orders_get", ticket=ticket)
            if not found:   # not in the history yet: looked for again at the next poll
                left.add(ticket)
                continue
            dropped = c.DROPPED_STATES.get(found[0]["state"])
            ours = [s for s in self._b.book.removals(ticket)   # refused by the server: it left the order live
                    if s["state"] != "refused" or (s["result"] or {}).get("error") == UNCHANGED]
            if found[0]["state"] == c.ORDER_STATE_CANCELED and ours:   # moonhook's cancel, late or not
                events += [await self._removed(s, ticket) for s in ours]
                continue
            await self._not_removed(ticket, found[0]["state"], ours)
            if dropped is not None and not self._b.book.removed(ticket):
                events.append(self._dropped(found[0], *dropped))
        # written with their events, kept until told: a crash before the engine tells them tells them at the start
        await self._b.write(self._keep, known, set(now) | left, events)
        return events

    async def _removed(self, send: dict[str, Any], ticket: int) -> Overturned:
        """The removal ``send`` of pending order ``ticket``, which is cancelled: one judged not
        executed, or not known (the history trailed), its answer lost, settled done after all. Its
        request's record is to be asked again."""
        if send["state"] in ("refused", "lost"):
            log.warning("%s: its answer was lost, and the history has pending order %s cancelled: done", send["tag"],
                        ticket)
            await self._b.settle(send["tag"], OrderResult(ok=True, ticket=ticket))
        if send["state"] == "refused":
            await self._b.write(self._b.book.overturned, send["client_id"])
        return Overturned(send["client_id"])

    async def _not_removed(self, ticket: int, state: int, ours: list[dict[str, Any]]) -> None:
        """The removals of pending order ``ticket`` not known (their answer lost while the history
        trailed) that never can be: the history has it ended otherwise, in ``state`` (filled, its
        position open; expired; rejected). Refused for good, saying so; before its end is told: a
        removal refused does not hold back its drop (``Book.removed``)."""
        why = ended_otherwise(ticket, state)
        for send in ours if why is not None else ():
            if send["state"] == "lost":
                log.warning("%s: its answer was lost, and the history has pending order %s ended otherwise: %s",
                            send["tag"], ticket, why)
                await self._b.settle(send["tag"], OrderResult.refused(str(why)), stands=True)

    async def removal(self, ticket: int, result: OrderResult, doing: str = "removed") -> OrderResult:
        """``result``, the answer to moonhook's removal of pending order ``ticket`` (or with ``doing``
        "changed", its modify); refused because the order ended just before it arrived, refused with what
        ended it (``LostAnswers.cancelled``): filled, its position open, or expired or rejected, not the
        server's "invalid request". Raises Refused for those, Unknown if MetaTrader cannot be asked."""
        if not result.ok and not result.unknown and not await self._b.query("orders_get", ticket=ticket):
            await self._lost.cancelled(ticket, doing)
        return result

    async def placed(self, ticket: int) -> None:
        """``ticket``, a pending order moonhook has just placed, is known from now on."""
        await self._b.write(self._keep, set(), {ticket})

    def _known(self) -> set[int]:
        return set(json.loads(self._b.book.get_state(KNOWN) or "[]"))

    def _keep(self, seen: set[int], keep: set[int], events: list[Dropped | Overturned] | None = None) -> None:
        """The known tickets: ``keep``, and those placed since ``seen`` was read (at once: no
        poll in flight drops an order placed while it ran); ``events`` kept until told, in the
        same transaction."""
        keep = keep | (self._known() - seen)
        if keep != self._known() or events:
            self._b.book.put_states({KNOWN: json.dumps(sorted(keep))}, list(events or ()))

    async def _ours(self) -> dict[int, dict[str, Any]]:
        return {o["ticket"]: o for o in await self._b.query("orders_get") or () if moonhooks(self._b.book, o)}

    def _dropped(self, o: dict[str, Any], reason: str, detail: str) -> Dropped:
        """The order ``o`` of the history as gone: the lots it had left (part of it may have filled
        first, into a position that stays open: said in its detail)."""
        side, kind = c.ORDER_KINDS.get(o["type"], ("buy", None))
        done = (o.get("time_done_msc") or 0) / 1000 or o.get("time_done") or 0
        whole, left = o["volume_initial"], o.get("volume_current") or 0.0
        if not 0 < left < whole - 1e-9:   # none of it filled
            left = whole
        else:
            detail += f", after {round(whole - left, 8):g} of its {whole:g} lots filled: position " \
                      f"{o.get('position_id') or o['ticket']} is open"
        return Dropped(o["ticket"], self._b.config.from_broker(o["symbol"]), side, kind or "", left,
                       o["price_open"], reason, f"{detail} (MetaTrader order state {o['state']})",
                       self._b.server_clock.utc(done) if done else self._b.clock(),
                       self._b.book.plugin_of(o.get("magic") or 0), alert_of(o.get("comment")))
