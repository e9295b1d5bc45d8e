"""Replay's fill model (``engine/app/replay/fills.py``) against a fixture computed by hand.

The account: [paper] with a spread of 10 points (EURUSD: 5 digits, a point 0.00001, so the
ask is the bid + 0.00010) and a commission of 7.00 a lot on each deal (0.70 for 0.1 lot).
EURUSD's contract is 100,000, so a point of one lot is worth 1.00 USD: profit = points moved
x volume. Bars are hourly, from T0 (2024-05-13 09:00 UTC); prices are bids.
"""

from __future__ import annotations

from engine.app.replay import Bar, Book, ClosedTrade, EquityPoint, Outside
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import Dropped, OrderRequest

T0, H = 1_715_590_800.0, 3600.0
CONFIG = PaperConfig(spread_points=10, commission_per_lot=7.0)
BARS = {"EURUSD": [
    Bar(T0,         1.08000, 1.08100, 1.07900, 1.08050),   # b0
    Bar(T0 + H,     1.08050, 1.08150, 1.08000, 1.08100),   # b1
    Bar(T0 + 2 * H, 1.08100, 1.08400, 1.07750, 1.07800),   # b2: a wide bar
    Bar(T0 + 3 * H, 1.07500, 1.07600, 1.07400, 1.07550),   # b3: opens 30 points under b2's close (a gap)
    Bar(T0 + 4 * H, 1.07550, 1.07700, 1.07500, 1.07650),   # b4: the last, ends at T0 + 5H
]}


def market(side: str, volume: float = 0.1, sl: float | None = None, tp: float | None = None) -> OrderRequest:
    return OrderRequest("market", "c", symbol="EURUSD", side=side, volume=volume, sl=sl, tp=tp, plugin="p")


def test_a_buy_at_the_alerts_price_stopped_inside_the_third_bar():
    book = Book(CONFIG, BARS)
    # Inside b0, at 1.08000 as the bid: a buy fills at the ask 1.08010; commission -0.70.
    result = book.execute(market("buy", sl=1.07800, tp=1.08500), T0 + 1800, 1.08000)
    assert (result.ok, result.ticket, result.price, result.volume) == (True, 1001, 1.0801, 0.1)
    assert book.balance == 9999.30
    book.finish()
    # b1 (1.08000-1.08150) reaches neither; b2's low 1.07750 passes the stop: closed at 1.07800.
    # (1.07800 - 1.08010) = -210 points x 0.1 = -21.00; commission -0.70 + -0.70 = -1.40.
    assert book.closed_trades == [ClosedTrade(1001, "EURUSD", "buy", 0.1, T0 + 1800, 1.0801, T0 + 2 * H, 1.078,
                                              -21.0, -1.4, "sl", "p", None)]
    assert book.balance == 9977.60   # 10,000 - 0.70 - 21.00 - 0.70
    assert book.equity == [EquityPoint(T0 + 1800, 10000.0), EquityPoint(T0 + 2 * H, 9977.6)]
    assert book.open_positions == [] and book.stops_simulated and book.outside == []


def test_a_sell_without_a_price_fills_at_the_next_open_and_takes_its_target():
    book = Book(CONFIG, BARS)
    # At T0 + 30 min with no price: b1's open 1.08050 is the bid, where a sell fills; 0.2 lot: -1.40.
    result = book.execute(market("sell", 0.2, sl=1.08500, tp=1.07900), T0 + 1800)
    assert (result.ok, result.price) == (True, 1.0805)
    book.finish()
    # b1: the ask runs 1.08010-1.08160, neither level. b2: its high's ask 1.08410 stays under the
    # stop; its low's ask 1.07760 passes the target: closed at 1.07900 (the ask).
    # (1.08050 - 1.07900) = 150 points x 0.2 = 30.00; commission -1.40 x 2 = -2.80.
    assert book.closed_trades == [ClosedTrade(1001, "EURUSD", "sell", 0.2, T0 + H, 1.0805, T0 + 2 * H, 1.079,
                                              30.0, -2.8, "tp", "p", None)]
    assert book.balance == 10027.20   # 10,000 - 1.40 + 30.00 - 1.40


