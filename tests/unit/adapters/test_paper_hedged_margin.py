"""A hedge's margin on paper and in replay's book, as MetaTrader 5 charges a hedging account
(``[paper] hedged_margin``, 0.5 of the contract by default: SYMBOL_MARGIN_HEDGED 50,000 of a
forex pair's 100,000): the volume a symbol's buys and sells share at that part of the contract
and both legs' average open price, the larger leg's rest in full at its own. Both charged each
leg in full: a trader long 5 lots on 10,000 USD at 1:100 had the hedge refused, "not enough
money", that the live account takes, and a hedged book's margin level (and stop-out) was wrong.
Figures by hand; no spread nor commission, USD-quoted symbols."""

from __future__ import annotations

import itertools
from typing import Awaitable, Callable

import pytest

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage.database import Database
from engine.app.replay import Book
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest, OrderResult

T0 = 1_715_590_800.0
IDS = itertools.count(1)
Send = Callable[[OrderRequest], Awaitable[OrderResult]]


def order(side: str, volume: float, price: float, symbol: str = "EURUSD") -> OrderRequest:
    return OrderRequest("market", f"c{next(IDS)}", symbol=symbol, side=side, volume=volume, price=price, plugin="p")


async def account(tmp_path, where: str, config: PaperConfig = PaperConfig()) -> tuple[Send, Callable]:
    """The paper broker or replay's book: how to send it an order, and how to read its account."""
    if where == "paper":
        broker = PaperBroker(Database(tmp_path / "moonhook.db"), config, clock=lambda: T0)

        async def read() -> dict:
            return await broker.account()
        return broker.execute, read
    book = Book(config)

    async def send(r: OrderRequest) -> OrderResult:
        return book.execute(r, T0)

    async def read_book() -> dict:
        return book.account()
    return send, read_book


@pytest.fixture(params=["paper", "replay"])
def where(request) -> str:
    return request.param


async def test_a_covered_pair_is_charged_half_the_contract_at_both_legs_average_price(tmp_path, where):
    send, read = await account(tmp_path, where)
    assert (await send(order("buy", 5, 1.1))).ok                # 5 x 100,000 x 1.1 / 100 = 5,500.00
    assert (await read())["margin"] == 5500.0
    sold = await send(order("sell", 5, 1.102))                  # refused before: 5,510.00 of 4,500.00 free
    assert sold.ok, sold.error
    a = await read()   # 5 lots covered x 50,000 x (1.1 + 1.102) / 2 / 100
    assert (a["margin"], a["margin_free"]) == (2752.5, a["equity"] - 2752.5)


async def test_a_partly_covered_symbol_charges_the_larger_legs_rest_in_full(tmp_path, where):
    send, read = await account(tmp_path, where)
    for side, volume, price in (("buy", 2, 1.1), ("buy", 1, 1.103), ("sell", 1, 1.105)):
        assert (await send(order(side, volume, price))).ok
    # 1 lot covered x 0.5 x (2.2 + 1.103 + 1.105) / 4 = 0.551; the buys' 2 more x 3.303 / 3 = 2.202
    assert (await read())["margin"] == 2753.0


async def test_two_symbols_each_hedge_their_own(tmp_path, where):
    send, read = await account(tmp_path, where)
    for side, volume, price, symbol in (("buy", 2, 1.1, "EURUSD"), ("buy", 1, 1.103, "EURUSD"),
                                        ("sell", 1, 1.105, "EURUSD"), ("sell", 1, 1.3, "GBPUSD"),
                                        ("buy", 0.5, 1.31, "GBPUSD")):
        assert (await send(order(side, volume, price, symbol))).ok
    # EURUSD 2,753.00; GBPUSD 0.5 covered x 0.5 x (1.3 + 0.655) / 1.5 + the sells' 0.5 more x 1.3: 975.83;
    # a buy of GBPUSD is no hedge of a sell of EURUSD.
    assert (await read())["margin"] == 3728.83


async def test_a_hedge_past_the_other_leg_needs_the_margin_it_adds(tmp_path, where):
    send, read = await account(tmp_path, where)
    assert (await send(order("buy", 5, 1.1))).ok
    # Selling 12: 5 covered (2,750.00) and 7 uncovered (7,700.00) is 10,450.00, 4,950.00 more than
    # the 5,500.00 held, and 4,500.00 is free.
    refused = await send(order("sell", 12, 1.1))
    assert refused.error == ("not enough money: 12 lots of EURUSD need 4,950.00 USD of margin at 1:100, "
                             "and the free margin is 4,500.00")
    assert (await send(order("sell", 9, 1.1))).ok             # 2,750.00 + 4,400.00: 1,650.00 more
    assert (await read())["margin"] == 7150.0


@pytest.mark.parametrize("hedged, margin", [(0, 0.0), (1, 5500.0), (0.25, 1375.0)])
async def test_hedged_margin_sets_what_a_covered_lot_is_charged(tmp_path, where, hedged, margin):
    # 0: the broker charges a hedge nothing; 1: as the larger leg alone ("using larger leg").
    send, read = await account(tmp_path, where, PaperConfig(hedged_margin=hedged))
    assert (await send(order("buy", 5, 1.1))).ok and (await send(order("sell", 5, 1.1))).ok
    assert (await read())["margin"] == margin


async def test_a_pending_hedge_fills_on_paper_when_its_price_comes(tmp_path):
    # Its margin is checked as it fills, against the leg it covers: no longer rejected.
    broker = PaperBroker(Database(tmp_path / "moonhook.db"), PaperConfig(), clock=lambda: T0)
    await broker.quote("EURUSD", 1.1, T0)
    assert (await broker.execute(order("buy", 8, 1.1))).ok
    limit = OrderRequest("pending", "limit", symbol="EURUSD", side="sell", type="limit", price=1.102, volume=8)
    assert (await broker.execute(limit)).ok
    await broker.quote("EURUSD", 1.102, T0 + 1)
    assert sorted(p["side"] for p in await broker.positions()) == ["buy", "sell"]
    assert (await broker.account())["margin"] == 4404.0      # 8 x 50,000 x 1.101 / 100


def test_hedged_margin_is_checked_when_read():
    for bad in (-0.1, 1.5, "half", True):
        with pytest.raises(ValueError, match="paper.hedged_margin: must be a number from 0 to 1"):
            PaperConfig(hedged_margin=bad)
    assert PaperConfig().hedged_margin == 0.5
