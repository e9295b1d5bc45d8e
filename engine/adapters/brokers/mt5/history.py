"""What happened at the broker, read back from MetaTrader: fills and closes from the deal
history, told as events whoever caused them (our orders, a stop or target hit, a pending
order triggered). A lost send's deal read here settles it (``_arrived``); the look for a send
whose answer was lost is ``lost.py``, the tag finder ``found.py``.

Only moonhook's deals become events (a magic number it gave, or its tag in the comment):
positions opened by hand are shown by ``positions()``, never acted on.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

import trio

from engine.domain.orders import OPENING, Closed, Event, Fill, OrderResult, StopOut
from engine.adapters.brokers.mt5 import constants as c, netted, stop_outs
from engine.adapters.brokers.mt5.found import alert_of, find, moonhooks
from engine.adapters.brokers.mt5.rows import deal_cost, deal_order
from engine.adapters.brokers.mt5.terminal import Terminal

log = logging.getLogger("moonhook.mt5")

WATERMARK = "deals_read_until"  # the latest deal time told (the server's clock, seconds)
TOLD = "deals_told"  # the deals told within REREAD of it, {ticket: time} (JSON): a restart tells none again
REREAD = 60  # seconds of history read again at each poll: a deal the terminal learns of late is still told
DAY = 86_400


class History:
    def __init__(self, broker: Terminal):
        self._b = broker
        broker.untold = broker.book.untold  # the deals told are kept until the engine has told them
        self._told: dict[int, float] | None = None  # TOLD as read back from the book, then kept here
        self._seen_days = 0  # how far back ``seen`` read the history
        self._polling = trio.Lock()

    def forget(self) -> None:
        """The book came to another account (``accounts.py``, which drops the kept copy with the
        watermark): the tickets told at the old one are not this one's, whose server may give the same
        to its own deals. Kept, a deal here numbered as one told there within REREAD went untold."""
        self._told = {}

    async def start(self) -> None:
        """At the first start ever, history before now is not replayed as events."""
        if self._b.book.get_state(WATERMARK) is None:
            now = self._b.server_clock.server(self._b.clock())
            deals = await self._deals(now - DAY)
            await self._mark(deals, now if not deals else max(d["time"] for d in deals))

    async def poll(self) -> list[Event]:
        """The events of the deals made since the last poll, each told once, across restarts too;
        the broker emits them. One poll at a time: two at once (the broker's own and an order's,
        or two orders answered together) would both tell the deals neither had marked yet."""
        async with self._polling:
            return await self._new_events()

    async def _new_events(self) -> list[Event]:
        since = float(self._b.book.get_state(WATERMARK) or self._b.server_clock.server(self._b.clock()))
        read = await self._deals(since - REREAD)
        told = self._told_of(since, read)
        deals = sorted((d for d in read if d["ticket"] not in told), key=deal_order)
        events: list[Event] = []
        closes: list[tuple[Closed, str | None]] = []   # with their deals' comments: a stop-out's says the margin
        for deal in deals:  # a read failing here raises Unknown: none is marked told, the next poll reads them all
            if moonhooks(self._b.book, deal) and deal["entry"] in (c.DEAL_ENTRY_IN, c.DEAL_ENTRY_OUT,
                                                                   c.DEAL_ENTRY_INOUT, c.DEAL_ENTRY_OUT_BY):
                made = await self._events(deal)
                events.extend(made)
                closes += [(e, deal.get("comment")) for e in made if isinstance(e, Closed)]
        # the positions the server stopped out, told as one; the closes of one go read later join it
        stop_out, kept = stop_outs.episode(StopOut.of(closes), self._b.book.get_state(stop_outs.LAST))
        events += [stop_out] if stop_out is not None else []
        if deals:  # written with their events, kept until told: a crash in between tells them at the start
            await self._mark(deals, max(since, *(d["time"] for d in deals)), events, kept)
        return events

    def _told_of(self, since: float, read: list[dict[str, Any]]) -> dict[int, float]:
        """The deals told, by ticket: kept in the book, read back once."""
        if self._told is None:
            raw = self._b.book.get_state(TOLD)
            if raw is None:  # a book written before TOLD was kept: every deal up to its watermark was told
                self._told = {d["ticket"]: d["time"] for d in read if d["time"] <= since}
            else:
                self._told = {int(k): v for k, v in json.loads(raw).items()}
        return self._told

    async def _mark(self, deals: list[dict[str, Any]], latest: float, events: list[Event] | None = None,
                    kept: dict[str, str] | None = None) -> None:
        told = {**(self._told or {}), **{d["ticket"]: d["time"] for d in deals}}
        told = {t: at for t, at in told.items() if at >= latest - REREAD - 2}  # what the next read can return
        await self._b.write(self._b.book.put_states, {WATERMARK: str(latest), TOLD: json.dumps(told), **(kept or {})},
                            events)
        self._told = told

    async def seen(self, days: int) -> tuple[frozenset[int], int, list[dict[str, Any]]]:
        """The magic numbers of the last ``days`` of deals; the highest alert id a tag at the
        broker names: its open positions and pending orders, and those days' deals and orders;
        and the entries among them (open positions, pending orders, the deals that opened one).
        A journal restored from a backup numbers its alerts past it (``Broker.alerts_seen``), or
        a new alert's orders would carry the tags of an old one's that traded after the backup."""
        server, self._seen_days = self._b.server_clock.server(self._b.clock()), days
        deals = await self._b.query("history_deals_get", server - days * DAY, server + DAY) or ()
        open_ = [*(await self._b.query("positions_get") or ()), *(await self._b.query("orders_get") or ())]
        rows = [*deals, *(await self._b.query("history_orders_get", server - days * DAY, server + DAY) or ()), *open_]
        return (frozenset(d.get("magic") or 0 for d in deals),
                max((alert_of(row.get("comment")) or 0 for row in rows), default=0),
                [*open_, *(d for d in deals if d.get("entry") == c.DEAL_ENTRY_IN)])

    async def forgotten(self, tag: str) -> OrderResult | None:
        """What the send tagged ``tag``, of which the book keeps no record, did at the broker all
        the same, or None. Restored from a backup taken while its alert was in flight (journaled,
        its order not yet written down), the journal runs that alert again, and its order may
        have gone after the backup: looked for by its tag under a magic number of this book's in
        what ``seen`` read, only for an alert journaled before this start, when a tag there names
        it or a later one. Never for an alert journaled since: the journal numbers those past the
        tags (one journaled before MetaTrader was reached may carry an old alert's number)."""
        alert = alert_of(tag)
        if alert is None or alert > min(self._b.alerts_seen, self._b.alerts_journaled):
            return None
        found = await find(self._b, tag, self._b.clock() - self._seen_days * DAY, ours=True)
        if found is None or found.get("ended"):
            return None
        log.warning("%s: not in the book (restored from a backup?), but found at the broker (ticket %s): not sent "
                    "again", tag, found["ticket"])
        return OrderResult(ok=True, ticket=found["ticket"], price=found.get("price"), volume=found.get("volume"))

    # -- deals to events ------------------------------------------------------------------------

    async def _deals(self, since: float) -> list[dict[str, Any]]:
        """The deals from ``since``, a time on the server's clock (as the watermark is kept)."""
        return list(await self._b.query("history_deals_get", int(since) - 1,
                                        self._b.server_clock.server(self._b.clock()) + DAY) or ())

    async def _events(self, deal: dict[str, Any]) -> list[Event]:
        b = self._b
        entry = "in" if deal["entry"] == c.DEAL_ENTRY_IN else "out"
        tag = str(deal.get("comment") or "")
        send = b.book.send(tag) if tag.startswith("mh:") else None
        if entry == "in":
            reason = "pending" if send is not None and send["kind"] == "pending" else "market"
        else:
            reason = c.DEAL_REASONS.get(deal.get("reason"), "close")
        # The position's plugin by its magic number, which a close carries too: a close of ours is
        # its sender's (a plugin's orders.close, Telegram's /close), as on paper.
        opener = b.book.plugin_of(deal.get("magic") or 0)
        by = (send.get("plugin") if send is not None and entry == "out" else None) or opener
        fill = Fill(deal["ticket"], deal.get("order") or 0, deal["position_id"], b.config.from_broker(deal["symbol"]),
                    c.DEAL_SIDES.get(deal["type"], "buy"), deal["volume"], deal["price"], entry, reason,
                    b.server_clock.utc(deal["time"]), float(deal.get("profit") or 0.0), deal_cost(deal),
                    by, send["client_id"] if send else None,
                    alert_of(tag), float(deal.get("swap") or 0.0))
        if send is not None and send["state"] in ("lost", "refused"):   # refused: a deal of its tag says otherwise
            await self._arrived(send, deal)
        if entry == "in":
            return [await self._part(fill, send, deal)]
        inout = deal["entry"] == c.DEAL_ENTRY_INOUT  # a netting account's reversal: closed, then opened
        still = [] if inout else await self._open(deal)
        fill = replace(fill, left=float(still[0]["volume"]) if still else 0.0,
                       position=still[0]["ticket"] if still else fill.position)
        if still:
            return [fill]
        deals = await b.query("history_deals_get", position=deal["position_id"]) or [deal]
        was = netted.life(deals, deal)
        account = await b.query("account_info") or {}
        closed = Closed(was.ticket or deal["position_id"], fill.symbol,
                        was.side or ("sell" if fill.side == "buy" else "buy"), was.volume,
                        deal["price"] if was.price_open is None else was.price_open, deal["price"], was.profit,
                        reason, fill.time, opener,
                        commission=was.commission, swap=was.swap, currency=account.get("currency") or None)
        fill = replace(fill, position=closed.ticket)   # after a netting reversal, the ticket it had
        if not inout:
            return [fill, closed]
        shut, opened = netted.parts(deals, deal)[-2:]   # the reversal's OUT and IN
        return [replace(fill, volume=shut["volume"], commission=deal_cost(shut)), closed,
                replace(fill, entry="in", position=opened["position_id"], volume=opened["volume"],
                        reason="pending" if send is not None and send["kind"] == "pending" else "market",
                        profit=0.0, swap=0.0, commission=deal_cost(opened), left=None)]

    async def _part(self, fill: Fill, send: dict[str, Any] | None, deal: dict[str, Any]) -> Fill:
        """``fill``, an opening deal of ``send``'s; of part of its order (a thin book, a pending order filled in
        parts), with the lots the order asked and those filled so far, for the trader to see the position is
        smaller than asked, or whole at last."""
        asked = float(send["request"].get("volume") or 0.0) if send is not None and send["kind"] in OPENING else 0.0
        if fill.volume >= asked - 1e-9:
            return fill
        deals = await self._b.query("history_deals_get", position=deal["position_id"]) or ()
        before = sum(d["volume"] for d in deals if d.get("order") == deal.get("order") and d["ticket"] < deal["ticket"]
                     and d.get("entry") == c.DEAL_ENTRY_IN)
        return replace(fill, asked=asked, filled=round(before + fill.volume, 8))

    async def _arrived(self, send: dict[str, Any], deal: dict[str, Any]) -> None:
        """The lost send ``send`` (not found within ``resolve_seconds``, or while the history
        trailed) arrived after all: its ``deal`` settles it, as ``resolve`` would have found it. An
        entry is then an open position, no longer held in doubt (``engine.max_open_positions``), a
        close done; a repeat answers it, never sent again. So is a close refused as not executed, its
        position still open whole when it was looked for, that the trade server executed later: its
        request's refusal goes too (``Book.overturned``)."""
        log.warning("%s: its answer was lost, and its deal %s came later (position %s)", send["tag"],
                    deal["ticket"], deal["position_id"])
        await self._b.settle(send["tag"], OrderResult(ok=True, ticket=deal["position_id"], price=deal["price"],
                                                      volume=deal["volume"]))
        if send["state"] == "refused":
            await self._b.write(self._b.book.overturned, send["client_id"])

    async def _open(self, deal: dict[str, Any]) -> list[dict[str, Any]]:
        """The position a deal was of, if still open: by its ticket, or on a netting account by
        its identifier (a reversal gave it the reversing order's ticket)."""
        still = await self._b.query("positions_get", ticket=deal["position_id"])
        if still or c.NETTING not in self._b.warnings:
            return list(still or ())
        return netted.position_of(await self._b.query("positions_get", symbol=deal["symbol"]), deal["position_id"])