def test_a_bar_reaching_both_the_stop_and_the_target_takes_the_stop():
    book = Book(CONFIG, BARS)
    book.execute(market("buy", sl=1.07900, tp=1.08300), T0 + 1800, 1.08000)   # at the ask 1.08010
    book.finish()
    # b2 reaches 1.08400 (over the target) and 1.07750 (under the stop): the stop is taken.
    # (1.07900 - 1.08010) = -110 points x 0.1 = -11.00.
    [trade] = book.closed_trades
    assert (trade.reason, trade.close_price, trade.close_time, trade.profit) == ("sl", 1.079, T0 + 2 * H, -11.0)


def test_a_bar_opening_beyond_the_stop_closes_at_its_open():
    book = Book(CONFIG, BARS)
    book.execute(market("buy", sl=1.07700, tp=1.09000), T0 + 1800, 1.08000)   # at the ask 1.08010
    book.finish()
    # b2's low 1.07750 stays over the stop; b3 opens at 1.07500, under it: closed at the open.
    # (1.07500 - 1.08010) = -510 points x 0.1 = -51.00.
    assert book.closed_trades == [ClosedTrade(1001, "EURUSD", "buy", 0.1, T0 + 1800, 1.0801, T0 + 3 * H, 1.075,
                                              -51.0, -1.4, "sl", "p", None)]
    assert book.balance == 9947.60   # 10,000 - 0.70 - 51.00 - 0.70


def test_a_close_takes_the_next_open_and_a_position_left_open_is_valued_at_the_last_close():
    book = Book(CONFIG, BARS)
    assert book.execute(market("buy"), T0 + 1800).price == 1.0806          # b1's open 1.08050 + spread
    assert book.execute(market("sell"), T0 + H + 600, 1.08100).price == 1.081
    # closelong at T0 + 2H + 30 min, no price: b3's open 1.07500 is the bid the buy closes at.
    close = OrderRequest("close", "c2", symbol="EURUSD", side="buy")
    result = book.execute(close, T0 + 2 * H + 1800)
    assert (result.ok, result.price, result.closed) == (True, 1.075, [1001])
    book.finish()
    # (1.07500 - 1.08060) = -560 points x 0.1 = -56.00.
    assert [(t.ticket, t.close_price, t.close_time, t.profit, t.reason) for t in book.closed_trades] == [
        (1001, 1.075, T0 + 3 * H, -56.0, "close")]
    # The sell is still open; at b4's close 1.07650 it would buy back at the ask 1.07660:
    # (1.08100 - 1.07660) = 440 points x 0.1 = 44.00.
    [left] = book.open_positions
    assert (left.position.ticket, left.position.side, left.price_last, left.profit) == (1002, "sell", 1.0766, 44.0)
    # 10,000 - 0.70 (buy) - 0.70 (sell) - 56.00 - 0.70 (close) = 9941.90
    assert book.balance == 9941.90


def test_a_spread_per_symbol_overrides_the_default():
    book = Book(PaperConfig(spread_points=10, spreads={"EURUSD": 25}), BARS)
    assert book.execute(market("buy"), T0 + 1800, 1.08000).price == 1.08025


def test_without_bars_orders_fill_at_the_alerts_price_and_stops_are_not_simulated():
    book = Book(CONFIG)
    assert book.stops_simulated
    assert book.execute(market("buy", sl=1.07000), T0, 1.08000).price == 1.0801
    # Nothing to take the stop with, however far the price goes before the close at 1.06000 (bid).
    result = book.execute(OrderRequest("close", "c2", symbol="EURUSD"), T0 + 10 * H, 1.06000)
    assert (result.ok, result.price) == (True, 1.06)
    # (1.06000 - 1.08010) = -2010 points x 0.1 = -201.00, closed by the order, not the stop.
    [trade] = book.closed_trades
    assert (trade.reason, trade.profit, trade.commission) == ("close", -201.0, -1.4)
    assert not book.stops_simulated and book.without_prices == ["EURUSD"]
    refused = Book(CONFIG).execute(market("buy"), T0)
    assert not refused.ok and refused.error == \
        "no price for EURUSD: the alert has none and replay has no bars for it"


