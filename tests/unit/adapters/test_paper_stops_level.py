"""The paper broker (and replay's book, which answers as it does) given a symbol's stops level
(``[paper] symbols = { EURUSD = { stops_level = 10 } }``, in points, as MetaTrader 5's
``trade_stops_level``) refuses a stop or target nearer the price than it, as the MT5 broker does
before sending: a strategy tried on paper then does not meet its first "invalid stops" live."""

from __future__ import annotations

import pytest

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage.database import Database
from engine.app.replay import Book
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest

# EURUSD: bid 1.08, ask 1.0801 (10 points of spread); 10 points of stops level, as the MT5 stand-in's.
CONFIG = PaperConfig(spread_points=10, symbols={"EURUSD": {"stops_level": 10}})
T0 = 1_715_590_800.0
NEAR = "sl 1.07995 is 5 points from the bid 1.08; EURUSD needs at least 10 (its stops_level)"


def market(cid: str, **stops) -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side="buy", volume=0.1, price=1.08, plugin="p", alert_id=1,
                        **stops)


async def test_a_stop_within_the_stops_level_is_refused_as_metatrader_5_refuses_it(tmp_path):
    broker = PaperBroker(Database(tmp_path / "moonhook.db"), CONFIG, clock=lambda: T0)
    book = Book(CONFIG)
    await broker.quote("EURUSD", 1.08, T0)
    book.see("EURUSD", 1.08, T0)
    near = market("a1", sl=1.07995)
    assert (await broker.execute(near)).error == NEAR
    assert book.execute(near, T0, near.price).error == NEAR
    assert await broker.check(near) == NEAR
    opened = await broker.execute(market("a2", sl=1.0799))   # 10 points: taken
    assert opened.ok and book.execute(market("a2", sl=1.0799), T0, 1.08).ok
    target = OrderRequest("modify", "a3", ticket=opened.ticket, tp=1.08005, plugin="p", alert_id=3)
    said = "tp 1.08005 is 5 points from the current bid 1.08; EURUSD needs at least 10 (its stops_level)"
    assert (await broker.execute(target)).error == said and book.execute(target, T0).error == said
    placed = OrderRequest("pending", "a4", symbol="EURUSD", side="buy", type="limit", price=1.075, sl=1.07495,
                          volume=0.1, plugin="p", alert_id=4)
    said = "sl 1.07495 is 5 points from the order price 1.075; EURUSD needs at least 10 (its stops_level)"
    assert (await broker.execute(placed)).error == said and book.execute(placed, T0).error == said
    limit = OrderRequest("pending", "a5", symbol="EURUSD", side="buy", type="limit", price=1.08005, volume=0.1,
                         plugin="p", alert_id=5)
    said = "price 1.08005 is 5 points from the ask 1.0801; EURUSD needs at least 10 (its stops_level)"
    assert (await broker.execute(limit)).error == said and book.execute(limit, T0).error == said


def test_a_stops_level_is_a_whole_number_of_points():
    with pytest.raises(ValueError, match="paper.symbols.EURUSD.stops_level: expected a whole number of points"):
        PaperConfig(symbols={"EURUSD": {"stops_level": 2.5}})
    assert PaperConfig(symbols={"EURUSD": {"stops_level": 0}})


async def test_a_change_measures_only_the_stops_it_gives_as_the_mt5_broker_does(tmp_path):
    # The market 5 points over a long's stop: its target moved, or its stop repeated (a trailing
    # alert), was refused on paper and in replay for the stop left as it is, and done live.
    broker = PaperBroker(Database(tmp_path / "moonhook.db"), CONFIG, clock=lambda: T0)
    book = Book(CONFIG)
    await broker.quote("EURUSD", 1.08, T0)
    book.see("EURUSD", 1.08, T0)
    ticket = (await broker.execute(market("a1", sl=1.0799))).ticket
    assert book.execute(market("a1", sl=1.0799), T0, 1.08).ticket == ticket
    await broker.quote("EURUSD", 1.07995, T0 + 1)
    book.see("EURUSD", 1.07995, T0 + 1)
    for n, change in enumerate(({"tp": 1.09}, {"sl": 1.0799}), start=2):
        r = OrderRequest("modify", f"a{n}", ticket=ticket, plugin="p", alert_id=n, **change)
        assert (await broker.execute(r)).ok and book.execute(r, T0 + 1).ok, change
    nearer = OrderRequest("modify", "a4", ticket=ticket, sl=1.07994, plugin="p", alert_id=4)
    said = "sl 1.07994 is 1 points from the current bid 1.07995; EURUSD needs at least 10 (its stops_level)"
    assert (await broker.execute(nearer)).error == said and book.execute(nearer, T0 + 1).error == said


async def test_a_stop_exactly_the_stops_level_away_is_taken_at_any_price(tmp_path):
    """BTCUSD at 65,108.41 with 5 points of stops level: a sell's stop 5 points above, at
    65,108.46, was refused ("sl 65108.5 is 5 points from the ask 65108.4; BTCUSD needs at least
    5"), the two 0.049999999995634425 apart as floats: at such prices about one stop in five
    placed exactly the level away, refused by paper, replay and the MT5 broker before sending,
    where MetaTrader takes it. Its message cut the prices to six digits."""
    config = PaperConfig(symbols={"BTCUSD": {"stops_level": 5}})
    broker = PaperBroker(Database(tmp_path / "moonhook.db"), config, clock=lambda: T0)
    book = Book(config)
    await broker.quote("BTCUSD", 65_108.41, T0)
    book.see("BTCUSD", 65_108.41, T0)
    at = OrderRequest("market", "b1", symbol="BTCUSD", side="sell", volume=0.01, price=65_108.41, sl=65_108.46)
    assert await broker.check(at) is None
    assert (await broker.execute(at)).ok and book.execute(at, T0, at.price).ok
    near = OrderRequest("market", "b2", symbol="BTCUSD", side="sell", volume=0.01, price=65_108.41, sl=65_108.45)
    said = "sl 65108.45 is 4 points from the ask 65108.41; BTCUSD needs at least 5 (its stops_level)"
    assert (await broker.execute(near)).error == said and book.execute(near, T0, near.price).error == said
