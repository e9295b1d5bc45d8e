"""Replay's book answers what the paper broker answers: random streams (fixed seeds, the same
every run) of quotes, entries, pending orders with and without an expiry, whole and part
closes, closes by symbol and side, stop and price moves and cancels, on two symbols, sent to a
real ``PaperBroker`` (on a SQLite file) and to a ``Book`` at the same times. Every answer, the
positions and pending orders as scripts list them, the account, and the events told must be
equal. Stops sit far from the prices: a book without bars simulates none."""

from __future__ import annotations

import random

import pytest

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage.database import Database
from engine.app.replay import Book
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest

CONFIG = PaperConfig(spread_points=10, commission_per_lot=7.0)
T0 = 1_715_590_800.0
SYMBOLS = {"EURUSD": (1.08, 0.0001, 5), "USDJPY": (150.0, 0.01, 3)}   # first price, pip, digits
KINDS = ("market", "pending", "close", "part", "close_symbol", "stop", "price", "cancel")


def _request(rng: random.Random, n: int, symbol: str, price: float, held: list[dict]) -> OrderRequest | None:
    """One order of a random kind on ``symbol`` at ``price``, or on one of ``held`` (the open
    positions and pending orders); None when the kind needs one and none is held."""
    _, pip, digits = SYMBOLS[symbol]
    kind, side = rng.choice(KINDS), rng.choice(["buy", "sell"])
    fields = dict(plugin="p", alert_id=n, comment=rng.choice([None, "tag"]))
    if kind == "market":
        far = round(price - 2000 * pip if side == "buy" else price + 2000 * pip, digits)
        return OrderRequest("market", f"a{n}", symbol=symbol, side=side, volume=rng.choice([0.01, 0.1, 0.37]),
                            price=price, sl=far, **fields)
    if kind == "pending":
        return OrderRequest("pending", f"a{n}", symbol=symbol, side=side, type=rng.choice(["limit", "stop"]),
                            volume=0.1, price=round(price + rng.randint(-20, 20) * pip, digits),
                            expiry=rng.choice([None, 30, 200]), **fields)
    if kind == "close_symbol":
        return OrderRequest("close", f"a{n}", symbol=symbol, side=rng.choice([None, "buy", "sell"]), price=price,
                            **fields)
    if not held:
        return None
    one = rng.choice(held)
    if kind in ("close", "part"):
        part = round(one["volume"] / 2, 2) if kind == "part" else None
        return OrderRequest("close", f"a{n}", ticket=one["ticket"], volume=part, **fields)
    if kind == "cancel":
        return OrderRequest("close", f"a{n}", ticket=one["ticket"], type=one.get("type") or "limit", **fields)
    _, pip, digits = SYMBOLS[one["symbol"]]
    if kind == "stop":
        return OrderRequest("modify", f"a{n}", ticket=one["ticket"], sl=round(price + rng.choice([-3000, 3000]) * pip,
                                                                               digits), **fields)
    return OrderRequest("modify", f"a{n}", ticket=one["ticket"], price=round(price + rng.randint(-20, 20) * pip,
                                                                              digits), **fields)


@pytest.mark.parametrize("seed", range(100))
async def test_the_book_answers_a_random_stream_as_the_paper_broker(tmp_path, seed):
    rng, now = random.Random(seed), [T0]
    broker = PaperBroker(Database(tmp_path / "moonhook.db"), CONFIG, clock=lambda: now[0])
    told: list = []
    broker.listen(told.append)
    book, prices = Book(CONFIG), {s: first for s, (first, _, _) in SYMBOLS.items()}
    for n in range(60):
        now[0] += rng.choice([1, 5, 30, 120])
        await broker.expire()   # what its expiry watch does when the time comes
        book.advance(now[0])
        symbol = sorted(SYMBOLS)[n] if n < len(SYMBOLS) else rng.choice(sorted(SYMBOLS))
        if n < len(SYMBOLS) or rng.random() < 0.3:   # each symbol has a price first, as alerts give it
            _, pip, digits = SYMBOLS[symbol]
            prices[symbol] = round(prices[symbol] + rng.randint(-30, 30) * pip, digits)
            await broker.quote(symbol, prices[symbol], now[0])
            book.see(symbol, prices[symbol], now[0])
            continue
        request = _request(rng, n, symbol, prices[symbol], await broker.positions() + await broker.orders())
        if request is None:
            continue
        answer = await broker.execute(request)
        assert book.execute(request, now[0], request.price if request.kind in ("market", "close") else None) == answer
        assert book.positions() == await broker.positions(), request
        assert book.orders() == await broker.orders(), request
        assert book.account() == await broker.account(), request
    assert [e.to_plain() for e in book.events] == [e.to_plain() for e in told]
