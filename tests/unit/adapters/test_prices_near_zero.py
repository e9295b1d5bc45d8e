"""A price so small that it is 0 on the symbol's price grid (1e-308: a positive number, past the
first check) is refused by both brokers with its reason, never taken as 0: a buy limit resting at
nothing, a stop loss that is none, a market order or a quote filling at 0."""

from __future__ import annotations

import pytest

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage.database import Database
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest

from support.mt5_support import mt5
from support.order_requests import req

TINY = 1e-308
T0 = 1_700_000_000.0


def limit(**fields) -> OrderRequest:
    return req("pending", **{"symbol": "EURUSD", "side": "buy", "type": "limit", "volume": 0.1, **fields})


def market(**fields) -> OrderRequest:
    return req("market", **{"symbol": "EURUSD", "side": "buy", "volume": 0.1, **fields})


def refused_for(result, name: str) -> None:
    assert not result.ok and not result.unknown, result
    assert result.error.startswith(f"{name} {TINY!r}") and "0 on EURUSD's price grid" in result.error, result.error


@pytest.fixture
def paper(tmp_path):
    db = Database(tmp_path / "moonhook.db")
    yield PaperBroker(db, PaperConfig(spread_points=20), clock=lambda: T0)
    db.close()


async def test_the_paper_broker_refuses_a_price_stop_or_target_that_is_0_on_the_grid(paper):
    await paper.quote("EURUSD", 1.1, T0)
    refused_for(await paper.execute(limit(price=TINY)), "price")
    refused_for(await paper.execute(limit(price=1.09, sl=TINY)), "sl")
    refused_for(await paper.execute(market(sl=TINY)), "sl")
    refused_for(await paper.execute(market(price=TINY)), "price")
    refused_for(await paper.execute(req("market", symbol="EURUSD", side="sell", volume=0.1, tp=TINY)), "tp")
    placed = await paper.execute(limit(price=1.09))
    refused_for(await paper.execute(req("modify", ticket=placed.ticket, price=TINY)), "price")
    assert [(o["price"], o["sl"]) for o in await paper.orders()] == [(1.09, None)]
    assert await paper.positions() == []


async def test_a_paper_quote_that_is_0_on_the_grid_is_ignored(paper):
    # It was recorded as a bid of 0.0: every sell stop filled there, every buy's stop loss was hit.
    await paper.quote("EURUSD", 1.1, T0)
    assert (await paper.execute(req("pending", symbol="EURUSD", side="sell", type="stop", volume=0.1,
                                    price=1.09))).ok
    await paper.quote("EURUSD", TINY, T0 + 1)
    assert (await paper.price("EURUSD"))["bid"] == 1.1
    assert [o["price"] for o in await paper.orders()] == [1.09] and await paper.positions() == []
    assert paper.quote_of("EURUSD", TINY) is None


async def test_the_mt5_broker_refuses_them_before_sending_anything(tmp_path):
    # A stop loss of 1e-308 was put on the grid as 0, MetaTrader's "no stop": the entry went
    # without one. A buy limit there went to the terminal, which refused its 0.0 (10015).
    async with mt5(tmp_path) as broker:
        refused_for(await broker.execute(market(sl=TINY)), "sl")
        refused_for(await broker.execute(limit(price=TINY)), "price")
        refused_for(await broker.execute(limit(price=1.07, tp=TINY)), "tp")
        placed = await broker.execute(limit(price=1.07))
        assert placed.ok, placed
        refused_for(await broker.execute(req("modify", ticket=placed.ticket, sl=TINY)), "sl")
        assert broker.terminal.sent() == 1 and await broker.positions() == []