def test_an_alert_outside_the_price_data_is_reported():
    book = Book(CONFIG, BARS)
    # Before b0: it fills at its price and is reported; its stop is checked from b0 on.
    assert book.execute(market("buy"), T0 - 600, 1.08000).ok
    assert book.execute(market("buy"), T0 + 5 * H - 1, 1.07600).ok   # inside b4: not reported
    assert book.execute(market("sell"), T0 + 5 * H, 1.07600).ok      # b4 has ended
    late = book.execute(market("sell"), T0 + 6 * H)                 # no price and no bar after it
    assert not late.ok and late.error == "no price for EURUSD: the alert has none and no bar opens after it"
    assert book.outside == [Outside(T0 - 600, "EURUSD", "before the first bar"),
                            Outside(T0 + 5 * H, "EURUSD", "after the last bar"),
                            Outside(T0 + 6 * H, "EURUSD", "after the last bar")]


def test_refusals_name_what_is_wrong():
    book = Book(CONFIG, BARS)
    assert book.execute(market("buy", sl=1.09000), T0, 1.08000).error == \
        "sl 1.09: a buy's stop loss must be below the bid 1.08"
    assert book.execute(OrderRequest("close", "c", symbol="EURUSD"), T0).error == "no open position on EURUSD"
    assert book.execute(pending("buy", "limit", 1.09000), T0 + 1800).error == \
        "price 1.09: a buy limit must be at or below the ask 1.0806"
    assert book.closed_trades == [] and book.balance == 10000.0


def test_a_market_entrys_stops_are_checked_where_it_closes_as_metatrader_and_paper_check_them():
    # Bid 1.08, ask 1.0801: a sell's stop inside the spread is refused, a buy's target there taken.
    book = Book(CONFIG, BARS)
    assert book.execute(market("sell", sl=1.08005), T0, 1.08000).error == \
        "sl 1.08005: a sell's stop loss must be above the ask 1.0801"
    assert book.execute(market("buy", tp=1.08005), T0, 1.08000).ok


def test_an_entry_needing_more_margin_than_is_free_is_refused_as_the_paper_broker_refuses_it():
    book = Book(CONFIG, BARS)                  # 10,000 USD at 1:100: 1 lot of EURUSD needs about 1,080
    assert book.execute(market("buy", volume=9.0), T0, 1.08000).ok     # 9,720.90 of margin; equity 9,847 (63 commission, 90 spread)
    assert book.execute(market("buy", volume=1.0), T0, 1.08000).error == (
        "not enough money: 1 lots of EURUSD need 1,080.10 USD of margin at 1:100, and the free margin is 126.10")


def pending(side: str, type_: str, price: float, sl: float | None = None) -> OrderRequest:
    return OrderRequest("pending", "c", symbol="EURUSD", side=side, volume=0.1, price=price, type=type_, sl=sl,
                        plugin="p")


def test_a_buy_limit_filled_at_its_price_inside_a_bar_then_stopped_by_a_gap():
    book = Book(CONFIG, BARS)
    # Placed inside b0 (the ask 1.08060 after it): waits below. b1's low ask 1.08010 misses it;
    # b2's low 1.07750 (ask 1.07760) passes through 1.07900: filled there, commission -0.70.
    placed = book.execute(pending("buy", "limit", 1.07900, sl=1.07600), T0 + 1800)
    assert (placed.ok, placed.ticket, placed.price) == (True, 1001, 1.079)
    assert [o["ticket"] for o in book.orders()] == [1001] and book.positions() == []
    book.finish()
    # Checked from b3, which opens at 1.07500, under the stop: closed at the open.
    # (1.07500 - 1.07900) = -400 points x 0.1 = -40.00; commission -1.40.
    assert book.closed_trades == [ClosedTrade(1001, "EURUSD", "buy", 0.1, T0 + 2 * H, 1.079, T0 + 3 * H, 1.075,
                                              -40.0, -1.4, "sl", "p", None)]
    assert book.orders() == [] and book.balance == 10000.0 - 41.40


