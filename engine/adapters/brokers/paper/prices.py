"""The paper market's last prices: a bid, an ask and their time for each symbol quoted.

They live in memory and are written with the next trade (and at stop): a quote is on every
alert's path, and a price lost in a crash is replaced by the next alert. A price fired before the
last one fired (TradingView delivered its alert late, after a newer one) is not taken (``late``);
when that one was fired is written with it, so a late alert right after a restart is late too.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from engine.domain.rules import in_price_range

LATE = 1.0  # seconds a price may be fired before the last one and still be taken: {{timenow}} is to the second


class Prices:
    def __init__(self, db: Any):
        """Read back from ``paper_prices`` in ``db``; not one past MAX_PRICE (or below its inverse),
        which a version before it took and saved (a typo's 1e30): the next alert brings a price."""
        rows = [r for r in db.execute("SELECT symbol, bid, ask, time, fired FROM paper_prices")
                if in_price_range(r[1]) and in_price_range(r[2]) and r[1] <= r[2]]
        self._rows: dict[str, tuple[float, float, float]] = {r[0]: (r[1], r[2], r[3]) for r in rows}
        self._unsaved: set[str] = set()
        # By symbol, when the alert of the newest price taken that says so was fired (its timenow):
        # TradingView's clock, to which an alert's receipt on this one, seconds later, is not compared.
        self._fired: dict[str, float] = {r[0]: r[4] for r in rows if r[4] is not None}

    def get(self, symbol: str) -> tuple[float, float, float] | None:
        """(bid, ask, time), or None before the symbol's first quote."""
        return self._rows.get(symbol)

    def record(self, symbol: str, bid: float, ask: float, time: float, fired: float | None = None) -> None:
        """``fired``: when its alert was fired (timenow), if it says: the price is kept as of then.
        One after ``time`` (a timenow ahead of this clock) counts as ``time``, as its age does
        (core/expiry.py): kept as said, it made every alert fired before it late."""
        if fired is not None:
            fired = min(fired, time)
            self._fired[symbol] = max(fired, self._fired.get(symbol, fired))
        self._rows[symbol] = (bid, ask, time if fired is None else fired)
        self._unsaved.add(symbol)

    def late(self, symbol: str, fired: float | None) -> bool:
        """Whether a price of ``symbol`` whose alert was ``fired`` then (its timenow; None: not said)
        was fired more than LATE before the newest one taken that says when it was:
        the market had left it, a stop it crosses was not hit then."""
        last = self._fired.get(symbol)
        return fired is not None and last is not None and fired < last - LATE

    @contextmanager
    def seeing(self, symbol: str, bid: float, ask: float) -> Iterator[None]:
        """``symbol`` quoted at ``bid`` and ``ask`` for the reads made inside, then as it was,
        recorded nowhere: a dry run's view of the price its alert brings. The caller awaits
        nothing inside, so no other task reads it."""
        before = self._rows.get(symbol)
        self._rows[symbol] = (bid, ask, before[2] if before else 0.0)
        try:
            yield
        finally:
            if before is None:
                del self._rows[symbol]
            else:
                self._rows[symbol] = before

    def last(self, symbol: str) -> tuple[float, float] | None:
        row = self._rows.get(symbol)
        return (row[0], row[1]) if row else None

    def mid(self, symbol: str) -> float | None:
        last = self.last(symbol)
        return (last[0] + last[1]) / 2 if last else None

    def save(self, db: Any) -> None:
        """Writes the prices recorded since the last save, inside the caller's transaction."""
        for symbol in self._unsaved:
            bid, ask, at = self._rows[symbol]
            db.execute("INSERT INTO paper_prices (symbol, bid, ask, time, fired) VALUES (?, ?, ?, ?, ?) "
                       "ON CONFLICT (symbol) DO UPDATE SET bid = excluded.bid, ask = excluded.ask, "
                       "time = excluded.time, fired = excluded.fired", [symbol, bid, ask, at, self._fired.get(symbol)])
        self._unsaved.clear()
