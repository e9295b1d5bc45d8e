"""What happened at the broker, read back from MetaTrader: fills and closes from the deal
history, told as events whoever caused them (our orders, a stop or target hit, a pending
order triggered), and a send whose answer was lost found again by the tag it carries.

Only moonhook's deals become events (a magic number it gave, or its tag in the comment):
positions opened by hand are shown by ``positions()``, never acted on.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import replace
from typing import Any, Callable, Protocol

import trio

from engine.domain.orders import Closed, Event, Fill, OrderResult, StopOut
from engine.domain.rules import Refused, filled_meanwhile
from engine.adapters.brokers.mt5 import constants as c, netted, stop_outs
from engine.adapters.brokers.mt5.book import Book
from engine.adapters.storage.untold import UntoldEvents
from engine.adapters.brokers.mt5.clock import ServerClock
from engine.adapters.brokers.mt5.rows import deal_cost
from engine.domain.config.mt5 import MT5Config

log = logging.getLogger("moonhook.mt5")

WATERMARK = "deals_read_until"  # the latest deal time told (the server's clock, seconds)
TOLD = "deals_told"  # the deals told within REREAD of it, {ticket: time} (JSON): a restart tells none again
REREAD = 60  # seconds of history read again at each poll: a deal the terminal learns of late is still told
DAY = 86_400
# How far this machine's clock may run ahead of the trade server's: a send's position, order or deal
# made "since it was written down" is looked for from that much before (a few seconds of drift are
# common; an old alert's position under the same tag, after a restore from a backup, is older).
CLOCKS_APART = 10
# The most a server's wall clock is behind UTC (UTC-12, and as much ahead as UTC+14): while its clock
# is unknown its times are compared as written, so a send is looked for from that much before.
UNKNOWN_CLOCK = 14 * 3_600
_ALERT = re.compile(r"^mh:a(\d+):")
# A stop change, modify or removal whose answer was lost, not in effect when looked for (``resolve``).
UNCHANGED = f"{c.NOT_EXECUTED} and MetaTrader shows the order unchanged"


def moonhooks(book: Book, row: dict[str, Any]) -> bool:
    """Whether a deal or order of MetaTrader's is this engine's: a magic number it gave, or, on
    a row without one, a tag it sent. Not a tag alone: another moonhook on the same account
    tags its alert 1 as this one does, under magic numbers of its own."""
    magic = row.get("magic") or 0
    if magic:
        return book.plugin_of(magic) is not None
    comment = str(row.get("comment") or "")
    return comment.startswith("mh:") and book.send(comment) is not None


def alert_of(comment: Any) -> int | None:
    """The alert id a tag ``mh:a<alert>:...`` names, if any."""
    found = _ALERT.match(str(comment or ""))
    return int(found[1]) if found else None


def _ended(order: dict[str, Any]) -> str | None:
    """How a market order of the history ended with nothing filled, no deal made of it (the trade
    server rejected it, or cancelled a FOK or IOC order nothing filled), or None: it filled, or it is
    a pending order, whose placing was done whatever ended it since."""
    dropped = c.DROPPED_STATES.get(order.get("state"))
    if c.ORDER_KINDS.get(order.get("type"), ("", "pending"))[1] is not None or dropped is None:
        return None
    if (order.get("volume_current") or 0.0) < order["volume_initial"] - 1e-9:   # part of it filled
        return None
    return f"{dropped[0]} by the trade server, nothing filled (order {order['ticket']}, MetaTrader order state " \
           f"{order['state']})"


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


class Terminal(Protocol):
    """What History needs of the broker that owns it (MT5Broker is one): it reads through
    ``query``, writes the book through ``write`` and ends a send with ``settle``."""

    book: Book
    config: MT5Config
    clock: Callable[[], float]
    server_clock: ServerClock
    alerts_seen: int
    alerts_journaled: int
    untold: UntoldEvents | None
    warnings: tuple[str, ...]

    async def query(self, fn: str, *args: Any, deadline: float | None = None, **kwargs: Any) -> Any: ...

    async def write(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    async def settle(self, tag: str, result: OrderResult, stands: bool = False) -> OrderResult: ...


class History:
    def __init__(self, broker: Terminal):
        self._b = broker
        broker.untold = broker.book.untold  # the deals told are kept until the engine has told them
        self._told: dict[int, float] | None = None  # TOLD as read back from the book, then kept here
        self._seen_days = 0  # how far back ``seen`` read the history
        self._polling = trio.Lock()

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
        deals = sorted((d for d in read if d["ticket"] not in told),
                       key=lambda d: (d.get("time_msc") or d["time"] * 1000, d["ticket"]))
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
        found = await self.find(tag, self._b.clock() - self._seen_days * DAY, ours=True)
        if found is None or found.get("ended"):
            return None
        log.warning("%s: not in the book (restored from a backup?), but found at the broker (ticket %s): not sent "
                    "again", tag, found["ticket"])
        return OrderResult(ok=True, ticket=found["ticket"], price=found.get("price"), volume=found.get("volume"))

    async def find(self, tag: str, since: float, magic: int | None = None, ours: bool = False) -> dict[str, Any] | None:
        """Where a send tagged ``tag`` (and numbered ``magic``, or with ``ours`` any number this
        book gave: another engine's alert of the same number carries the same tag) went: its
        position, pending order or deal, or None.
        Only what was made since ``since``, when the send was written down (less CLOCKS_APART:
        the trade server's clock may be behind this machine's; less UNKNOWN_CLOCK while the
        server's clock is unknown): restored from a backup while MetaTrader could not be reached,
        the journal numbers an alert before ``seen`` is read, maybe as an old alert that left a
        position under the same tag."""
        server = self._b.server_clock
        start = int(server.server(since)) - 1 - (CLOCKS_APART if server.known else UNKNOWN_CLOCK)

        def sent(row: dict[str, Any], made: str | None = None) -> bool:
            return (row.get("comment") == tag and (magic is None or row.get("magic") == magic)
                    and (not ours or moonhooks(self._b.book, row)) and (made is None or (row.get(made) or 0) >= start))

        for fn, made in (("positions_get", "time"), ("orders_get", "time_setup")):
            for item in await self._b.query(fn) or ():
                if sent(item, made):
                    return {"ticket": item["ticket"], "price": item.get("price_open"),
                            "volume": item.get("volume") or item.get("volume_current")}
        for deal in await self._deals(start):
            if sent(deal):
                return {"ticket": deal["position_id"], "price": deal["price"], "volume": deal["volume"], "deal": deal["ticket"]}
        for order in await self._b.query("history_orders_get", server.server(since) - DAY,
                                         server.server(self._b.clock()) + DAY) or ():
            if sent(order, "time_setup"):
                return {"ticket": order["ticket"], "price": order.get("price_open"),
                        "volume": order.get("volume_initial"), "ended": _ended(order)}
        return None

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
                    done = await self._applied(request)  # these leave no tag: their effect is checked
                except Refused as e:
                    log.warning("%s: its answer was lost, and it was not applied: %s", send["tag"], e)
                    return await self._b.settle(send["tag"], OrderResult.refused(str(e)))
                found = {"ticket": request.get("position") or request.get("order")} if done else None
            else:
                found = await self.find(send["tag"], send["created_at"], request.get("magic"))
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
                return await self._b.settle(send["tag"], OrderResult.refused(
                    f"{c.NOT_EXECUTED} and position {request['position']} is still open; a close "
                    "of it whole may be sent again (it cannot close twice)"))
            if trio.current_time() >= deadline:
                if send["state"] != "lost":
                    log.warning("%s: its answer was lost, and it is nowhere at the broker yet: not sent again",
                                send["tag"])
                return await self._b.settle(send["tag"], OrderResult(ok=False, unknown=True, error=_not_known(
                    request, self._b.config.resolve_seconds)))
            await trio.sleep(min(0.5, self._b.config.resolve_seconds / 4))

    async def _whole_close(self, request: dict[str, Any]) -> bool:
        """Whether ``request`` closes a position that is still open with no more than its volume:
        one that arrives late then finds it gone and is refused, so it is safe to send again (a
        part of a position, sent twice, would close twice as much: that one stays lost)."""
        if not request.get("position"):
            return False
        now = await self._b.query("positions_get", ticket=request["position"])
        return bool(now) and now[0]["volume"] <= request["volume"] + 1e-9

    async def _applied(self, request: dict[str, Any]) -> bool | None:
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
        return bool(now) and _as_asked(now[0], request)

    async def cancelled(self, ticket: int) -> bool:
        """Whether pending order ``ticket``, no longer open, is in the history as cancelled (as a
        removal leaves it); False while the history does not have it yet. Raises Refused if it
        ended otherwise: filled meanwhile, its position is open."""
        ended = await self._b.query("history_orders_get", ticket=ticket) or ()
        state = ended[0]["state"] if ended else None
        if state == c.ORDER_STATE_FILLED:
            raise filled_meanwhile(ticket)
        if state in c.DROPPED_STATES and state != c.ORDER_STATE_CANCELED:
            reason, detail = c.DROPPED_STATES[state]
            raise Refused(f"ticket {ticket}: the pending order was {reason} before it could be removed ({detail})")
        return state == c.ORDER_STATE_CANCELED

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
            return [fill]
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
