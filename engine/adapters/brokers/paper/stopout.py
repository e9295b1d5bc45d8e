"""The stop-out, as MetaTrader 5 does it: while the account's margin level (equity / margin x
100) is below ``[paper] stop_out_pct`` with positions open, the position with the largest loss
is closed at the market (the trade server's deal reason SO, ``STOP_OUT`` here), its closing
order's comment as MetaTrader writes it (``[so 45.20%/4520.00/10000.00]``: the margin level,
the equity, the margin). Pending orders stay. The paper broker looks after each quote's own
triggers, and replay's book at the same point of its bar walk (``engine/app/replay/stopout.py``).
The positions closed on one quote are one stop-out, told to the administrators (``StopOut``).
"""

from __future__ import annotations

from typing import Any, Iterable, TypeVar

from engine.adapters.brokers.paper.books import Books
from engine.adapters.brokers.paper.market import Market
from engine.adapters.storage.database import select
from engine.domain.instruments import SymbolSpec
from engine.domain.orders import STOP_OUT, Closed, Event, StopOut
from engine.domain.rules import Refused

T = TypeVar("T")


def under(account: dict[str, Any], level: float) -> bool:
    """Whether ``account`` (as ``account()`` answers) is below the stop-out ``level`` (0: never)."""
    return level > 0 and account["margin"] > 0 and account["equity"] * 100 < level * account["margin"]


def comment(account: dict[str, Any]) -> str:
    """The stop-out deal's comment, as MetaTrader 5 writes it."""
    return f"[so {account['equity'] * 100 / account['margin']:.2f}%/{account['equity']:.2f}/{account['margin']:.2f}]"


def most_losing(candidates: Iterable[tuple[float, int, T]]) -> T | None:
    """Of (profit, ticket, position), the one losing most; of equal losses the oldest ticket."""
    ranked = sorted(candidates, key=lambda c: (c[0], c[1]))
    return ranked[0][2] if ranked else None


class PaperStopOut:
    """The paper broker's stop-out, inside its transaction."""

    def __init__(self, market: Market, books: Books, table: dict[str, SymbolSpec], level: float):
        self._market, self._books, self._table, self._level = market, books, table, level

    def due(self, account: dict[str, Any]) -> bool:
        return under(account, self._level)

    def run(self, db: Any, account: Any, at: float) -> list[Event]:
        """Closes the most losing position while ``account(db)`` is below the level, and
        tells those closed as one ``StopOut`` after their closes."""
        events: list[Event] = []
        closes: list[tuple[Closed, str | None]] = []
        while under(now := account(db), self._level):
            p = most_losing((self._market.floating(self._table[p["symbol"]], p), p["ticket"], p)
                            for p in select(db, "SELECT * FROM paper_positions ORDER BY ticket")
                            if self._bookable(p["symbol"]))
            if p is None:   # none can be booked (no price or rate yet): it waits for one
                break
            spec = self._table[p["symbol"]]
            bid, ask = self._market.bid_ask(spec, None)
            meta = {"plugin": p["plugin"], "client_id": None, "alert_id": p["alert_id"], "comment": comment(now)}
            booked = self._books.close_position(db, spec, p, p["volume"], bid if p["side"] == "buy" else ask,
                                                STOP_OUT, meta, at)
            events += booked
            closes += [(e, meta["comment"]) for e in booked if isinstance(e, Closed)]
        told = StopOut.of(closes)
        return events if told is None else [*events, told]

    def _bookable(self, symbol: str) -> bool:
        """Whether a position of ``symbol`` has a price to close at and a rate to book it with."""
        spec = self._table.get(symbol)
        try:
            return spec is not None and self._market.tick_value(spec) is not None and bool(
                self._market.bid_ask(spec, None))
        except Refused:
            return False
