"""Replay's inputs and book against extreme prices: a bar price past 1e15 (or below 1e-15) is
reported with its file:line, as a price that is no positive number is (inf, nan, 0, -1); an
alert's price past 1e15 is no price of its symbol; the book's sums never raise on a price
it takes. One bar of 1e300 stopped a position out at 1e300, and ``rules.cents`` raised."""

from __future__ import annotations

from engine.app.replay import Book, read_prices
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest

T0 = 1_715_558_400.0
HEADER = "time,open,high,low,close\n"


def test_a_bar_price_no_market_has_is_reported_with_file_and_line(tmp_path):
    path = tmp_path / "EURUSD.csv"
    bad = ["1e300", "inf", "nan", "0", "-1", "1e-300"]
    rows = [f"{T0 + 3600 * i:.0f},1.1,1.1,{value},1.1\n" for i, value in enumerate(bad)]
    path.write_text(HEADER + "".join(rows) + f"{T0 + 3600 * len(bad):.0f},1.1,1.2,1.0,1.1\n")
    read = read_prices(path, "EURUSD")
    assert len(read.items) == 1 and [str(p).split(": ", 1)[0] for p in read.problems] == [
        f"{path}:{line}" for line in range(2, 8)]
    what = [p.what for p in read.problems]
    assert what[0] == "low '1e300' is past 1e15: no market's price is near it"
    assert what[1:5] == [f"low {v!r} is not a positive price" for v in ("inf", "nan", "0", "-1")]
    assert what[5] == "low '1e-300' is below 1e-15: no market's price is near it"


def market(cid: str, **fields) -> OrderRequest:
    return OrderRequest("market", cid, **{"symbol": "EURUSD", "side": "buy", "volume": 0.1, "plugin": "p", **fields})


def test_the_book_ignores_a_huge_alert_price_and_refuses_it_in_an_order():
    book = Book(PaperConfig())
    book.see("EURUSD", 1.1, T0)
    assert book.execute(market("a1"), T0, 1.1).ok
    book.see("EURUSD", 1e30, T0 + 1)
    assert book.price("EURUSD")["bid"] == 1.1 and book.account()["equity"] == 10_000.0
    said = "price: must be at most 1e15 (no market's price is near it), got 1e+30"
    assert book.execute(market("a2"), T0 + 2, 1e30).error == said
    assert book.execute(market("a3", tp=1e30), T0 + 2, 1.1).error == said.replace("price:", "tp:")


def test_the_books_sums_take_the_largest_price_without_raising():
    config = PaperConfig(balance=1e15, leverage=1e15, symbols={
        "BIG": {"quote": "USD", "digits": 2, "contract_size": 1e12, "volume_min": 1, "volume_step": 1,
                "volume_max": 1e6}})
    book = Book(config)
    book.see("BIG", 1e6, T0)
    assert book.execute(market("b1", symbol="BIG", volume=1e6), T0, 1e6).ok
    book.see("BIG", 1e15, T0 + 1)
    assert book.account()["equity"] > 1e32
    assert book.execute(OrderRequest("close", "b2", symbol="BIG", plugin="p"), T0 + 2, 1e15).ok