def test_a_sell_stop_gapped_through_fills_at_the_open_and_a_cancelled_order_never_fills():
    book = Book(CONFIG, BARS)
    # Inside b2 (its close 1.07800 the bid): a sell stop at 1.07600 waits below; b3 opens at
    # 1.07500, through it: filled at the open, the better of the two for the market.
    book.execute(pending("sell", "stop", 1.07600), T0 + 2 * H + 1800)
    cancelled = book.execute(pending("buy", "limit", 1.07450), T0 + 2 * H + 1800)
    assert book.execute(OrderRequest("close", "c", ticket=cancelled.ticket), T0 + 2 * H + 1800).ok
    book.finish()
    (left,) = book.open_positions
    assert (left.position.side, left.position.price_open, left.position.opened_at) == ("sell", 1.075, T0 + 3 * H)
    # b3's low 1.07400 (ask 1.07410) would have filled the cancelled buy limit: it did not.
    assert len(book.positions()) == 1 and book.orders() == []
    # Valued at b4's close, the ask 1.07660: (1.07500 - 1.07660) = -160 points x 0.1 = -16.00.
    assert (left.price_last, left.profit) == (1.0766, -16.0)


def test_a_removal_that_finds_its_order_filled_by_the_bars_before_it_leaves_the_position_open():
    book = Book(CONFIG, BARS)
    placed = book.execute(pending("buy", "limit", 1.07900), T0 + 1800)     # filled inside b2
    removal = book.execute(OrderRequest("close", "x", ticket=placed.ticket, type="limit", plugin="engine"), T0 + 3 * H)
    assert not removal.ok and removal.error == ("ticket 1001: the pending order was filled before it could be "
                                                "removed: position 1001 is open")
    assert [p["ticket"] for p in book.positions()] == [1001]


def test_a_pending_order_leaves_unfilled_at_its_expiry_as_on_paper():
    book = Book(CONFIG, BARS)
    # The buy limit of the test above, given until b2 opens: b2 would fill it, but it is gone.
    late = OrderRequest("pending", "c1", symbol="EURUSD", side="buy", volume=0.1, price=1.07900, type="limit",
                        plugin="p", expiry=1.5 * H)   # placed at T0 + 30 min: gone at T0 + 2H
    kept = OrderRequest("pending", "c2", symbol="EURUSD", side="buy", volume=0.1, price=1.07900, type="limit",
                        plugin="p", expiry=1.5 * H + 1)
    assert book.execute(late, T0 + 1800).ok and book.execute(kept, T0 + 1800).ok
    assert [o["expires"] for o in book.orders()] == [T0 + 2 * H, T0 + 2 * H + 1]
    book.finish()
    (dropped,) = [e for e in book.events if isinstance(e, Dropped)]
    assert (dropped.ticket, dropped.reason, dropped.time, dropped.detail) == (
        1001, "expired", T0 + 2 * H, "its expiry came, 5400 s after it was placed")
    assert [p.position.ticket for p in book.open_positions] == [1002]   # a second later: filled in b2


def test_a_pending_order_expires_by_the_clock_but_not_before_a_bar_still_to_walk_that_fills_it():
    # The paper broker removes an order at its expiry, a price or not: an advance past it (an
    # alert's, a timer's) removes it. A timer inside a bar walks only the bars ended by then: the
    # bar under way, which opened before the expiry, may fill the order, and is walked later.
    book = Book(CONFIG, BARS)
    for cid, expiry in (("c1", 1.5 * H), ("c2", 1.5 * H + 1)):
        assert book.execute(OrderRequest("pending", cid, symbol="EURUSD", side="buy", volume=0.1, price=1.07900,
                                         type="limit", plugin="p", expiry=expiry), T0 + 1800).ok
    book.advance(T0 + 2.5 * H, ended=True)   # b2 (from T0 + 2H) is under way: c2 is not gone
    assert [(e.ticket, e.time) for e in book.events if isinstance(e, Dropped)] == [(1001, T0 + 2 * H)]
    assert [o["ticket"] for o in book.orders()] == [1002]
    book.finish()
    assert [p.position.ticket for p in book.open_positions] == [1002]   # filled in b2, before its expiry

    unpriced = Book(CONFIG, {})   # no bars: gone when the clock passes its expiry
    unpriced.see("EURUSD", 1.08, T0)
    assert unpriced.execute(OrderRequest("pending", "c", symbol="EURUSD", side="buy", volume=0.1, price=1.07,
                                         type="limit", plugin="p", expiry=60), T0).ok
    unpriced.advance(T0 + 59)
    assert [o["ticket"] for o in unpriced.orders()] == [1001]
    unpriced.advance(T0 + 61)
    assert unpriced.orders() == [] and [e.reason for e in unpriced.events if isinstance(e, Dropped)] == ["expired"]


