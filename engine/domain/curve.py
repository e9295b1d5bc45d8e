"""The equity curve summed up by the hour, so that a year of it is drawn from a few thousand rows.

A curve's point is the running total after each deal that moved the balance (engine/app/trades.py).
An hour's ``Block`` keeps what the drawn curve needs of its points: how many, the lowest, the
highest and the last, each as its sums since the hour began. The hour's points before it add up to
what precedes every block, so that the curve's lowest and highest points over any run of whole
hours come from the blocks alone. The paper books keep their blocks in SQL as deals are booked
(migration 21); ``blocks_of`` makes the same of a history read whole (``?since=``), and ``Hours``
of MetaTrader 5's history as its deals come in.

Drawn, a curve of more than ``CURVE_POINTS`` points is its first and last point and, of each of
``STRETCHES`` equal stretches of time, the lowest, the highest and the last point: whole hours
where the curve spans ``STRETCHES`` hours or more (a stretch is then one or two hours, and read
from the blocks), else its points' own times.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

HOUR = 3_600
STRETCHES = 666
CURVE_POINTS = 3 * STRETCHES + 2  # 2,000: the first and the last point, three of each stretch


class Mark(NamedTuple):
    """A point of an hour: its time, and the profit and the money paid in or out since the hour began."""
    time: float
    profit: float
    paid: float


class Block(NamedTuple):
    """An hour's points (``hour``: the Unix time // HOUR): how many, its lowest, highest and last
    (the hour's totals). Lowest and highest in what is drawn (profit and payments, or the profit
    alone), the first such point on a tie."""
    hour: int
    moves: int
    low: Mark
    high: Mark
    last: Mark


def hour_of(time: float) -> int:
    return int(time // HOUR)


def by_hours(points: int, first: int, last: int) -> bool:
    """Whether a curve of ``points`` points whose moves lie in the hours ``first`` to ``last`` is
    drawn from its hours' blocks: it is thinned, and its stretches are whole hours."""
    return points > CURVE_POINTS and last - first + 1 >= STRETCHES


def blocks_of(moves: Iterable[tuple[float, float, float]], with_paid: bool) -> list[Block]:
    """The blocks of the (time, profit, paid) of each move, oldest first; lowest and highest in
    profit and payments (``with_paid``: the balance is drawn) or in profit."""
    hours = Hours(with_paid)
    for move in moves:
        hours.add(*move)
    return hours.blocks()


class Hours:
    """``blocks_of`` folded a move at a time, oldest first, for a history kept between reads
    (MetaTrader 5's, engine/adapters/brokers/mt5/deal_reads.py): the hours done, and the one open."""

    def __init__(self, with_paid: bool):
        self.with_paid = with_paid
        self.done: list[Block] = []
        self.hour: int | None = None
        self.count, self.low, self.high, self.last = 0, Mark(0.0, 0.0, 0.0), Mark(0.0, 0.0, 0.0), Mark(0.0, 0.0, 0.0)

    def add(self, at: float, move: float, pay: float) -> None:
        """The move at ``at`` (no earlier than the last added) of ``move`` profit and ``pay`` paid."""
        h = hour_of(at)
        if h != self.hour:
            if self.hour is not None:
                self.done.append(self._open())
            self.hour, self.count, self.last = h, 0, Mark(0.0, 0.0, 0.0)
        self.count += 1
        mark = self.last = Mark(at, self.last.profit + move, self.last.paid + pay)
        if self.count == 1:
            self.low = self.high = mark
            return
        drawn = _drawn(mark, self.with_paid)
        if drawn < _drawn(self.low, self.with_paid):
            self.low = mark
        elif drawn > _drawn(self.high, self.with_paid):
            self.high = mark

    def blocks(self) -> list[Block]:
        """The hours' blocks so far, oldest first (a new list)."""
        return [*self.done, self._open()] if self.hour is not None else list(self.done)

    def _open(self) -> Block:
        assert self.hour is not None
        return Block(self.hour, self.count, self.low, self.high, self.last)


def _drawn(mark: Mark, with_paid: bool) -> float:
    return mark.profit + mark.paid if with_paid else mark.profit


def stretch(at: float, low: float, high: float, stretches: int = STRETCHES) -> int:
    """Which of ``stretches`` equal stretches of the time from ``low`` to ``high`` ``at`` lies in."""
    return min(stretches - 1, int((at - low) * stretches / (high - low))) if high > low else 0


def hour_stretch(hour: int, first: int, last: int) -> int:
    """Which of the STRETCHES stretches of whole hours from ``first`` to ``last`` ``hour`` lies in."""
    return (hour - first) * STRETCHES // (last - first + 1)
