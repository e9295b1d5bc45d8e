"""The Trades page's sums of a deal history kept as its deals come in (``TradeFold``), where the
broker keeps them in no database of its own (MetaTrader 5: engine/adapters/brokers/mt5/deal_reads.py);
the paper books keep the same in SQL. A deal is a row as ``Broker.history`` gives it.

Folded oldest first: the closed trades' keys in order (engine/domain/trade_pages.py), each
position's deals and sums, the equity curve's moves and its hours' blocks (engine/domain/curve.py).
A deal older than one folded cannot be folded in: the caller folds the history again from the start.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from typing import Any, Iterable

from engine.domain.curve import Hours, by_hours, hour_of
from engine.domain.trade_pages import TradeKey


def closed_at(deals: list[dict[str, Any]]) -> float | None:
    """When one position's deals closed it, or None while it is open (partly closed, or its
    opening deal lies before the history read)."""
    closing = Closing()
    for d in deals:
        closing.add(d)
    return closing.at()


class Closing:
    """``closed_at`` a deal at a time: a position's volume in and out so far."""

    __slots__ = ("opened", "volume_in", "volume_out", "last")

    def __init__(self) -> None:
        self.opened, self.volume_in, self.volume_out, self.last = False, 0.0, 0.0, None

    def add(self, d: dict[str, Any]) -> None:
        if d["entry"] == "in":
            self.opened = self.opened or d["side"] is not None
            self.volume_in += d["volume"] if d["side"] is not None else 0.0
        else:
            self.volume_out, self.last = self.volume_out + d["volume"], d["time"]

    def at(self) -> float | None:
        if not self.opened or self.last is None or round(self.volume_out - self.volume_in, 8) < 0:
            return None
        return self.last


def move_of(deal: dict[str, Any]) -> tuple[float, float, float] | None:
    """The (time, move, paid) a deal puts on the equity curve: one that moved the balance (its
    profit, commission and swap; money paid in or out) or closed; None for another."""
    if deal["profit"] or deal["commission"] or deal.get("swap") or deal["entry"] != "in":
        return deal["time"], deal["profit"] + deal["commission"] + deal.get("swap", 0.0), deal.get("amount", 0.0)
    return None


class TradeFold:
    """A history's deals folded oldest first, and ``summary`` made of them (``Broker.trade_summary``)."""

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []             # every deal, oldest first (``Broker.history``)
        self.groups: dict[int, list[dict[str, Any]]] = {}  # by position (money paid in or out is none's)
        self.ends: list[TradeKey] = []                   # the closed positions' (closed_at, position), in order
        self._closings: dict[int, Closing] = {}
        self._sums: dict[int, dict[str, Any]] = {}       # by position: {trades (0 or 1: a deal out), profit, ...}
        self._openers: dict[int, str] = {}               # the positions whose opener is known
        self._unknown: set[int] = set()                  # the others
        self._by_opener: dict[str, dict[str, Any]] = {}  # their sums, by that opener
        self.moves: list[tuple[float, float, float]] = []
        self._hours = {True: Hours(True), False: Hours(False)}

    def add(self, deal: dict[str, Any]) -> None:
        """One more deal, no older than those folded."""
        self.rows.append(deal)
        move = move_of(deal)
        if move is not None:
            self.moves.append(move)
            for hours in self._hours.values():
                hours.add(*move)
        if deal["entry"] == "balance":
            return
        position = deal["position"]
        sums = self._sums.get(position)
        if sums is None:
            sums = self._sums[position] = _zero()
            self.groups[position], self._closings[position] = [], Closing()
            self._unknown.add(position)
        self.groups[position].append(deal)
        closing = self._closings[position]
        was = closing.at()
        closing.add(deal)
        at = closing.at()
        if at != was:
            self._closing(position, was, at)
        counted = int(deal["entry"] != "in" and not sums["trades"])   # a trade: its position's first deal out
        opener = self._openers.get(position)
        for entry in (sums,) if opener is None else (sums, self._by_opener[opener]):
            entry["trades"] += counted
            entry["profit"] += deal["profit"]
            entry["commission"] += deal["commission"]
            entry["swap"] += deal.get("swap", 0.0)

    def _closing(self, position: int, was: float | None, at: float | None) -> None:
        if was is not None:
            del self.ends[bisect_left(self.ends, (was, position))]
        if at is not None:
            insort(self.ends, (at, position))

    def unknown(self) -> set[int]:
        """The positions whose opener is not known yet: asked of the order ledger at each summary."""
        return set(self._unknown)

    def summary(self, limit: int, before: TradeKey | None, openers: dict[int, str]) -> dict[str, Any]:
        """``Broker.trade_summary``'s answer, the openers of some of the ``unknown`` positions found
        (``openers``): what the positions sum to, by opener, as ``by_plugin`` sums the whole history
        (those of no known opener under None). What may change as deals are folded is copied."""
        for position, name in openers.items():
            if name and position in self._unknown:
                self._openers[position] = name
                self._unknown.discard(position)
                entry = self._by_opener.setdefault(name, _zero())
                for key, value in self._sums[position].items():
                    entry[key] += value
        by_opener: dict[str | None, dict[str, Any]] = {name: dict(sums) for name, sums in self._by_opener.items()}
        for position in self._unknown:
            entry = by_opener.setdefault(None, _zero())
            for key, value in self._sums[position].items():
                entry[key] += value
        below = bisect_left(self.ends, before) if before is not None else len(self.ends)
        page = [p for _, p in reversed(self.ends[max(0, below - limit):below])]
        drawn_by_hours = bool(self.moves) and by_hours(len(self.moves) + 1, hour_of(self.moves[0][0]),
                                                       hour_of(self.moves[-1][0]))
        return {"closed": len(self.ends), "newer": len(self.ends) - below, "page": page,
                "deals": [d for p in page for d in self.groups[p]], "by_opener": by_opener,
                "first": self.rows[0]["time"] if self.rows else None,
                "moves": None if drawn_by_hours else list(self.moves),
                "blocks": self._hours[True].blocks() if drawn_by_hours else None,
                "profit_blocks": self._hours[False].blocks() if drawn_by_hours else None}


def _zero() -> dict[str, Any]:
    return {"trades": 0, "profit": 0.0, "commission": 0.0, "swap": 0.0}



def fold(deals: Iterable[dict[str, Any]]) -> TradeFold:
    """``deals`` (oldest first) folded."""
    out = TradeFold()
    for deal in deals:
        out.add(deal)
    return out
