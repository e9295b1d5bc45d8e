"""Orders whose answer was lost, which no alert runs again: an administrator's close, a
timer's or a broker event's order, and those of an alert that is over (failed with it not
known, expired: ``expiry.py``). The ledger wrote each down as "unknown" before the broker's
call (``OrderLedger.sending``); an unfinished alert's are settled when recovery runs the alert
again and meets its client ids, these are not. Each is asked of the broker by its client id
(``Broker.first_result``) and settled, done or refused, once the broker can tell (MetaTrader 5
finds a lost send by its tag when it reconciles, ``mt5/send.py``, or by its deal or its pending
order arriving late): those a crash left, from the start-up; one answered unknown while the
engine runs, from that answer (``Settler``), an alert's once its outcome is written, which is
settled with it (``OrderLedger.settled``). One the broker cannot tell within LOOKS stays
unknown, and is asked again at the next start. Each settled is told live (``order.settled``,
with its alert's status now): the dashboard's rows showed the alert failed until a reload. The
trades chat, which said "not known", is told how it ended (``reports.describe_settled``: not an
order a deal settled, whose fill is told), in the outbox in the ledger's own transaction: once,
whatever crash comes.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from functools import partial
from typing import Any, Callable

import trio

from engine.adapters.brokers.base import Broker
from engine.adapters.notify import Notifier
from engine.adapters.storage import Database, OrderLedger, Settled
from engine.core.events import Events
from engine.core.reports import describe_settled
from engine.domain.orders import BrokerError, OrderRequest, OrderResult
from engine.domain.words import counted

log = logging.getLogger("moonhook.engine")

LOOK_EVERY = 2.0   # seconds between two looks at the broker while it cannot tell yet
# Then left unknown until the next start: an hour of looks, as long as MetaTrader holds a lost
# entry's place in doubt (mt5/book.py's LATE_HOLD), since it may arrive so late.
LOOKS = 1_800


async def settle_unknown(database: Database, ledger: OrderLedger, broker: Broker, events: Events,
                         client_ids: list[str], *, notifier: Notifier | None = None, every: float = LOOK_EVERY,
                         looks: int = LOOKS) -> list[str]:
    """Settles in ``ledger`` each of ``client_ids`` (no alert runs them again: ``Settler``) the
    broker has a result for, looking again every
    ``every`` seconds, ``looks`` times at most, while the broker is connected (a broker that
    catches up after its connection, as MetaTrader reconciles, may not know one at the first
    look); returns those still unknown."""
    left = list(client_ids)
    for look in range(looks):
        if not left:
            break
        if look:
            await trio.sleep(every)
        await broker.wait_connected(math.inf)
        left = [cid for cid in left if not await settled(database, ledger, broker, events, cid, notifier=notifier)]
    if left:
        log.warning("order ledger: %s whose answer was lost still not known at the broker, unknown until the "
                    "next start: %s", counted(len(left), "order"), ", ".join(left[:20]))
    return left


async def settled(database: Database, ledger: OrderLedger, broker: Broker, events: Events, client_id: str,
                  alone: bool = False, notifier: Notifier | None = None) -> bool:
    """Whether ``client_id``'s answer was found at the broker and written, with its alert's
    outcome (``OrderLedger.settled``; ``alone``: the row alone), and told to ``events`` and in
    ``notifier``'s trades chat (None: told to no chat); False if
    the broker cannot tell now (not known there yet, its connection lost), its alert's outcome is
    not written yet, or the write failed."""
    try:
        result = await broker.first_result(client_id)
    except BrokerError:
        return False
    if result is None or result.unknown:
        return False
    await database.writable()
    committed: list[Callable[[], None]] = []

    def told(db: Any, settled: Settled) -> None:
        text = describe_settled(OrderRequest(**settled.request), result)
        if notifier is not None and text is not None and (result.ok or settled.was != "refused"):  # told refused
            key = f"settled:{client_id}:{'done' if result.ok else 'refused'}"
            committed.append(notifier.write_in(db, "trades", text, key))

    try:
        written = ledger.settled(client_id, result, alone, told)
    except sqlite3.Error as e:  # the disk: left for the next look
        log.warning("order ledger: %s could not be settled now: %s", client_id, e)
        return False
    if not written:
        return False   # its alert's outcome is not written yet
    if isinstance(written, Settled):
        tell(events, client_id, written, result)
        for done in committed:
            done()
    log.warning("order ledger: %s, whose answer was lost, was %s at the broker%s", client_id,
                "done" if result.ok else "refused", "" if result.ok else f": {result.error}")
    return True


def tell(events: Events, client_id: str, settled: Settled, result: OrderResult) -> None:
    """``order.settled``: the order ``client_id``, its answer lost, ``settled`` with ``result``
    (the fields of ``order.placed``, its ``status`` and the refusal's ``reason``), and its alert's
    status now (``alert_status``), for the views that showed it not known to show it as it is."""
    if not events.listening:
        return
    request = settled.request
    events.publish("order.settled", alert_id=settled.alert_id, alert_status=settled.alert_status,
                   client_id=client_id, plugin=settled.plugin, order=request.get("kind"),
                   symbol=request.get("symbol"), side=request.get("side"),
                   volume=result.volume if result.volume is not None else request.get("volume"),
                   status="done" if result.ok else "refused", ticket=result.ticket, price=result.price,
                   reason=result.error)


class Settler:
    """Hands each order answered unknown (an alert's too: its alert is not run again for it) to
    ``settle_unknown`` (its own look at the broker), in the engine's nursery: its ledger row (and
    alert) is settled once the broker can tell, without a restart. ``run`` starts with those a
    crash left."""

    def __init__(self, database: Database, ledger: OrderLedger, broker: Broker, events: Events, notifier: Notifier):
        self._database, self._ledger, self._broker, self._events = database, ledger, broker, events
        self._notifier = notifier
        self._send, self._received = trio.open_memory_channel[str](math.inf)

    def unknown(self, client_id: str) -> None:
        """``client_id``'s answer was unknown (the desk calls it after the ledger has it so)."""
        self._send.send_nowait(client_id)

    async def run(self, left: list[str]) -> None:
        """``left``: read before this start placed any order (``ledger.unknown_not_run_again()``)."""
        async with trio.open_nursery() as nursery:
            settle = partial(settle_unknown, self._database, self._ledger, self._broker, self._events,
                             notifier=self._notifier)
            nursery.start_soon(settle, left)
            async for client_id in self._received:
                nursery.start_soon(settle, [client_id])
