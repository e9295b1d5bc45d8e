"""Orders a crash left without their answer, which no alert runs again: an administrator's
close, a timer's or a broker event's order. The ledger wrote each down as "unknown" before
the broker's call (``OrderLedger.sending``); an alert's are settled when recovery runs the
alert again and meets its client ids, these are not. At start-up each is asked of the broker
by its client id (``Broker.first_result``) and settled, done or refused, once the broker can
tell (MetaTrader 5 finds a lost send by its tag when it reconciles, ``mt5/send.py``); one it
cannot tell stays unknown, and is asked again at the next start.
"""

from __future__ import annotations

import logging
import math
import sqlite3

import trio

from engine.adapters.brokers.base import Broker
from engine.adapters.storage import Database, OrderLedger
from engine.domain.orders import BrokerError

log = logging.getLogger("moonhook.engine")

LOOK_EVERY = 2.0   # seconds between two looks at the broker while it cannot tell yet
LOOKS = 300        # then left unknown until the next start: 10 minutes of looks


async def settle_unknown(database: Database, ledger: OrderLedger, broker: Broker, client_ids: list[str], *,
                         every: float = LOOK_EVERY, looks: int = LOOKS) -> list[str]:
    """Settles in ``ledger`` each of ``client_ids`` (read before this start placed any order:
    ``ledger.unknown_without_alert()``) the broker has a result for, looking again every
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
        left = [cid for cid in left if not await _settled(database, ledger, broker, cid)]
    if left:
        log.warning("order ledger: %d orders whose answer was lost before a restart are still not known at the "
                    "broker; they stay unknown: %s", len(left), ", ".join(left[:20]))
    return left


async def _settled(database: Database, ledger: OrderLedger, broker: Broker, client_id: str) -> bool:
    """Whether ``client_id``'s answer was found at the broker and written; False if the broker
    cannot tell now (not known there yet, its connection lost, or the write failed)."""
    try:
        result = await broker.first_result(client_id)
    except BrokerError:
        return False
    if result is None or result.unknown:
        return False
    await database.writable()
    try:
        ledger.answered(client_id, result)
    except sqlite3.Error as e:  # the disk: left for the next look
        log.warning("order ledger: %s could not be settled now: %s", client_id, e)
        return False
    log.warning("order ledger: %s, whose answer was lost before a restart, was %s at the broker%s", client_id,
                "done" if result.ok else "refused", "" if result.ok else f": {result.error}")
    return True
