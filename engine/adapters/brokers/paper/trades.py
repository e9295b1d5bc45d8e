"""The paper books' history summed up for the Trades page (``PaperBroker.trade_summary``).

``paper_trades`` holds a row a position, kept by a trigger with the deals (migration 20): the
closed trades are counted and paged newest first through the index paper_trades_closed (a page
below the last trade shown, its (closed_at, position): engine/domain/trade_pages.py), and
only the deals of the page's positions are read; the profit by opener (the plugin of the
position's opening deal, the order ledger's opener on paper) is grouped in SQL. The equity curve
is read from ``paper_curve``, its hours' blocks kept by triggers too (migration 21), wherever it
is drawn from them (engine/domain/curve.py's ``by_hours``: a year is 8,760 rows); a curve of a few
points, or of less than STRETCHES hours, is read a deal at a time: (time, amount, 0 paid: no
payments on paper).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import trio

from engine.adapters.brokers.paper.history import read_deals
from engine.adapters.storage.database import Database
from engine.adapters.storage.migrations import PAPER_CLOSED, PAPER_MOVE, PAPER_MOVES
from engine.domain.curve import Block, Mark, by_hours
from engine.domain.trade_pages import TradeKey

COUNT = f"SELECT COUNT(*) FROM paper_trades WHERE {PAPER_CLOSED}"
# Newest first, ties as heapq.nlargest on (closed_at, position) breaks them; below a key, a range of the index.
PAGE = f"SELECT position FROM paper_trades WHERE {PAPER_CLOSED} ORDER BY closed_at DESC, position DESC LIMIT ?"
PAGE_BELOW = (f"SELECT position FROM paper_trades WHERE {PAPER_CLOSED} AND (closed_at, position) < (?, ?) "
              "ORDER BY closed_at DESC, position DESC LIMIT ?")
NEWER = f"SELECT COUNT(*) FROM paper_trades WHERE {PAPER_CLOSED} AND (closed_at, position) >= (?, ?)"
# Off the index paper_trades_opener, in its order (migration 21).
BY_OPENER = ("SELECT opener, COUNT(*) FILTER (WHERE outs > 0), SUM(profit), SUM(commission) FROM paper_trades "
             "GROUP BY opener")
SINCE = f"SELECT position FROM paper_trades WHERE {PAPER_CLOSED} AND closed_at >= ?"


async def summary(database: Database, limit: int, before: TradeKey | None) -> dict[str, Any]:
    """See ``Broker.trade_summary``: read in a thread, through a connection of its own."""
    return await trio.to_thread.run_sync(_apart, database, limit, before)


def _apart(database: Database, limit: int, before: TradeKey | None) -> dict[str, Any]:
    with database.reader() as conn, _snapshot(conn):
        closed = conn.execute(COUNT).fetchone()[0]
        if before is None:
            page, newer = [p for (p,) in conn.execute(PAGE, [limit])], 0
        else:
            page = [p for (p,) in conn.execute(PAGE_BELOW, [*before, limit])]
            newer = conn.execute(NEWER, list(before)).fetchone()[0]
        by_opener = {plugin: {"trades": trades, "profit": profit, "commission": commission, "swap": 0.0}
                     for plugin, trades, profit, commission in conn.execute(BY_OPENER)}
        first = conn.execute("SELECT MIN(time) FROM paper_deals").fetchone()[0]
        blocks = [Block(hour, moves, Mark(low_time, low, 0.0), Mark(high_time, high, 0.0), Mark(last_time, total, 0.0))
                  for hour, moves, low, low_time, high, high_time, total, last_time in conn.execute(
                      "SELECT hour, moves, low, low_time, high, high_time, total, last_time FROM paper_curve "
                      "ORDER BY hour")]
        moves = None if blocks and by_hours(1 + sum(b.moves for b in blocks), blocks[0].hour, blocks[-1].hour) \
            else conn.execute(f"SELECT time, {PAPER_MOVE.format('')}, 0.0 FROM paper_deals "
                              f"WHERE {PAPER_MOVES.format('')} ORDER BY time, deal").fetchall()
        deals = read_deals(conn, " WHERE d.position IN (SELECT value FROM json_each(?))", [_json(page)])
    return {"closed": closed, "newer": newer, "page": page, "deals": deals, "by_opener": by_opener, "first": first,
            "moves": moves, "blocks": None if moves is not None else blocks}


@contextmanager
def _snapshot(conn: Any) -> Iterator[None]:
    """The reads inside from one commit (a read transaction): the count, the page and the curve of
    one refresh agree with each other while deals are booked."""
    began = not conn.in_transaction
    if began:
        conn.execute("BEGIN")
    try:
        yield
    finally:
        if began:
            conn.execute("COMMIT")


async def closed_deals(database: Database, since: float) -> list[dict[str, Any]]:
    """See ``Broker.closed_deals``: the positions closed since then found through the index
    paper_trades_closed, their deals by position; in a thread, through a connection of its own."""
    return await trio.to_thread.run_sync(_closed_apart, database, since)


def _closed_apart(database: Database, since: float) -> list[dict[str, Any]]:
    with database.reader() as conn:
        return read_deals(conn, f" WHERE d.position IN ({SINCE})", [since])


def _json(values: list[int]) -> str:
    return "[" + ",".join(str(int(v)) for v in values) + "]"
