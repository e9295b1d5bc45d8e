"""The stop-out on paper and in replay's book (``[paper] stop_out_pct``, 50 by default), as
MetaTrader 5 does it: below that margin level the position losing most is closed at the market,
with the reason ``stop_out``, and pending orders stay. Without it a paper account's equity went
below zero with the position open, and came back whole with the price: a strategy survived and
made money on paper and in replay that live would have lost."""

from __future__ import annotations

import pytest

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage.database import Database
from engine.app.replay import Book
from engine.app.replay.prices import Bar
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import Closed, Fill, OrderRequest

T0 = 1_715_590_800.0
# EURUSD, no spread nor commission, 1:200: 4 lots at 1.098 hold 2,196.00 of margin, 5 at 1.1 2,750.00.
CONFIG = PaperConfig(leverage=200)


def buy(cid: str, volume: float, price: float) -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side="buy", volume=volume, price=price, plugin="p", alert_id=1)


LIMIT = OrderRequest("pending", "limit", symbol="EURUSD", side="buy", type="limit", price=1.05, volume=0.01,
                     plugin="p", alert_id=2)


async def opened(tmp_path, config: PaperConfig = CONFIG) -> tuple[PaperBroker, list]:
    """A paper account long 4 lots from 1.098 (1001) and 5 from 1.1 (1002), a buy limit waiting (1003)."""
    broker = PaperBroker(Database(tmp_path / "moonhook.db"), config, clock=lambda: T0)
    events: list = []
    broker.listen(events.append)
    for request, price in ((buy("a", 4, 1.098), 1.098), (buy("b", 5, 1.1), 1.1), (LIMIT, 1.1)):
        await broker.quote("EURUSD", price, T0)
        assert (await broker.execute(request)).ok
    return broker, events


async def test_paper_closes_the_position_losing_most_below_the_stop_out_level(tmp_path):
    broker, events = await opened(tmp_path)
    await broker.quote("EURUSD", 1.0925, T0 + 1)   # -2,200 - 3,750: equity 4,050.00, 81.89 %: nothing
    assert len(await broker.positions()) == 2
    # At 1.09: 1001 -3,200, 1002 -5,000, equity 1,800.00 of 4,946.00 margin (36.39 %): 1002 goes,
    # its loss booked; then 5,000.00 - 3,200 = 1,800.00 of 2,196.00 (81.97 %): 1001 stays.
    await broker.quote("EURUSD", 1.09, T0 + 2)
    assert [p["ticket"] for p in await broker.positions()] == [1001]
    assert (await broker.account())["balance"] == 5000.0
    assert [o["ticket"] for o in await broker.orders()] == [1003]   # pending orders stay, as MetaTrader leaves them
    closed = [e for e in events if isinstance(e, Closed)]
    assert [(c.ticket, c.reason, c.price_close, c.profit) for c in closed] == [(1002, "stop_out", 1.09, -5000.0)]
    out = [e for e in events if isinstance(e, Fill) and e.entry == "out"]
    assert [(f.position, f.reason, f.profit, f.plugin, f.alert_id) for f in out] == [
        (1002, "stop_out", -5000.0, "p", 1)]
    deal = (await broker.history())[-1]
    assert (deal["position"], deal["profit"], deal["comment"]) == (1002, -5000.0, "[so 36.39%/1800.00/4946.00]")


async def test_paper_without_a_stop_out_level_lets_the_equity_fall(tmp_path):
    broker, _ = await opened(tmp_path, PaperConfig(leverage=200, stop_out_pct=0))
    await broker.quote("EURUSD", 1.08, T0 + 1)
    assert len(await broker.positions()) == 2 and (await broker.account())["equity"] < 0


def book_opened(config: PaperConfig, bars: list[Bar]) -> Book:
    book = Book(config, {"EURUSD": bars})
    book.see("EURUSD", 1.098, T0)
    assert book.execute(buy("a", 4, 1.098), T0, 1.098).ok
    book.see("EURUSD", 1.1, T0)
    assert book.execute(buy("b", 5, 1.1), T0, 1.1).ok and book.execute(LIMIT, T0).ok
    return book


def test_replay_stops_out_inside_a_bar_at_the_first_price_below_the_level():
    # Equity is 900,000 x price - 979,200 while both are open. The bar falls from 1.0995 to 1.085:
    # at 1.09075, 2,475.00 of 4,946.00 (50.04 %); at 1.09074, 2,466.00 (49.86 %): 1002 is closed
    # there, -4,630.00, the balance 5,370.00. 1001 alone (2,196.00 of margin) is at 50 % at
    # 1.08732 (1,098.00: not below) and below at 1.08731: closed there, -4,276.00, the balance 1,094.00.
    book = book_opened(CONFIG, [Bar(T0 + 60, 1.0995, 1.0998, 1.085, 1.086)])
    book.finish()
    assert [(t.ticket, t.reason, t.close_price, t.profit) for t in book.closed_trades] == [
        (1002, "stop_out", 1.09074, -4630.0), (1001, "stop_out", 1.08731, -4276.0)]
    assert book.balance == 1094.0 and not book.open_positions
    assert [o.ticket for o in book.pending_orders] == [1003]


def test_replay_stops_out_at_the_open_of_a_bar_that_gaps_below_the_level():
    # Opening at 1.09 (36.39 %, as on paper above): 1002 closes at the open, -5,000; 1001 then holds
    # 81.97 %, and the bar's low 1.0895 (1,600.00 of 2,196.00, 72.86 %) keeps it.
    book = book_opened(CONFIG, [Bar(T0 + 60, 1.09, 1.0905, 1.0895, 1.0902)])
    book.finish()
    assert [(t.ticket, t.reason, t.close_price, t.profit) for t in book.closed_trades] == [
        (1002, "stop_out", 1.09, -5000.0)]
    assert book.balance == 5000.0 and [p.position.ticket for p in book.open_positions] == [1001]


def test_the_stop_out_level_is_checked_when_read():
    with pytest.raises(ValueError, match="paper.stop_out_pct: must be a number, 0 or more, got -1"):
        PaperConfig(stop_out_pct=-1)
    assert PaperConfig().stop_out_pct == 50.0
