"""Replay's book tells the same deals as the paper broker: the same orders, sent to a real
``PaperBroker`` (on a SQLite file) and to a ``Book`` at the same prices and times, give equal
results and equal ``Fill`` and ``Closed`` events, field by field: deal and order numbers,
partial closes, a pending order filled by a quote, a close by symbol and side, refusals."""

from __future__ import annotations

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage.database import Database
from engine.app.replay import Book
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest

CONFIG = PaperConfig(spread_points=10, commission_per_lot=7.0)
T0 = 1_715_590_800.0


def order(n: int, kind: str, **fields) -> OrderRequest:
    return OrderRequest(kind, f"a{n}-p", plugin="p", alert_id=n, **fields)


STEPS = [   # (minutes after T0, a quote of EURUSD's bid or an order)
    (1, order(1, "market", symbol="EURUSD", side="buy", volume=0.3, price=1.08, sl=1.07, tp=1.09)),
    (2, order(2, "market", symbol="EURUSD", side="sell", volume=0.2, price=1.0805)),
    (3, order(3, "pending", symbol="EURUSD", side="buy", type="limit", volume=0.1, price=1.0790, sl=1.0750)),
    (4, 1.0788),   # fills the limit at its price, the better of the two
    (5, order(5, "close", ticket=1001, volume=0.1, price=1.0810)),
    (6, order(6, "close", symbol="EURUSD", side="buy", price=1.0820)),   # 1001's 0.2 left, and 1003
    (7, order(7, "close", price=1.0820)),   # neither ticket nor symbol: refused by both
    (8, order(8, "close", ticket=1001, price=1.0820)),   # closed already: refused
    (9, order(9, "close", symbol="EURUSD", price=1.0800)),   # the sell
]


async def side_by_side(tmp_path, config, steps) -> tuple[PaperBroker, Book, list]:
    """The paper broker and the replay's book through the same ``steps`` (minutes after T0, a
    bid of EURUSD or an order), each order answered alike; the broker's events."""
    now = [T0]
    broker = PaperBroker(Database(tmp_path / "moonhook.db"), config, clock=lambda: now[0])
    told: list = []
    broker.listen(told.append)
    book = Book(config)
    for minutes, step in steps:
        now[0] = at = T0 + 60 * minutes
        if isinstance(step, float):
            await broker.quote("EURUSD", step, at)
            book.see("EURUSD", step, at)
        else:
            assert book.execute(step, at) == await broker.execute(step), step
    return broker, book, told


async def test_the_book_tells_the_deals_the_paper_broker_tells(tmp_path):
    _, book, told = await side_by_side(tmp_path, CONFIG, STEPS)
    assert [e.to_plain() for e in book.events] == [e.to_plain() for e in told]
    # What the sequence is, so that an empty or shortened one cannot pass.
    assert [(type(e).__name__, getattr(e, "entry", None), e.volume) for e in book.events] == [
        ("Fill", "in", 0.3), ("Fill", "in", 0.2), ("Fill", "in", 0.1), ("Fill", "out", 0.1), ("Fill", "out", 0.2),
        ("Closed", None, 0.3), ("Fill", "out", 0.1), ("Closed", None, 0.1), ("Fill", "out", 0.2),
        ("Closed", None, 0.2)]


async def test_a_pending_order_rejected_for_margin_is_told_alike(tmp_path):
    config = PaperConfig(spread_points=10, commission_per_lot=7.0, leverage=30.0)
    steps = [(1, 1.0800),
             (2, order(2, "pending", symbol="EURUSD", side="buy", type="limit", volume=3.0, price=1.0790)),
             (3, order(3, "pending", symbol="EURUSD", side="buy", type="limit", volume=1.0, price=1.0780)),
             (4, 1.0770)]   # crosses both: the older, 3 lots, needs 10,770 of margin, more than is free
    _, book, told = await side_by_side(tmp_path, config, steps)
    assert [e.to_plain() for e in book.events] == [e.to_plain() for e in told]
    assert [(type(e).__name__, e.volume) for e in book.events] == [("Dropped", 3.0), ("Fill", 1.0)]


async def test_positions_are_listed_by_ticket_as_the_paper_broker_lists_them(tmp_path):
    # A pending order placed first and filled after a market order opened its position: its
    # position (the order's ticket) comes first on paper. A script taking positions.list()'s
    # first, or closing until a count is reached, must meet them in the same order in replay.
    steps = [(1, 1.0800),
             (2, order(2, "pending", symbol="EURUSD", side="buy", type="limit", volume=0.1, price=1.0790)),
             (3, order(3, "market", symbol="EURUSD", side="buy", volume=0.2, price=1.0800)),
             (4, 1.0785)]   # fills the limit: position 1001, after 1002
    broker, book, _ = await side_by_side(tmp_path, CONFIG, steps)
    assert [p["ticket"] for p in await broker.positions()] == [1001, 1002]
    assert book.positions() == await broker.positions()
    assert [o.position.ticket for o in book.open_positions] == [1001, 1002]


async def test_the_account_is_the_paper_brokers_to_the_cent_with_several_positions_a_side(tmp_path):
    # Paper values the positions of a symbol and side as one, at their weighted open price: a
    # grid's equity, valued a position at a time and each rounded, would be cents off.
    broker = PaperBroker(Database(tmp_path / "moonhook.db"), CONFIG, clock=lambda: T0)
    book = Book(CONFIG)
    for n, price in enumerate((150.01, 150.05, 149.37)):
        await broker.quote("USDJPY", price, T0)
        book.see("USDJPY", price, T0)
        if n < 2:
            step = order(n, "market", symbol="USDJPY", side="buy", volume=0.37, price=price)
            assert book.execute(step, T0, price) == await broker.execute(step)
    assert (await broker.account())["equity"] == 9662.9
    assert book.account() == await broker.account()