def test_a_pending_orders_price_can_be_moved_and_a_positions_cannot():
    book = Book(CONFIG, BARS)
    o = book.execute(pending("buy", "limit", 1.07000), T0 + 1800)
    moved = book.execute(OrderRequest("modify", "c", ticket=o.ticket, price=1.07900), T0 + 1800)
    assert (moved.ok, moved.price) == (True, 1.079)
    book.advance(T0 + 3 * H)
    assert [p["price_open"] for p in book.positions()] == [1.079]   # filled in b2, as above
    assert book.execute(OrderRequest("modify", "c", ticket=o.ticket, price=1.07), T0 + 3 * H).error == \
        f"price: position {o.ticket} is open; only a pending order's price can change"


def test_the_same_calls_give_the_same_book():
    def replay() -> tuple:
        book = Book(CONFIG, BARS)
        book.execute(market("buy", sl=1.07800, tp=1.08500), T0 + 1800, 1.08000)
        book.execute(market("sell", 0.2, sl=1.08500, tp=1.07900), T0 + 1800)
        book.finish()
        return book.closed_trades, book.equity, book.balance
    assert replay() == replay()


def test_part_of_a_position_closed_by_its_ticket_then_the_rest():
    book = Book(CONFIG)
    assert book.execute(market("buy", 0.2), T0, 1.08000).price == 1.0801   # commission -1.40
    part = book.execute(OrderRequest("close", "c2", ticket=1001, volume=0.1), T0 + H, 1.08110)
    assert (part.ok, part.price, part.volume, part.closed) == (True, 1.0811, 0.1, [])
    rest = book.execute(OrderRequest("close", "c3", ticket=1001), T0 + 2 * H, 1.08210)
    assert (rest.ok, rest.volume, rest.closed) == (True, 0.1, [1001])
    # 100 points x 0.1 = 10.00, its commission -0.70 and the opening -1.40; then 200 x 0.1 = 20.00, -0.70.
    assert [(t.volume, t.profit, t.commission) for t in book.closed_trades] == [(0.1, 10.0, -2.1), (0.1, 20.0, -0.7)]
    assert book.balance == 10027.20   # 10,000 - 1.40 + 10.00 - 0.70 + 20.00 - 0.70


def test_a_yen_profit_is_converted_to_the_account_currency_at_the_pairs_own_price():
    book = Book(CONFIG)   # USDJPY: 3 digits, so 10 points of spread are 0.010 yen
    buy = OrderRequest("market", "c", symbol="USDJPY", side="buy", volume=0.1)
    assert book.execute(buy, T0, 150.000).price == 150.01
    book.execute(OrderRequest("close", "c2", symbol="USDJPY"), T0 + H, 151.000)
    # 990 points of 0.001 yen x 100,000 = 99,000 yen a lot, / 151.005 (the mid) x 0.1 = 65.5607... -> 65.56
    assert book.closed_trades[0].profit == 65.56


def test_modify_moves_a_stop_that_the_bars_then_take():
    book = Book(CONFIG, BARS)
    book.execute(market("buy"), T0 + 1800, 1.08000)   # at the ask 1.08010, no stop
    assert book.execute(OrderRequest("modify", "c2", ticket=1001, sl=1.08020), T0 + 1900).error == \
        "sl 1.0802: a buy's stop loss must be below the current bid 1.08"
    assert book.execute(OrderRequest("modify", "c3", ticket=1001, sl=1.07990), T0 + 1900).ok
    book.finish()
    # b1 holds over 1.07990 (its low 1.08000); b2's low 1.07750 takes it: -20 points x 0.1 = -2.00.
    assert [(t.close_price, t.close_time, t.profit) for t in book.closed_trades] == [(1.0799, T0 + 2 * H, -2.0)]
