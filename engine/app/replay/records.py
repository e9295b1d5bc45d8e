"""What replay's fill model (``fills.py``) keeps and reports: its open positions, the
trades it closed, the equity curve, the orders outside the price data, and how the bars
cover each symbol's alerts."""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Position:
    """An open position. ``commission``: its opening deal's, not yet counted in a trade;
    ``outs``: the (volume, profit) of its closing deals so far."""
    ticket: int
    symbol: str
    side: str
    volume: float
    price_open: float
    opened_at: float
    sl: float | None = None
    tp: float | None = None
    commission: float = 0.0
    plugin: str | None = None
    alert_id: int | None = None
    client_id: str | None = None
    comment: str | None = None   # its order's, as the paper broker keeps it
    outs: list[tuple[float, float, float]] = field(default_factory=list)  # (volume, profit, commission) a close


@dataclass(frozen=True)
class ClosedTrade:
    """A closed trade (or the part of a position closed), as the report reads it. ``profit``
    is gross, in the account currency, as MT5 reports it; ``commission`` (negative) is the
    closing deal's, plus the opening deal's on the position's first close. ``reason``:
    close, sl, tp or stop_out."""
    ticket: int
    symbol: str
    side: str
    volume: float
    open_time: float
    open_price: float
    close_time: float
    close_price: float
    profit: float
    commission: float
    reason: str
    plugin: str | None = None
    alert_id: int | None = None


@dataclass(frozen=True)
class OpenPosition:
    """A position still open where the book stands, valued at the symbol's last price (a buy
    at the bid, a sell at the ask): ``price_last``, and ``profit`` floating (None without one)."""
    position: Position
    price_last: float | None
    profit: float | None


@dataclass(frozen=True)
class EquityPoint:
    """The balance after a closed trade (the first point: the balance before the first deal)."""
    time: float
    balance: float


@dataclass(frozen=True)
class Outside:
    """An order at a time outside its symbol's bars (before the first or after the last); ``edge``:
    when the first opens, or the last ends (None: not known, a single bar)."""
    time: float
    symbol: str
    what: str
    edge: float | None = field(default=None, compare=False)


@dataclass
class Covered:
    """The alerts of one symbol given bars: how many were replayed, how many of them fell inside
    its bars, and the times of the first and the last (to say so when none did)."""
    alerts: int = 0
    inside: int = 0
    first: float = math.inf
    last: float = -math.inf

    def add(self, at: float, inside: bool) -> None:
        self.alerts += 1
        self.inside += inside
        self.first, self.last = min(self.first, at), max(self.last, at)
