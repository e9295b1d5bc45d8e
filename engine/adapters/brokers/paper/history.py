"""The paper books' deal history (``PaperBroker.history``), read where it costs the engine least.

The day's deals (the daily loss limit's read, on the path of every entry) are few, and read on
the event loop, as the account is just before, so that no deal booked in between counts in one
and not the other. A longer read (the trades page reads every deal ever booked: 300,000 in a busy
year, more than a second) goes to a thread, through a connection of its own
(``Database.reader``): on the loop it held every alert, fill and timer back for as long.
"""

from __future__ import annotations

from typing import Any

import trio

from engine.adapters.storage.database import Database

ON_LOOP = 2 * 86_400.0  # seconds: a read reaching back no further than this stays on the event loop


async def deals(database: Database, since: float | None, now: float) -> list[dict[str, Any]]:
    """The deals booked since ``since`` (None: all), oldest first, as ``Broker.history`` gives them."""
    if since is not None and since >= now - ON_LOOP:
        with database.lock:
            return _since(database.db, since)
    return await trio.to_thread.run_sync(_apart, database, since)


def _apart(database: Database, since: float | None) -> list[dict[str, Any]]:
    with database.reader() as conn:
        return _since(conn, since)


def _since(db: Any, since: float | None) -> list[dict[str, Any]]:
    return read_deals(db, *((" WHERE d.time >= ?", [since]) if since is not None else ("", [])))


def read_deals(db: Any, where: str, args: list[Any]) -> list[dict[str, Any]]:
    """The deals of ``where`` (a WHERE clause on ``d``, paper_deals), oldest first, as ``Broker.history``
    gives them."""
    # A deal's comment is its order's; the paper broker has no magic numbers and charges no swap.
    # The columns named and each row made once: a year's read is 300,000 rows.
    rows = db.execute("SELECT d.deal, d.position, d.symbol, d.side, d.entry, d.volume, d.price, d.profit, "
                      "d.commission, d.time, o.comment FROM paper_deals d LEFT JOIN paper_orders o "
                      f"ON o.ticket = d.order_ticket{where} ORDER BY d.time, d.deal", args)
    return [{"ticket": deal, "position": position, "symbol": symbol, "side": side, "entry": entry, "volume": volume,
             "price": price, "profit": profit or 0.0, "commission": commission or 0.0, "swap": 0.0, "time": at,
             "comment": comment, "magic": None}
            for deal, position, symbol, side, entry, volume, price, profit, commission, at, comment in rows]
