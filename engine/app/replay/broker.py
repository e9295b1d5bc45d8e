"""The replay's ``Book`` as the broker a trial decides on (``engine/core/trial.py``): what
scripts read through the services and the default execution asks, answered as the paper
broker answers, every order executed at the replayed clock."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from engine.adapters.brokers.base import Broker
from engine.app.replay.fills import Book
from engine.domain.orders import Fill, OrderRequest, OrderResult


class BookBroker(Broker):
    name = "replay"

    def __init__(self, book: Book, clock: Callable[[], float]):
        super().__init__()
        self.book = book
        self._clock = clock
        self._given: dict[str, float] = {}   # the prices the alert being decided gave, by symbol
        self.in_timer = False   # a timer runs: it read the bars ended by now (Book.execute's ``ended``)

    @contextmanager
    def deciding(self) -> Iterator[None]:
        """An alert is decided meanwhile: the prices it gives (``quote``) are its own orders'
        only. None outlives it: an order a timer, ``on_fill``, ``on_close`` or ``on_cancel``
        places later without a price of its own fills at the bars (the next bar's open)."""
        self._given.clear()
        try:
            yield
        finally:
            self._given.clear()

    async def account(self) -> dict[str, Any]:
        return self.book.account()

    async def symbol(self, symbol: str) -> dict[str, Any] | None:
        return self.book.symbol(symbol)

    async def price(self, symbol: str) -> dict[str, Any] | None:
        return self.book.price(symbol)

    async def positions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return self.book.positions(symbol)

    async def orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return self.book.orders(symbol)

    async def history(self, since: float | None = None) -> list[dict[str, Any]]:
        """The book's deals from ``since``, read back from its newest (told in time order)."""
        deals = []
        for event in reversed(self.book.events):
            if isinstance(event, Fill):
                if since is not None and event.time < since:
                    break
                deals.append({"ticket": event.deal, "position": event.position, "symbol": event.symbol,
                              "side": event.side, "entry": event.entry, "volume": event.volume, "price": event.price,
                              "profit": event.profit, "commission": event.commission, "swap": 0.0, "time": event.time,
                              "comment": None, "magic": None})
        return deals[::-1]

    async def quote(self, symbol: str, price: float, time: float, fired: float | None = None) -> None:
        """As the paper broker: a price whose alert was fired before the symbol's last (``Prices.late``)
        is not the market's, and its orders fill as a timer's (the next bar's open, or the last price)."""
        if self.book.late(symbol, fired):
            return
        self._given[symbol] = price
        self.book.see(symbol, price, time, fired)

    async def execute(self, request: OrderRequest) -> OrderResult:
        given = self._given.get(request.symbol) if request.symbol is not None else None
        return self.book.execute(request, self._clock(), given, self.in_timer)
