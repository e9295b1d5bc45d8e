"""An entry the market fills in part, told as such: a market order on a thin book (the stand-in's GBPUSD takes IOC
only, its ``liquidity`` the lots it fills at once: the rest is cancelled), and a pending order filled in parts
(``Terminal.fill_part``, then its rest as the price crosses it). Its fill says how much of how much was asked, in
the trades chat (``describe_event``) and to the plugins (``on_fill``'s ``asked`` and ``filled``)."""

from __future__ import annotations

from engine.core.reports import describe_event
from engine.domain.orders import Fill, OrderRequest

from support.mt5_support import mt5, until


def fills(broker) -> list[Fill]:
    return [e for e in broker.events if isinstance(e, Fill) and e.entry == "in"]


async def test_a_market_entry_filled_in_part_says_how_much_of_how_much_was_asked(tmp_path):
    # "opened buy 0.3 GBPUSD @ 1.26015 (market, trend)": the trader, who asked 0.5 lots, read it as a fill of a
    # smaller order, or not at all, and a position a third smaller than the strategy's was open unseen.
    async with mt5(tmp_path) as broker:
        broker.terminal.set_symbol("GBPUSD", liquidity=0.3)
        opened = await broker.execute(OrderRequest("market", "a8-trend-open", symbol="GBPUSD", side="buy", volume=0.5,
                                                   plugin="trend", alert_id=8))
        assert opened.ok and opened.volume == 0.3, opened
        await until(lambda: fills(broker))
        (fill,) = fills(broker)
        assert (fill.volume, fill.asked, fill.filled) == (0.3, 0.5, 0.3), fill
        assert describe_event(fill) == ("opened buy 0.3 GBPUSD @ 1.26015 (market, trend): filled in part, 0.3 of 0.5 "
                                        "lots asked; the market filled no more")
        assert {"asked": 0.5, "filled": 0.3}.items() <= fill.to_plain().items()


async def test_a_pending_order_filled_in_parts_says_each_part_and_the_last(tmp_path):
    async with mt5(tmp_path) as broker:
        placed = await broker.execute(OrderRequest("pending", "a12-p-1", symbol="EURUSD", side="buy", type="limit",
                                                   price=1.07, volume=0.1, plugin="p", alert_id=12))
        broker.terminal.fill_part(placed.ticket, 0.04)
        await until(lambda: fills(broker))
        broker.terminal.set_price("EURUSD", 1.06990, 1.07000)   # the price crosses it: its rest fills
        await until(lambda: len(fills(broker)) == 2)
        first, rest = fills(broker)
        assert [(f.volume, f.asked, f.filled) for f in (first, rest)] == [(0.04, 0.1, 0.04), (0.06, 0.1, 0.1)]
        assert describe_event(first) == ("opened buy 0.04 EURUSD @ 1.07 (pending, p): filled in part, 0.04 of 0.1 "
                                         "lots asked; the rest is pending")
        assert describe_event(rest) == ("opened buy 0.06 EURUSD @ 1.07 (pending, p): the rest of its order, 0.1 of 0.1 "
                                        "lots asked filled")
        assert [p["volume"] for p in broker.terminal.positions()] == [0.1]


async def test_an_entry_filled_whole_says_nothing_of_parts(tmp_path):
    async with mt5(tmp_path) as broker:
        await broker.execute(OrderRequest("market", "a8-trend-open", symbol="EURUSD", side="buy", volume=0.5,
                                          plugin="trend", alert_id=8))
        await until(lambda: fills(broker))
        (fill,) = fills(broker)
        assert fill.asked is None and fill.filled is None
        assert describe_event(fill) == "opened buy 0.5 EURUSD @ 1.0801 (market, trend)"
