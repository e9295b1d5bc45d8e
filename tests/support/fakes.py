"""Small fakes at moonhook's own seams, for tests where what is behind the seam is not the point.

``FakeBroker`` is a ``Broker`` in memory: it answers what the test set, records every request,
and executes each client id once, as every broker must (``engine/adapters/brokers/base.py``).
It does not trade: a market order opens no position; set ``positions`` to what the test needs.
The brokers themselves are tested on their own (paper on SQLite, MT5 against its stand-in).
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from typing import Any, Callable

from engine.adapters.brokers.base import Broker
from engine.domain.orders import OrderRequest, OrderResult

FX = {"digits": 5, "point": 0.00001, "volume_min": 0.01, "volume_step": 0.01, "volume_max": 100.0,
      "contract_size": 100_000.0, "tick_size": 0.00001, "tick_value": 1.0}   # an FX pair quoted in USD
SPECS = {"EURUSD": FX, "GBPUSD": FX,
         "USDJPY": {**FX, "digits": 3, "point": 0.001, "tick_size": 0.001, "tick_value": 0.6667}}
ACCOUNT = {"balance": 10_000.0, "equity": 10_000.0, "margin": 0.0, "margin_free": 10_000.0, "currency": "USD"}


class FakeBroker(Broker):
    """``answer(request)`` decides each new client id's result (default: filled, a new ticket).
    ``requests`` holds every request received, repeats included; ``executed`` those that ran."""

    name = "fake"

    def __init__(self, *, account: dict | None = None, specs: dict[str, dict] | None = None,
                 prices: dict[str, dict] | None = None, positions: list[dict] | None = None,
                 orders: list[dict] | None = None, deals: list[dict] | None = None, answer: Callable[[OrderRequest], OrderResult] | None = None):
        super().__init__()
        self.account_info = dict(ACCOUNT if account is None else account)
        self.specs = dict(SPECS if specs is None else specs)
        self.prices = dict(prices or {})              # symbol -> {bid, ask, time}
        self.open_positions = list(positions or [])
        self.pending_orders = list(orders or [])
        self.deals = list(deals or [])                # what ``history`` answers, as the test set it
        self.answer = answer or self.filled
        self.requests: list[OrderRequest] = []
        self.executed: list[OrderRequest] = []
        self._results: dict[str, OrderResult] = {}
        self._tickets = itertools.count(1001)

    def filled(self, request: OrderRequest) -> OrderResult:
        ticket = request.ticket if request.kind in ("close", "modify") else next(self._tickets)
        return OrderResult(ok=True, ticket=ticket, price=request.price, volume=request.volume)

    async def execute(self, request: OrderRequest) -> OrderResult:
        self.requests.append(request)
        first = self._results.get(request.client_id)
        if first is not None:
            return replace(first, duplicate=True)
        self.executed.append(request)
        result = self._results[request.client_id] = self.answer(request)
        return result

    async def account(self) -> dict[str, Any]:
        return dict(self.account_info)

    async def symbol(self, symbol: str) -> dict[str, Any] | None:
        return self.specs.get(symbol)

    async def price(self, symbol: str) -> dict[str, Any] | None:
        return self.prices.get(symbol)

    async def positions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return [p for p in self.open_positions if symbol is None or p["symbol"] == symbol]

    async def orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        return [o for o in self.pending_orders if symbol is None or o["symbol"] == symbol]

    async def history(self, since: float | None = None) -> list[dict[str, Any]]:
        return sorted((d for d in self.deals if since is None or d["time"] >= since), key=lambda d: d["time"])
