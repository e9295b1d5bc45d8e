"""The paper broker on real SQLite files: fills, refusals, client ids, triggers, stops, money."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from engine.domain.orders import Closed, Dropped, Fill, OrderRequest
from engine.adapters.brokers.paper import PaperBroker
from engine.domain.config.paper import PaperConfig
from engine.adapters.storage.database import Database
from support.older_journal import without_after
from support.paper_model import Item, PaperModel
from support.order_requests import req

# 2 pips of spread on EURUSD (20 points of 0.00001), 7.00 commission per lot and deal.
CONFIG = PaperConfig(spread_points=20, commission_per_lot=7.0)
T0 = 1_700_000_000.0


def open_broker(tmp_path, config: PaperConfig = CONFIG) -> tuple[Database, PaperBroker, list]:
    db = Database(tmp_path / "moonhook.db")
    broker = PaperBroker(db, config, clock=lambda: T0)
    events: list = []
    broker.listen(lambda event: (events.append(event), broker.told(event)))  # told at once, as the engine does
    return db, broker, events


def buy(volume=1.0, client_id=None, **fields) -> OrderRequest:
    return req("market", client_id, symbol=fields.pop("symbol", "EURUSD"), side="buy", volume=volume, **fields)


def sell(volume=1.0, client_id=None, **fields) -> OrderRequest:
    return req("market", client_id, symbol=fields.pop("symbol", "EURUSD"), side="sell", volume=volume, **fields)


async def balance(broker) -> float:
    return (await broker.account())["balance"]


# -- market orders -----------------------------------------------------------------------------

async def test_market_fills_at_the_alert_price_with_spread_and_commission(tmp_path):
    _, broker, events = open_broker(tmp_path)
    b = await broker.execute(buy(1.0, price=1.1, sl=1.095, tp=1.11, comment="hi"))
    s = await broker.execute(sell(0.5, price=1.1))
    assert (b.ok, b.price, b.volume) == (True, 1.1002, 1.0)   # the ask: 1.1 + 20 * 0.00001
    assert (s.ok, s.price, s.volume) == (True, 1.1, 0.5)      # the bid: the alert's price
    assert await balance(broker) == 10_000 - 7.0 - 3.5
    positions = await broker.positions()
    assert [(p["ticket"], p["side"], p["volume"], p["price_open"]) for p in positions] == [
        (b.ticket, "buy", 1.0, 1.1002), (s.ticket, "sell", 0.5, 1.1)]
    assert (positions[0]["sl"], positions[0]["tp"], positions[0]["comment"]) == (1.095, 1.11, "hi")
    assert positions[1]["sl"] is None and positions[0]["opened_at"] == T0
    fills = [e for e in events if isinstance(e, Fill)]
    assert [(f.position, f.entry, f.reason, f.commission) for f in fills] == [
        (b.ticket, "in", "market", -7.0), (s.ticket, "in", "market", -3.5)]


async def test_market_fills_at_the_last_quote_without_a_price(tmp_path):
    _, broker, _ = open_broker(tmp_path)
    await broker.quote("EURUSD", 1.2, T0)
    assert await broker.price("EURUSD") == {"bid": 1.2, "ask": 1.2002, "time": T0}
    assert (await broker.execute(buy(0.1))).price == 1.2002
    assert (await broker.execute(sell(0.1))).price == 1.2


async def test_refusals_name_the_problem(tmp_path):
    _, broker, events = open_broker(tmp_path, PaperConfig(symbols={"GBPUSD": {"volume_min": 0.1}}))
    cases = [
        (buy(0.1), "no price for EURUSD: send the alert's price or a quote first"),
        (buy(0.1, symbol="XYZ", price=1), "unknown symbol XYZ"),
        (buy(0.005, price=1.1), "volume 0.005 is below EURUSD's minimum 0.01 (step 0.01)"),
        (buy(0.05, symbol="GBPUSD", price=1.3), "volume 0.05 is below GBPUSD's minimum 0.1 (step 0.01)"),
        (buy(101, price=1.1), "volume 101 is above EURUSD's maximum 100"),
        (buy(-1, price=1.1), "volume: must be a positive number of lots, got -1"),
        (req("market", symbol="EURUSD", side="long", volume=1, price=1.1), "side: expected buy or sell"),
        (buy(1, price=1.1, sl=1.1001), "sl 1.1001: a buy's stop loss must be below the bid 1.1"),
        (sell(1, price=1.1, tp=1.1002), "tp 1.1002: a sell's take profit must be below the ask 1.1"),
        (req("bogus"), "kind: expected market, pending, close or modify"),
    ]
    for request, message in cases:
        result = await broker.execute(request)
        assert result.ok is False and message in result.error, (request, result)
    assert await broker.positions() == [] and events == [] and await balance(broker) == 10_000


async def test_a_market_entrys_stops_are_checked_where_it_closes_as_metatrader_checks_them(tmp_path):
    # Bid 1.1, ask 1.1002. A sell closes at the ask: its stop at 1.1001, inside the spread, is
    # refused as MetaTrader refuses it (it was accepted at the fill price, the bid, and hit by
    # the next quote). A buy closes at the bid: its target at 1.1001 is above it, accepted as
    # MetaTrader accepts it (it was refused against the fill price, the ask).
    _, broker, _ = open_broker(tmp_path, PaperConfig(spread_points=20))
    sell_sl = await broker.execute(sell(1, price=1.1, sl=1.1001))
    assert not sell_sl.ok and sell_sl.error == "sl 1.1001: a sell's stop loss must be above the ask 1.1002"
    buy_tp = await broker.execute(buy(1, price=1.1, tp=1.1001))
    assert buy_tp.ok and buy_tp.price == 1.1002
    buy_sl = await broker.execute(buy(1, price=1.1, sl=1.1001))          # above the bid: refused
    assert not buy_sl.ok and buy_sl.error == "sl 1.1001: a buy's stop loss must be below the bid 1.1"
    sell_tp = await broker.execute(sell(1, price=1.1, tp=1.1001))        # under the ask: accepted
    assert sell_tp.ok and sell_tp.price == 1.1
    assert await broker.check(sell(1, price=1.1, sl=1.1001)) == "sl 1.1001: a sell's stop loss must be above the ask 1.1002"


async def test_a_volume_is_taken_as_metatrader_takes_it(tmp_path):
    # Rounded down to the symbol's step, as the MetaTrader 5 broker sends it: paper and replay
    # show what live would trade, not a refusal live would not make.
    _, broker, _ = open_broker(tmp_path)
    assert (await broker.execute(buy(0.129, price=1.1))).volume == 0.12
    assert [p["volume"] for p in await broker.positions()] == [0.12]


async def test_a_client_id_executes_once_even_after_a_restart(tmp_path):
    db, broker, events = open_broker(tmp_path)
    first = await broker.execute(buy(0.3, "a1-engine-open", price=1.1))
    again = await broker.execute(buy(0.3, "a1-engine-open", price=1.2))
    assert first.duplicate is False and again == replace(first, duplicate=True)
    assert len(await broker.positions()) == 1 and len(events) == 1
    assert await balance(broker) == 10_000 - 0.3 * 7
    db.close()
    db, broker, events = open_broker(tmp_path)
    replay = await broker.execute(buy(0.3, "a1-engine-open", price=1.3))
    assert replay.duplicate and (replay.ticket, replay.price) == (first.ticket, 1.1002)
    assert len(await broker.positions()) == 1 and events == [] and await balance(broker) == 9997.9
    assert await broker.first_result("a1-engine-open") == first and await broker.first_result("a2-engine-open") is None


async def test_a_refusal_is_answered_alike_when_repeated(tmp_path):
    _, broker, _ = open_broker(tmp_path)
    first = await broker.execute(buy(0.1, "r1"))
    await broker.quote("EURUSD", 1.1, T0)          # now it could fill: it must not
    again = await broker.execute(buy(0.1, "r1"))
    assert (first.ok, again.ok, again.duplicate) == (False, False, True)
    assert again.error == first.error and "no price" in first.error
    assert await broker.positions() == []


# -- pending orders ----------------------------------------------------------------------------

async def test_pending_orders_trigger_only_when_crossed_and_fill_across_gaps(tmp_path):
    _, broker, events = open_broker(tmp_path)
    await broker.quote("EURUSD", 1.1, T0)
    buy_limit = await broker.execute(req("pending", symbol="EURUSD", side="buy", type="limit", price=1.095,
                                         volume=1, sl=1.09, tp=1.11))
    buy_stop = await broker.execute(req("pending", symbol="EURUSD", side="buy", type="stop", price=1.105,
                                        volume=0.5))
    assert (buy_limit.ok, buy_limit.price, buy_stop.ok) == (True, 1.095, True)
    assert [o["type"] for o in await broker.orders()] == ["limit", "stop"]
    await broker.quote("EURUSD", 1.0949, T0 + 1)   # ask 1.0951: above the limit, nothing
    await broker.quote("EURUSD", 1.1047, T0 + 2)   # ask 1.1049: below the stop, nothing
    assert events == [] and len(await broker.orders()) == 2
    await broker.quote("EURUSD", 1.0940, T0 + 3)   # ask 1.0942 <= 1.095: the limit fills, better
    await broker.quote("EURUSD", 1.1060, T0 + 4)   # ask 1.1062 >= 1.105: the stop fills, worse (gap)
    fills = [(e.position, e.price, e.reason, e.time) for e in events]
    assert fills == [(buy_limit.ticket, 1.0942, "pending", T0 + 3), (buy_stop.ticket, 1.1062, "pending", T0 + 4)]
    assert await broker.orders() == []
    positions = {p["ticket"]: p for p in await broker.positions()}
    assert (positions[buy_limit.ticket]["sl"], positions[buy_limit.ticket]["tp"]) == (1.09, 1.11)


async def test_sell_pending_orders_and_their_sides(tmp_path):
    _, broker, events = open_broker(tmp_path)
    await broker.quote("EURUSD", 1.1, T0)
    wrong = await broker.execute(req("pending", symbol="EURUSD", side="sell", type="limit", price=1.09, volume=1))
    assert not wrong.ok and "a sell limit must be at or above the bid 1.1" in wrong.error
    wrong = await broker.execute(req("pending", symbol="EURUSD", side="buy", type="stop", price=1.1, volume=1))
    assert not wrong.ok and "a buy stop must be at or above the ask 1.1002" in wrong.error
    limit = await broker.execute(req("pending", symbol="EURUSD", side="sell", type="limit", price=1.11, volume=1))
    stop = await broker.execute(req("pending", symbol="EURUSD", side="sell", type="stop", price=1.09, volume=1))
    await broker.quote("EURUSD", 1.1120, T0 + 1)   # bid gaps past the limit: fills at the bid, better
    await broker.quote("EURUSD", 1.0880, T0 + 2)   # bid gaps past the stop: fills at the bid, worse
    assert [(e.position, e.side, e.price) for e in events] == [(limit.ticket, "sell", 1.112),
                                                              (stop.ticket, "sell", 1.088)]


# -- stops and closes --------------------------------------------------------------------------

async def test_stop_loss_hit_across_a_gap_closes_at_the_worse_price(tmp_path):
    _, broker, events = open_broker(tmp_path)
    opened = await broker.execute(buy(1.0, price=1.1, sl=1.095, tp=1.11))   # fills at 1.1002
    await broker.quote("EURUSD", 1.0960, T0 + 1)
    assert len(await broker.positions()) == 1
    await broker.quote("EURUSD", 1.0940, T0 + 2)                            # bid gaps below the sl
    assert await broker.positions() == []
    out, closed = events[1], events[2]
    # (1.0940 - 1.1002) / 0.00001 ticks of 1 USD a lot, 1 lot
    assert (out.entry, out.reason, out.side, out.price, out.profit, out.commission) == (
        "out", "sl", "sell", 1.094, -620.0, -7.0)
    assert closed == Closed(opened.ticket, "EURUSD", "buy", 1.0, 1.1002, 1.094, -620.0, "sl", T0 + 2,
                            plugin="t", sl=1.095, tp=1.11, commission=-14.0, currency="USD")
    assert await balance(broker) == 10_000 - 7 - 620 - 7 == 10_000 + closed.net


async def test_take_profit_hit_on_a_sell_closes_at_the_tp(tmp_path):
    _, broker, events = open_broker(tmp_path)
    opened = await broker.execute(sell(1.0, price=1.1, sl=1.11, tp=1.09))   # fills at the bid 1.1
    await broker.quote("EURUSD", 1.0899, T0 + 1)   # ask 1.0901: not yet
    assert len(await broker.positions()) == 1
    await broker.quote("EURUSD", 1.0895, T0 + 2)   # ask 1.0897 <= 1.09
    closed = [e for e in events if isinstance(e, Closed)]
    assert [(c.ticket, c.reason, c.price_close, c.profit) for c in closed] == [(opened.ticket, "tp", 1.09, 1000.0)]
    assert await balance(broker) == 10_000 - 7 + 1000 - 7


async def test_partial_close_then_the_rest(tmp_path):
    _, broker, events = open_broker(tmp_path)
    opened = await broker.execute(buy(1.0, price=1.1))                      # at 1.1002
    part = await broker.execute(req("close", ticket=opened.ticket, volume=0.4, price=1.105))
    assert (part.ok, part.price, part.volume, part.closed) == (True, 1.105, 0.4, [])
    assert [p["volume"] for p in await broker.positions()] == [0.6]
    assert not any(isinstance(e, Closed) for e in events)
    # 0.0048 / 0.00001 * 0.4 = 192.00, commission 0.4 * 7 = 2.80
    assert await balance(broker) == 10_000 - 7 + 192 - 2.8
    too_much = await broker.execute(req("close", ticket=opened.ticket, volume=0.7, price=1.105))
    assert not too_much.ok and "has only 0.6 lots" in too_much.error
    await broker.quote("EURUSD", 1.099, T0 + 1)
    rest = await broker.execute(req("close", ticket=opened.ticket))
    assert (rest.price, rest.volume, rest.closed) == (1.099, 0.6, [opened.ticket])
    closed = events[-1]
    # -0.0012 / 0.00001 * 0.6 = -72.00; the position made 192 - 72 = 120 in all
    assert isinstance(closed, Closed) and (closed.volume, closed.profit, closed.reason) == (1.0, 120.0, "close")
    assert await balance(broker) == round(10_000 - 7 + 192 - 2.8 - 72 - 4.2, 2)


async def test_close_by_symbol_and_side(tmp_path):
    _, broker, events = open_broker(tmp_path)
    b1 = await broker.execute(buy(0.1, price=1.1))
    b2 = await broker.execute(buy(0.2, price=1.1))
    s1 = await broker.execute(sell(0.3, price=1.1))
    g = await broker.execute(buy(0.1, symbol="GBPUSD", price=1.3))
    result = await broker.execute(req("close", symbol="EURUSD", side="buy", price=1.101))
    assert (result.ok, result.closed, result.volume, result.price) == (True, [b1.ticket, b2.ticket], 0.3, 1.101)
    assert sorted(p["ticket"] for p in await broker.positions()) == [s1.ticket, g.ticket]
    assert sorted(e.ticket for e in events if isinstance(e, Closed)) == [b1.ticket, b2.ticket]
    none = await broker.execute(req("close", symbol="EURUSD", side="buy", price=1.101))
    assert none.ok is False and none.error == "no open buy position on EURUSD"
    everything = await broker.execute(req("close", symbol="EURUSD", price=1.101))
    assert everything.closed == [s1.ticket] and everything.price == 1.1012   # a sell closes at the ask


async def test_close_cancels_a_pending_order(tmp_path):
    _, broker, events = open_broker(tmp_path)
    await broker.quote("EURUSD", 1.1, T0)
    order = await broker.execute(req("pending", symbol="EURUSD", side="buy", type="limit", price=1.09, volume=1))
    cancelled = await broker.execute(req("close", ticket=order.ticket))
    assert (cancelled.ok, cancelled.ticket) == (True, order.ticket)
    assert await broker.orders() == []
    await broker.quote("EURUSD", 1.08, T0 + 1)
    assert events == [] and await broker.positions() == []
    unknown = await broker.execute(req("close", ticket=order.ticket))
    assert not unknown.ok and f"no open position or pending order {order.ticket}" in unknown.error


async def test_a_removal_of_a_pending_order_filled_meanwhile_leaves_its_position_open(tmp_path):
    # The engine's cancels carry the order's type: a removal, never a close of what its fill opened.
    _, broker, _ = open_broker(tmp_path)
    await broker.quote("EURUSD", 1.1, T0)
    order = await broker.execute(req("pending", symbol="EURUSD", side="buy", type="limit", price=1.09, volume=1))
    await broker.quote("EURUSD", 1.085, T0 + 1)                       # filled: position `order.ticket`
    refused = await broker.execute(req("close", ticket=order.ticket, type="limit"))
    assert not refused.ok and refused.error == (f"ticket {order.ticket}: the pending order was filled before it "
                                                f"could be removed: position {order.ticket} is open")
    assert [p["ticket"] for p in await broker.positions()] == [order.ticket]
    closed = await broker.execute(req("close", ticket=order.ticket))   # a close by ticket closes it
    assert closed.ok and await broker.positions() == []


async def test_modify_stops_then_hit_them(tmp_path):
    _, broker, events = open_broker(tmp_path)
    await broker.quote("EURUSD", 1.1, T0)
    opened = await broker.execute(buy(1.0, tp=1.12))
    wrong = await broker.execute(req("modify", ticket=opened.ticket, sl=1.1005))
    assert not wrong.ok and "must be below the current bid 1.1" in wrong.error
    unknown = await broker.execute(req("modify", ticket=999_999, sl=1.09))
    assert not unknown.ok and "999999" in unknown.error
    changed = await broker.execute(req("modify", ticket=opened.ticket, sl=1.098, tp=0))
    assert changed.ok
    [p] = await broker.positions()
    assert (p["sl"], p["tp"]) == (1.098, None)
    await broker.quote("EURUSD", 1.0985, T0 + 1)
    assert len(await broker.positions()) == 1
    await broker.quote("EURUSD", 1.0980, T0 + 2)
    assert events[-1].reason == "sl" and events[-1].price_close == 1.098 and await broker.positions() == []


async def test_modify_a_pending_order(tmp_path):
    _, broker, events = open_broker(tmp_path)
    await broker.quote("EURUSD", 1.1, T0)
    order = await broker.execute(req("pending", symbol="EURUSD", side="sell", type="stop", price=1.09, volume=1))
    bad = await broker.execute(req("modify", ticket=order.ticket, tp=1.095))
    assert not bad.ok and "must be below the order price 1.09" in bad.error
    moved = await broker.execute(req("modify", ticket=order.ticket, price=1.095, sl=1.1))
    assert (moved.ok, moved.price) == (True, 1.095)
    assert [(o["price"], o["sl"]) for o in await broker.orders()] == [(1.095, 1.1)]
    await broker.quote("EURUSD", 1.0945, T0 + 1)
    assert [(e.position, e.price) for e in events] == [(order.ticket, 1.0945)]


# -- the books ---------------------------------------------------------------------------------

async def test_the_books_survive_a_restart(tmp_path):
    db, broker, _ = open_broker(tmp_path)
    await broker.quote("EURUSD", 1.1, T0)
    opened = await broker.execute(buy(0.5))
    order = await broker.execute(req("pending", symbol="EURUSD", side="buy", type="limit", price=1.09, volume=0.2))
    db.close()
    db, broker, events = open_broker(tmp_path, PaperConfig(balance=50_000, spread_points=20, commission_per_lot=7))
    assert await balance(broker) == 10_000 - 3.5                       # the stored balance wins
    assert await broker.price("EURUSD") == {"bid": 1.1, "ask": 1.1002, "time": T0}
    assert [p["ticket"] for p in await broker.positions()] == [opened.ticket]
    assert [o["ticket"] for o in await broker.orders()] == [order.ticket]
    await broker.quote("EURUSD", 1.0895, T0 + 1)
    assert [e.position for e in events] == [order.ticket]
    nxt = await broker.execute(buy(0.1))
    assert nxt.ticket > order.ticket                                    # tickets are never reused


async def test_a_paper_account_takes_its_changed_balance_until_it_trades_then_says_it_keeps_its_own(tmp_path, caplog):
    """`moonhook init`, a first run, then [paper] balance and currency edited for a prop account:
    the next start kept 10,000 USD, silently, where the save had said "at the next start: [paper]"."""
    db, broker, _ = open_broker(tmp_path)
    db.close()
    db, broker, _ = open_broker(tmp_path, PaperConfig(balance=100_000, currency="EUR", commission_per_lot=7))
    assert await broker.account() == {"balance": 100_000, "equity": 100_000, "margin": 0, "margin_free": 100_000,
                                      "currency": "EUR"}
    await broker.quote("EURUSD", 1.1, T0)   # the rate a EUR account converts EURUSD's profit at
    assert (await broker.execute(buy(1.0))).ok
    db.close()
    db, broker, _ = open_broker(tmp_path, PaperConfig(balance=100_000, currency="EUR", commission_per_lot=7))
    assert await balance(broker) == 100_000 - 7 and "paper:" not in caplog.text   # its own: nothing to say
    db.close()
    db, broker, _ = open_broker(tmp_path, PaperConfig(balance=5_000))
    assert (await broker.account())["currency"] == "EUR" and await balance(broker) == 100_000 - 7
    assert ("paper: [paper] balance 5,000.00 USD is not the paper account's: it opened with 100,000.00 EUR and has "
            "traded since, and its books keep their balance and currency (a new paper account: another [engine] "
            "data folder)") in caplog.text


async def test_account_equity_and_margin_with_a_floating_profit(tmp_path):
    _, broker, _ = open_broker(tmp_path)
    await broker.execute(buy(1.0, price=1.1))                          # at 1.1002, balance 9993
    await broker.quote("EURUSD", 1.1052, T0)                           # bid 500 points above
    assert [p["profit"] for p in await broker.positions()] == [500.0]
    # margin: 1 lot * 100,000 * 1.1002 / 100 leverage = 1100.20 USD
    assert await broker.account() == {"balance": 9993.0, "equity": 10_493.0, "margin": 1100.2,
                                      "margin_free": 9392.8, "currency": "USD"}


async def test_an_entry_needing_more_margin_than_is_free_is_refused_as_metatrader_refuses_it(tmp_path):
    _, broker, _ = open_broker(tmp_path, replace(CONFIG, leverage=30.0))
    await broker.execute(buy(1.0, price=1.1))                          # 1 lot * 100,000 * 1.1002 / 30 = 3,667.33
    refused = await broker.execute(buy(2.0, price=1.1))                # 7,334.67 more; 6,325.67 free
    assert refused.error == ("not enough money: 2 lots of EURUSD need 7,334.67 USD of margin at 1:30, and the "
                             "free margin is 6,325.67")
    assert len(await broker.positions()) == 1 and await balance(broker) == 9993.0
    assert (await broker.execute(buy(1.5, price=1.1))).ok              # 5,501.00: it fits
    assert (await broker.execute(req("close", symbol="EURUSD", price=1.1))).ok   # a close needs no margin


async def test_a_pending_order_without_the_margin_when_its_price_comes_is_rejected_and_told(tmp_path):
    db, broker, events = open_broker(tmp_path, replace(CONFIG, leverage=30.0))
    await broker.quote("EURUSD", 1.1, T0)
    big = await broker.execute(req("pending", symbol="EURUSD", side="buy", type="limit", price=1.09, volume=3.0))
    small = await broker.execute(req("pending", symbol="EURUSD", side="buy", type="limit", price=1.08, volume=1.0))
    assert big.ok and small.ok                                         # placing one needs no margin
    await broker.quote("EURUSD", 1.07, T0 + 60)                        # crosses both, the older first
    (dropped, filled) = events
    assert isinstance(dropped, Dropped) and isinstance(filled, Fill) and filled.order == small.ticket
    assert (dropped.ticket, dropped.reason, dropped.price, dropped.plugin) == (big.ticket, "rejected", 1.0702, "t")
    assert dropped.detail == ("not enough money: 3 lots of EURUSD need 10,702.00 USD of margin at 1:30, and the "
                              "free margin is 10,000.00")
    assert [p["volume"] for p in await broker.positions()] == [1.0] and await broker.orders() == []
    state = db.db.execute("SELECT state FROM paper_orders WHERE ticket = ?", [big.ticket]).fetchone()[0]
    assert state == "rejected"
    await broker.quote("EURUSD", 1.06, T0 + 120)                       # gone: nothing more is told
    assert len(events) == 2


def _by_position(broker_positions: list[dict], leverage: float) -> tuple[float, float]:
    """Floating profit summed position by position, and the margin the model of the account
    (support/paper_model.py) works out from them, hedges and all (EURUSD and GBPUSD: USD-quoted)."""
    model = PaperModel(leverage=D(repr(leverage)))
    for p in broker_positions:
        model.positions[p["ticket"]] = Item(p["symbol"], p["side"], D(repr(p["volume"])), D(repr(p["price_open"])),
                                             None, None)
    return sum(p["profit"] for p in broker_positions), float(model.margin())


async def test_the_accounts_exposure_follows_every_open_part_close_stop_and_restart(tmp_path):
    # account() reads the exposure by symbol and side that triggers keep (one row a symbol, not a
    # row a position); it must say what the positions say, through every way a position changes.
    db, broker, _ = open_broker(tmp_path)
    await broker.execute(buy(1.0, price=1.1, sl=1.09))
    await broker.execute(buy(0.5, price=1.1050))
    await broker.execute(sell(0.3, price=1.1020))
    await broker.execute(buy(0.2, symbol="GBPUSD", price=1.3))
    first = (await broker.positions())[0]
    await broker.execute(req("close", ticket=first["ticket"], volume=0.4, price=1.1030))   # part of one
    await broker.quote("EURUSD", 1.1040, T0)
    await broker.quote("GBPUSD", 1.2950, T0)

    async def agrees() -> None:
        account, positions = await broker.account(), await broker.positions()
        floating, margin = _by_position(positions, 100.0)
        assert account["equity"] == pytest.approx(account["balance"] + floating, abs=0.01 * len(positions))
        assert account["margin"] == pytest.approx(margin, abs=0.01)
    await agrees()
    db.close()
    db = Database(tmp_path / "moonhook.db")                          # a restart reads the same exposure
    broker = PaperBroker(db, CONFIG, clock=lambda: T0)
    await agrees()
    await broker.quote("EURUSD", 1.0890, T0)                          # the 0.6 left of the first: stopped
    await agrees()
    await broker.execute(req("close", symbol="EURUSD", price=1.0900))
    await broker.execute(req("close", symbol="GBPUSD", price=1.2950))
    assert await broker.positions() == [] and (await broker.account())["margin"] == 0
    assert db.db.execute("SELECT positions, volume, weighted FROM paper_exposure").fetchall() == [
        (0, 0.0, 0.0), (0, 0.0, 0.0), (0, 0.0, 0.0)]                 # exactly none: no float left over


async def test_the_exposure_of_a_journal_from_before_it_is_made_from_its_positions(tmp_path):
    db, broker, _ = open_broker(tmp_path)
    await broker.execute(buy(1.0, price=1.1))
    await broker.execute(buy(0.5, price=1.12))
    before = await broker.account()
    with db.transaction():                                         # the file as schema 9 left it
        for trigger in ("open", "part", "close"):
            db.db.execute(f"DROP TRIGGER paper_exposure_{trigger}")
        db.db.execute("DROP TABLE paper_exposure")
        db.db.execute("DROP INDEX paper_orders_expiring")                 # and without schema 11's expiry
        db.db.execute("ALTER TABLE paper_orders DROP COLUMN expires")
        db.db.execute("DROP INDEX mt5_sends_doubt")                       # and without schema 17's and 18's
        db.db.execute("ALTER TABLE mt5_sends DROP COLUMN plugin")
        db.db.execute("DROP TRIGGER paper_trades_deal")                   # and without schema 19's positions
        db.db.execute("DROP TABLE paper_trades")
        for trigger in ("next", "earlier"):                              # and without schema 21's curve
            db.db.execute(f"DROP TRIGGER paper_curve_{trigger}")
        db.db.execute("DROP TABLE paper_curve")
        without_after(db.db, 21)                                        # and without schema 22's and later
        db.db.execute("PRAGMA user_version = 9")
    db.close()
    db = Database(tmp_path / "moonhook.db")
    assert await PaperBroker(db, CONFIG, clock=lambda: T0).account() == before


async def test_profit_and_margin_of_a_jpy_quoted_symbol_convert_at_the_rate(tmp_path):
    _, broker, events = open_broker(tmp_path)
    await broker.quote("USDJPY", 150.0, T0)                            # ask 150.020 (3 digits)
    opened = await broker.execute(buy(1.0, symbol="USDJPY"))
    assert opened.price == 150.02
    await broker.quote("USDJPY", 151.0, T0 + 1)                        # bid 151.000, ask 151.020
    mid = (151.0 + 151.02) / 2
    jpy = (151.0 - 150.02) * 100_000                                   # 98,000 JPY on 1 lot
    assert [p["profit"] for p in await broker.positions()] == [round(jpy / mid, 2)]   # 648.96
    account = await broker.account()
    assert account["margin"] == round(100_000 * 150.02 / 100 / mid, 2)
    assert (await broker.symbol("USDJPY"))["tick_value"] == pytest.approx(100_000 * 0.001 / mid)
    await broker.execute(req("close", ticket=opened.ticket))
    assert events[-1].profit == round(jpy / mid, 2)
    assert await balance(broker) == round(10_000 - 7 + round(jpy / mid, 2) - 7, 2)


async def test_a_eur_quoted_index_needs_a_rate_then_converts_with_it(tmp_path):
    _, broker, _ = open_broker(tmp_path)
    refused = await broker.execute(buy(1.0, symbol="GER40", price=18_000))
    assert not refused.ok and "no price of EURUSD or USDEUR" in refused.error
    await broker.quote("EURUSD", 1.1, T0)                              # mid 1.1001
    opened = await broker.execute(buy(1.0, symbol="GER40", price=18_000))   # ask 18002.0
    assert opened.price == 18_002.0
    await broker.execute(req("close", ticket=opened.ticket, price=18_100))
    # 98 points of 1 EUR a lot at 1.1001 USD a euro
    assert await balance(broker) == round(10_000 - 7 + round(98 * 1.1001, 2) - 7, 2)


async def test_symbol_spec_and_unknown_symbols(tmp_path):
    _, broker, _ = open_broker(tmp_path, PaperConfig(symbols={"BTCUSD": {"volume_step": 0.001, "volume_min": 0.001}}))
    spec = await broker.symbol("BTCUSD")
    assert (spec["name"], spec["volume_step"], spec["digits"], spec["tick_value"]) == ("BTCUSD", 0.001, 2, 0.01)
    assert spec["commission"] == 0.0   # a lot's round trip: 2 x commission_per_lot
    assert await broker.symbol("NOPE") is None and await broker.price("EURUSD") is None
    await broker.quote("BTCUSD", 65_000.0, T0)
    assert (await broker.execute(buy(0.003, symbol="BTCUSD"))).volume == 0.003


@pytest.mark.parametrize("fields, message", [
    ({"balance": -5}, "paper.balance: must be a positive number, got -5"),
    ({"leverage": 0}, "paper.leverage: must be a positive number, got 0"),
    ({"spread_points": -1}, "paper.spread_points: must be a number, 0 or more"),
    ({"currency": "dollars"}, "paper.currency: expected a 3-letter currency code"),
    ({"spreads": {"NOPE": 1}}, "paper.spreads.NOPE: unknown symbol"),
    ({"spreads": {"EURUSD": "x"}}, "paper.spreads.EURUSD: must be a number of points"),
    ({"symbols": {"EURUSD": {"digits": 12}}}, "paper.symbols.EURUSD.digits"),
])
def test_config_refuses_bad_values_naming_the_key(fields, message):
    with pytest.raises(ValueError, match=message.replace(".", r"\.")):
        PaperConfig(**fields)


async def test_per_symbol_spread_overrides_the_default(tmp_path):
    _, broker, _ = open_broker(tmp_path, PaperConfig(spread_points=20, spreads={"XAUUSD": 35}))
    await broker.quote("XAUUSD", 2400.0, T0)
    await broker.quote("EURUSD", 1.1, T0)
    assert (await broker.price("XAUUSD"))["ask"] == 2400.35
    assert (await broker.price("EURUSD"))["ask"] == 1.1002


async def test_margin_without_a_rate_is_left_out_and_stops_wait_for_one(tmp_path):
    db, broker, _ = open_broker(tmp_path)
    await broker.quote("EURUSD", 1.1, T0)
    await broker.execute(buy(1.0, symbol="GER40", price=18_000, sl=17_900))
    await broker.quote("EURUSD", 1.1, T0)   # the rate a EUR account converts EURUSD's profit at
    assert (await broker.execute(buy(1.0))).ok
    db.close()
    # GER40 now quoted in CHF, with no USDCHF price: its margin and profit are unknown
    db, broker, events = open_broker(tmp_path, PaperConfig(symbols={"GER40": {"quote": "CHF"}},
                                                           spread_points=20, commission_per_lot=7))
    account = await broker.account()
    assert account["margin"] == round(1.1002 * 100_000 / 100, 2)        # EURUSD's alone
    assert account["margin_free"] == round(account["equity"] - account["margin"], 2)
    await broker.quote("GER40", 17_800, T0 + 1)                        # through the stop, but no rate
    assert len(await broker.positions("GER40")) == 1 and events == []


async def test_odd_prices_and_a_modify_without_a_quote(tmp_path):
    _, broker, events = open_broker(tmp_path)
    await broker.quote("EURUSD", -1, T0)                               # ignored
    await broker.quote("USDSEK", 10.5, T0)                             # unknown: kept as a rate
    assert await broker.price("EURUSD") is None
    assert await broker.price("USDSEK") == {"bid": 10.5, "ask": 10.5, "time": T0}
    opened = await broker.execute(buy(0.1, price=1.1))                 # at 1.1002, no quote recorded
    wrong = await broker.execute(req("modify", ticket=opened.ticket, sl=1.101))
    assert not wrong.ok and "below the open price 1.1002" in wrong.error
    nothing = await broker.execute(req("modify", ticket=opened.ticket))
    assert not nothing.ok and "give sl, tp" in nothing.error
    assert [p["profit"] for p in await broker.positions()] == [0.0]


async def test_a_partial_close_may_not_leave_less_than_the_minimum(tmp_path):
    _, broker, _ = open_broker(tmp_path, PaperConfig(symbols={"GBPUSD": {"volume_min": 0.1}}))
    opened = await broker.execute(buy(0.2, symbol="GBPUSD", price=1.3))
    refused = await broker.execute(req("close", ticket=opened.ticket, volume=0.15))
    assert not refused.ok and "would leave 0.05 lots" in refused.error and "minimum 0.1" in refused.error
    assert [p["volume"] for p in await broker.positions()] == [0.2]
    off_step = await broker.execute(req("close", ticket=opened.ticket, volume=0.105, price=1.3))   # as MT5: 0.1
    assert off_step.ok and off_step.volume == 0.1 and [p["volume"] for p in await broker.positions()] == [0.1]


async def test_a_quote_without_a_trade_is_kept_across_a_clean_stop(tmp_path):
    db = Database(tmp_path / "p.db")
    broker = PaperBroker(db)
    await broker.quote("EURUSD", 1.2345, 100.0)
    assert (await broker.price("EURUSD"))["bid"] == 1.2345
    await broker.stop()
    again = PaperBroker(db)
    assert await again.price("EURUSD") == {"bid": 1.2345, "ask": 1.2345, "time": 100.0}


async def test_a_quote_searches_its_triggers_by_index_not_by_scanning_positions(tmp_path):
    # A quote is on every alert's path; with hundreds of positions open it must not read them all.
    from engine.adapters.brokers.paper.rules import PENDING_CROSSED, STOPS_CROSSED

    db, broker, _ = open_broker(tmp_path)
    for sql in (PENDING_CROSSED, STOPS_CROSSED):
        plan = [row[3] for row in db.db.execute("EXPLAIN QUERY PLAN " + sql, ["EURUSD", 1.1, 1.1])]
        searches = [step for step in plan if step.startswith(("SEARCH", "SCAN"))]
        assert len(searches) == 4 and all(" USING INDEX " in s and s.startswith("SEARCH") for s in searches), plan


async def test_a_half_cent_is_rounded_alike_whatever_the_volume(tmp_path):
    """3.5 a lot (a common commission a side) on 0.03 lots is 0.105: it was booked 0.10, and
    0.175 on 0.05 lots 0.18, as the float of the product fell either side of the half cent.
    Every half cent of commission or profit now goes away from zero, as on 0.05 lots."""
    _, broker, _ = open_broker(tmp_path, PaperConfig(commission_per_lot=3.5))
    for volume in (0.03, 0.05, 0.21, 0.29):
        assert (await broker.execute(buy(volume, price=1.1))).ok
    assert [d["commission"] for d in await broker.history()] == [-0.11, -0.18, -0.74, -1.02]
    assert await balance(broker) == 9997.95
