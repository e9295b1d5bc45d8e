"""The default execution (engine/core/execution.py): the order requests an alert asks for when no
plugin handled it. The broker is a FakeBroker: what matters is the plan made from what a broker
answers (positions, quotes, the balance, symbol specifications), not how a broker fills."""

from __future__ import annotations

import pytest

from engine.adapters.brokers.mt5.orders import entry_request
from engine.app.alert_check import check_alert
from engine.core.execution import plan
from engine.domain.alerts import parse_body
from engine.domain.orders import OrderRequest
from engine.domain.risk import loss_at_stop

from support.engine_support import process, running
from support.fakes import SPECS, FakeBroker

EURUSD = {"bid": 1.1000, "ask": 1.1002, "time": 0.0}


def alert(body: str):
    return parse_body(body)


def position(ticket: int, symbol: str, side: str, price_open: float, volume: float = 0.1) -> dict:
    return {"ticket": ticket, "symbol": symbol, "side": side, "volume": volume, "price_open": price_open,
            "sl": None, "tp": None, "profit": 0.0, "plugin": "engine", "comment": None, "opened_at": 0.0}


async def test_a_market_entry_is_one_open_request_named_after_its_alert_with_stops_in_pips():
    made = await plan(alert("buy EURUSD volume=0.3 price=1.1 sl_pips=20 tp_pips=40 comment=x"), 7, FakeBroker(), None)
    assert (made.error, made.note) == (None, None)
    assert made.requests == [OrderRequest("market", "a7-engine-open", symbol="EURUSD", side="buy", volume=0.3,
                                          price=1.1, sl=1.098, tp=1.104, comment="x", plugin="engine", alert_id=7)]


async def test_a_sells_stops_lie_the_other_way_and_a_jpy_pip_is_a_hundredth():
    made = await plan(alert("sell USDJPY volume=1 price=150 sl_pips=25 tp_pips=50"), 1, FakeBroker(), None)
    (request,) = made.requests
    assert (request.side, request.sl, request.tp) == ("sell", 150.25, 149.5)


async def test_without_a_price_the_stops_are_measured_from_the_brokers_ask_or_bid():
    broker = FakeBroker(prices={"EURUSD": EURUSD})
    buy = (await plan(alert("buy EURUSD volume=0.1 sl_pips=10"), 1, broker, None)).requests[0]
    sell = (await plan(alert("sell EURUSD volume=0.1 sl_pips=10"), 2, broker, None)).requests[0]
    assert (buy.price, buy.sl) == (None, 1.0992)     # the ask, 1.1002, less 10 pips; the broker prices it
    assert (sell.price, sell.sl) == (None, 1.101)    # the bid, 1.1000, plus 10 pips
    made = await plan(alert("buy GBPUSD volume=0.1"), 3, broker, None)
    assert made.requests == [] and made.error == "no price for GBPUSD: the alert has none and the broker has no quote"


async def test_risk_sizes_the_volume_from_the_brokers_balance_and_the_stop():
    # 1% of 10,000 USD is 100 USD; a 20-pip stop on EURUSD costs 200 USD a lot: 0.5 lots
    body = "buy EURUSD risk=1 sl_pips=20 price=1.1"
    assert (await plan(alert(body), 1, FakeBroker(), None)).requests[0].volume == 0.5
    poorer = FakeBroker(account={"balance": 2_000.0, "equity": 2_000.0, "margin": 0.0, "margin_free": 2_000.0,
                                 "currency": "USD"})
    assert (await plan(alert(body), 1, poorer, None)).requests[0].volume == 0.1


async def test_the_volume_comes_from_the_alert_then_risk_then_the_default_else_nothing_is_sent():
    broker = FakeBroker()
    assert (await plan(alert("buy EURUSD volume=0.2 price=1.1"), 1, broker, 0.05)).requests[0].volume == 0.2
    assert (await plan(alert("buy EURUSD price=1.1"), 1, broker, 0.05)).requests[0].volume == 0.05
    made = await plan(alert("buy EURUSD price=1.1"), 1, broker, None)
    assert made.requests == [] and made.error.startswith("no volume")


@pytest.mark.parametrize("field", ["contracts", "qty", "Quantity"])
async def test_an_entry_sized_by_a_field_moonhook_does_not_read_is_refused_not_given_the_default(field):
    """``"contracts": "100000"`` (or TradersPost's ``quantity``) is an extra field for the
    plugins: the entry went out at engine.default_volume, 0.01 lots for the 1 lot meant."""
    made = await plan(alert(f'{{"symbol": "EURUSD", "action": "buy", "price": 1.1, "{field}": "100000"}}'), 1,
                      FakeBroker(), 0.01)
    assert made.requests == []
    assert made.error == f"no volume: {field}='100000' is not read as a size: give volume= (lots), units= " \
                         "(TradingView's contracts), risk= or risk_amount="


async def test_a_close_sized_by_a_field_moonhook_does_not_read_is_refused_not_made_whole():
    """``{"action": "close", "qty": 0.5}`` closed all the position, not the half meant; a strategy's
    order that left it flat closes all of it, whatever its contracts."""
    held = position(11, "EURUSD", "buy", 1.1)
    made = await plan(alert('{"symbol": "EURUSD", "action": "close", "qty": 0.5}'), 1, FakeBroker(positions=[held]),
                      None)
    assert made.requests == [] and made.error == "qty=0.5 is not read as the size to close: give volume= (lots) " \
                                                 "or units=, or neither to close the whole position"
    flat = '{"symbol": "EURUSD", "action": "sell", "contracts": 1, "position": "flat", "position_size": 0}'
    assert [r.kind for r in (await plan(alert(flat), 2, FakeBroker(positions=[held]), None)).requests] == ["close"]


@pytest.mark.parametrize("field, name", [("stop_loss", "sl"), ("stopLoss", "sl"), ("take_profit", "tp")])
async def test_an_entry_with_a_stop_moonhook_does_not_read_is_refused_not_sent_without_it(field, name):
    """``"stop_loss": 1.09`` was an extra field for the plugins: the entry went out with no stop."""
    made = await plan(alert(f'{{"symbol": "EURUSD", "action": "buy", "price": 1.1, "volume": 0.1, "{field}": 1.09}}'),
                      1, FakeBroker(), None)
    assert made.requests == []
    assert made.error == f"{field}=1.09 is not read as the entry's {name}: give {name}= (a price) or {name}_pips="
    kept = await plan(alert(f'{{"symbol": "EURUSD", "action": "buy", "price": 1.1, "volume": 0.1, "sl": 1.09, '
                            f'"tp": 1.2, "{field}": 1.09}}'), 1, FakeBroker(), None)
    assert kept.error is None and len(kept.requests) == 1  # with its own stop and target, the field is the plugins'


@pytest.mark.parametrize("body, kind, side, type_", [
    ("buylimit EURUSD volume=0.1 price=1.09", "pending", "buy", "limit"),
    ("sellstop EURUSD volume=0.1 price=1.09", "pending", "sell", "stop"),
    ("sell EURUSD volume=0.1 price=1.09", "market", "sell", None),
])
async def test_pending_entries_keep_their_trigger_price_and_type(body, kind, side, type_):
    (request,) = (await plan(alert(body), 4, FakeBroker(), None)).requests
    assert (request.kind, request.side, request.type, request.price) == (kind, side, type_, 1.09)


async def test_an_unknown_symbol_is_an_error_and_nothing_is_asked_of_the_broker():
    broker = FakeBroker(specs={})
    made = await plan(alert("buy EURUSD volume=0.1 price=1.1"), 1, broker, None)
    assert made.requests == [] and made.error == "unknown symbol EURUSD at the broker"
    assert broker.requests == []


async def test_closes_name_the_symbol_and_side_and_only_when_a_position_matches():
    broker = FakeBroker(positions=[position(11, "EURUSD", "buy", 1.1)])
    long = await plan(alert("closelong EURUSD"), 5, broker, None)
    assert long.requests == [OrderRequest("close", "a5-engine-close-EURUSD", symbol="EURUSD", side="buy",
                                          plugin="engine", alert_id=5)]
    short = await plan(alert("closeshort EURUSD"), 6, broker, None)
    assert short.requests == [] and short.note == "no open sell position on EURUSD to close"
    both = await plan(alert("close EURUSD"), 7, broker, None)
    assert [(r.symbol, r.side) for r in both.requests] == [("EURUSD", None)]
    none = await plan(alert("close GBPUSD"), 8, broker, None)
    assert none.requests == [] and none.note == "no open position on GBPUSD to close"


async def test_close_all_closes_each_symbol_once_in_order():
    broker = FakeBroker(positions=[position(1, "GBPUSD", "sell", 1.3), position(2, "EURUSD", "buy", 1.1),
                                   position(3, "GBPUSD", "buy", 1.3)])
    made = await plan(alert("closeall"), 9, broker, None)
    assert [(r.kind, r.client_id, r.symbol, r.side) for r in made.requests] == [
        ("close", "a9-engine-close-EURUSD", "EURUSD", None), ("close", "a9-engine-close-GBPUSD", "GBPUSD", None)]
    assert (await plan(alert("closeall"), 10, FakeBroker(), None)).note == "no open position to close"


def pending(ticket: int, symbol: str, side: str, plugin: str | None = "engine") -> dict:
    return {"ticket": ticket, "symbol": symbol, "side": side, "type": "limit", "price": 1.05, "volume": 0.1,
            "sl": None, "tp": None, "plugin": plugin, "comment": None, "created_at": 0.0}


async def test_cancels_remove_moonhooks_pending_orders_each_by_its_ticket():
    # ticket 34 was placed by hand in the terminal (no plugin of moonhook's): never touched
    broker = FakeBroker(orders=[pending(31, "EURUSD", "buy"), pending(32, "EURUSD", "sell", "trend"),
                                pending(33, "GBPUSD", "buy"), pending(34, "EURUSD", "buy", None)])

    async def cancelled(body: str, alert_id: int) -> list[tuple]:
        made = await plan(alert(body), alert_id, broker, None)
        assert made.error is None
        return [(r.kind, r.client_id, r.symbol, r.ticket, r.side, r.volume) for r in made.requests]

    assert await cancelled("cancellong EURUSD", 5) == [("close", "a5-engine-cancel-31", "EURUSD", 31, None, None)]
    made = await plan(alert("cancellong EURUSD"), 5, broker, None)
    assert made.requests[0].type == "limit"   # a removal: one filled meanwhile is not closed (the brokers)
    assert await cancelled("cancel_short EURUSD", 6) == [("close", "a6-engine-cancel-32", "EURUSD", 32, None, None)]
    assert [t for *_, t, _, _ in await cancelled("cancel EURUSD", 7)] == [31, 32]
    assert [(cid, t) for _, cid, _, t, _, _ in await cancelled("cancelall", 8)] == [
        ("a8-engine-cancel-31", 31), ("a8-engine-cancel-32", 32), ("a8-engine-cancel-33", 33)]
    assert (await plan(alert("cancelshort GBPUSD"), 9, broker, None)).note == "no pending sell order on GBPUSD to cancel"
    assert (await plan(alert("cancel USDJPY"), 9, broker, None)).note == "no pending order on USDJPY to cancel"
    assert (await plan(alert("cancelall"), 9, FakeBroker(), None)).note == "no pending order to cancel"
    assert broker.requests == []   # planned, not sent: the desk sends them


async def test_new_stops_modify_every_position_of_the_symbol_from_its_own_open_price():
    broker = FakeBroker(positions=[position(21, "EURUSD", "buy", 1.1000), position(22, "EURUSD", "sell", 1.1050),
                                   position(23, "GBPUSD", "buy", 1.3)])
    made = await plan(alert("newsltp EURUSD sl_pips=10 tp_pips=20"), 3, broker, None)
    assert [(r.kind, r.client_id, r.ticket, r.sl, r.tp) for r in made.requests] == [
        ("modify", "a3-engine-sltp-21", 21, 1.099, 1.102),
        ("modify", "a3-engine-sltp-22", 22, 1.106, 1.103)]
    assert (await plan(alert("newsltp USDJPY sl_pips=10"), 4, broker, None)).note == "no open position on USDJPY to change"


async def test_closes_stop_changes_and_reversals_plan_on_moonhooks_positions_never_those_opened_by_hand():
    # ticket 42 was opened by hand in the terminal (no plugin of moonhook's), and is the oldest
    by_hand = {**position(42, "EURUSD", "buy", 1.1, volume=1.0), "plugin": None, "opened_at": -1.0}
    broker = FakeBroker(positions=[by_hand, position(43, "EURUSD", "buy", 1.1, volume=0.5),
                                   {**by_hand, "ticket": 44, "symbol": "GBPUSD", "side": "sell"}])
    part = await plan(alert("closelong EURUSD volume=0.5"), 5, broker, None)
    assert [(r.ticket, r.volume) for r in part.requests] == [(43, None)]
    stops = await plan(alert("newsltp EURUSD sl_pips=10"), 6, broker, None)
    assert [r.ticket for r in stops.requests] == [43]
    assert [r.symbol for r in (await plan(alert("closeall"), 7, broker, None)).requests] == ["EURUSD"]
    assert (await plan(alert("close GBPUSD volume=0.1"), 8, broker, None)).note == "no open position on GBPUSD to close"
    assert (await plan(alert("newsltp GBPUSD sl_pips=10"), 9, broker, None)).note == ("no open position on GBPUSD "
                                                                                        "to change")
    entry = await plan(alert("buy GBPUSD volume=0.1 price=1.3 position=long"), 10, broker, None)
    assert [r.kind for r in entry.requests] == ["market"]   # no reversal's close of the trader's short


async def test_a_trend_or_an_alert_without_a_command_plans_nothing():
    broker = FakeBroker()
    for body in ("trend EURUSD timeframe=H1 state=up", '{"symbol": "EURUSD", "comment": "just news"}'):
        made = await plan(alert(body), 1, broker, None)
        assert made.requests == [] and made.note == "no trading command", body
    assert broker.requests == []


async def test_units_are_converted_to_lots_by_the_contract_size_rounded_down_to_the_step():
    # TradingView's strategies count a forex position in units: {{strategy.order.contracts}} of
    # 10000 on EURUSD is 0.1 lot, not 10,000 lots.
    broker = FakeBroker()
    made = await plan(alert("buy EURUSD units=10000 price=1.1"), 3, broker, None)
    assert [r.volume for r in made.requests] == [0.1]
    odd = await plan(alert("buy EURUSD units=12345 price=1.1"), 4, broker, None)
    assert [r.volume for r in odd.requests] == [0.12]
    small = await plan(alert("buy EURUSD units=500 price=1.1"), 5, broker, None)
    assert small.requests == [] and small.error == ("cannot size 500 units: 500 units are 0.005 lots (contract size "
                                                    "100000), below the minimum 0.01")


STRATEGY = '{{"symbol": "EURUSD", "action": "{0}", "units": "{1}", "price": "1.1", "position": "{2}", "position_size": "{3}"}}'


async def test_a_strategys_reversal_closes_the_other_way_first_and_opens_only_the_new_position():
    broker = FakeBroker(positions=[position(11, "EURUSD", "buy", 1.1)])
    made = await plan(alert(STRATEGY.format("sell", 20000, "short", 10000)), 7, broker, None)
    assert made.requests == [
        OrderRequest("close", "a7-engine-close-EURUSD", symbol="EURUSD", side="buy", plugin="engine", alert_id=7),
        OrderRequest("market", "a7-engine-open", symbol="EURUSD", side="sell", volume=0.1, price=1.1,
                     plugin="engine", alert_id=7)]
    fresh = await plan(alert(STRATEGY.format("sell", 10000, "short", 10000)), 8, FakeBroker(), None)
    assert [r.kind for r in fresh.requests] == ["market"]  # from flat: nothing to close
    # An indicator's "close on opposite signal": the position named, the size in lots.
    indicator = await plan(alert("sell EURUSD volume=0.2 price=1.1 position=short"), 10, broker, None)
    assert [(r.kind, r.side, r.volume) for r in indicator.requests] == [("close", "buy", None), ("market", "sell", 0.2)]
    # Without a strategy's position a sell is a sell: the long stays.
    plain = await plan(alert("sell EURUSD volume=0.1 price=1.1"), 9, broker, None)
    assert [r.kind for r in plain.requests] == ["market"]


async def test_a_reversal_sized_by_risk_is_sized_on_the_balance_its_own_close_leaves():
    # A short of 1 lot 300 USD down: the close leaves 9,700. 1% of that is 97 USD, 0.48 lots at
    # 200 USD a lot for 20 pips (sized on the 10,000 before the close: 0.5, 1.03% of 9,700).
    losing = {**position(11, "EURUSD", "sell", 1.127, volume=1.0), "profit": -300.0}
    body = "buy EURUSD risk=1 sl_pips=20 price=1.13 position=long"
    made = await plan(alert(body), 7, FakeBroker(positions=[losing]), None)
    assert [(r.kind, r.volume) for r in made.requests] == [("close", None), ("market", 0.48)]
    # Processed again after a restart with the close done: the balance has booked the loss.
    after = FakeBroker(account={"balance": 9_700.0, "equity": 9_700.0, "margin": 0.0, "margin_free": 9_700.0,
                                "currency": "USD"})
    again = await plan(alert(body), 7, after, None)
    assert [(r.client_id, r.volume) for r in again.requests if r.kind == "market"] == [("a7-engine-open", 0.48)]
    # Swap is booked by the close too (MetaTrader keeps it apart from the profit).
    swapped = {**losing, "profit": -250.0, "swap": -50.0}
    assert (await plan(alert(body), 8, FakeBroker(positions=[swapped]), None)).requests[1].volume == 0.48
    # With the round trip's commission known (100 a lot), the close pays half of it: 9,650 left,
    # 10% of it at 300 a lot (200 of price, 100 of commission) is 3.21 lots (3.23 on 9,700).
    paid = FakeBroker(positions=[losing], specs={"EURUSD": {**SPECS["EURUSD"], "commission": 100.0}})
    tenth = "buy EURUSD risk=10 sl_pips=20 price=1.13 position=long"
    assert (await plan(alert(tenth), 9, paid, None)).requests[1].volume == 3.21


async def test_a_part_of_one_position_is_closed_by_its_ticket():
    one = FakeBroker(positions=[position(11, "EURUSD", "buy", 1.1, volume=0.3)])
    part = await plan(alert(STRATEGY.format("sell", 10000, "long", 20000)), 5, one, None)
    assert part.requests == [OrderRequest("close", "a5-engine-close-11", symbol="EURUSD", ticket=11, volume=0.1,
                                          plugin="engine", alert_id=5)]
    # The same alert again once the part is closed (a restart): the same client id, so the broker
    # answers the first result instead of closing more.
    one.open_positions = [position(11, "EURUSD", "buy", 1.1, volume=0.2)]
    again = await plan(alert(STRATEGY.format("sell", 10000, "long", 20000)), 5, one, None)
    assert [r.client_id for r in again.requests] == ["a5-engine-close-11"]
    everything = await plan(alert("closelong EURUSD volume=0.5"), 6, one, None)
    assert everything.requests[0].volume is None and everything.requests[0].ticket == 11


class Plans:
    """The plans written ahead, in memory (the engine's are in SQLite: storage/plans.py)."""

    def __init__(self):
        self.kept: dict[int, list[OrderRequest]] = {}

    async def written(self, alert_id):
        return self.kept.get(alert_id)

    async def write(self, alert_id, requests):
        self.kept.setdefault(alert_id, requests)


def pyramid() -> FakeBroker:
    """Three longs on EURUSD, opened in the order 12, 11, 13 (tickets do not say which is oldest)."""
    opened = [(11, 0.1, 20.0), (12, 0.1, 10.0), (13, 0.2, 30.0)]
    return FakeBroker(positions=[{**position(t, "EURUSD", "buy", 1.1, volume=v), "opened_at": at}
                                 for t, v, at in opened])


async def test_part_of_several_positions_closes_the_oldest_first_and_is_written_ahead():
    broker, plans = pyramid(), Plans()
    made = await plan(alert("closelong EURUSD volume=0.15"), 7, broker, None, plans)
    assert made.requests == [
        OrderRequest("close", "a7-engine-close-12", symbol="EURUSD", ticket=12, plugin="engine", alert_id=7),
        OrderRequest("close", "a7-engine-close-11", symbol="EURUSD", ticket=11, volume=0.05, plugin="engine",
                     alert_id=7)]
    assert plans.kept[7] == made.requests
    # Processed again after a crash, with 12 gone and 11 halved: the plan written, not a new one
    # (which would close 11 whole and part of 13).
    broker.open_positions = [p for p in broker.open_positions if p["ticket"] != 12]
    broker.open_positions[0]["volume"] = 0.05
    assert (await plan(alert("closelong EURUSD volume=0.15"), 7, broker, None, plans)).requests == made.requests
    # A size covering them all closes them by symbol and side; nothing needs writing.
    whole = await plan(alert("closelong EURUSD units=40000"), 8, pyramid(), None, plans)
    assert [(r.client_id, r.side, r.ticket) for r in whole.requests] == [("a8-engine-close-EURUSD", "buy", None)]
    assert 8 not in plans.kept
    # Whole positions and no part: 12 and 11, by their tickets.
    two = await plan(alert("closelong EURUSD volume=0.2"), 9, pyramid(), None, plans)
    assert [(r.ticket, r.volume) for r in two.requests] == [(12, None), (11, None)]
    # Part of a hedged symbol says which side.
    hedged = FakeBroker(positions=[position(11, "EURUSD", "buy", 1.1), position(12, "EURUSD", "sell", 1.1)])
    both = await plan(alert("close EURUSD volume=0.1"), 10, hedged, None, plans)
    assert both.requests == [] and both.error == ("cannot close 0.1 lots of EURUSD: it has positions both ways; "
                                                  "say which with closelong or closeshort")
    # Without a place to write it (a trial) the plan is made all the same.
    assert (await plan(alert("closelong EURUSD volume=0.15"), 7, pyramid(), None)).requests == made.requests

async def test_close_all_is_written_ahead_and_processed_again_closes_the_same_symbols():
    # Killed once its GBPUSD close had executed: processed again, the closes it decided, not "no
    # open position" (its close, done or with its answer lost, would never be asked of the broker).
    broker, plans = FakeBroker(positions=[position(1, "GBPUSD", "sell", 1.3), position(2, "EURUSD", "buy", 1.1)]), \
        Plans()
    made = await plan(alert("closeall"), 9, broker, None, plans)
    assert plans.kept[9] == made.requests
    broker.open_positions = [p for p in broker.open_positions if p["symbol"] != "GBPUSD"]
    assert (await plan(alert("closeall"), 9, broker, None, plans)).requests == made.requests
    broker.open_positions = []
    assert (await plan(alert("closeall"), 9, broker, None, plans)).requests == made.requests
    # Nothing to close: nothing written.
    assert (await plan(alert("closeall"), 10, FakeBroker(), None, plans)).note == "no open position to close"
    assert 10 not in plans.kept


async def test_a_market_entry_sized_by_risk_measures_its_stop_from_the_brokers_ask_or_bid():
    # TradingView saw 1.1000; the broker's ask is 1.1003: a buy fills there, 13 pips above the
    # stop, not 10. 100 USD at risk over 130 USD a lot: 0.76 lots, not 1.0
    broker = FakeBroker(prices={"EURUSD": {"bid": 1.1001, "ask": 1.1003, "time": 0.0}})
    buy = (await plan(alert("buy EURUSD risk=1 price=1.1 sl=1.099"), 1, broker, None)).requests[0]
    assert (buy.volume, buy.price, buy.sl) == (0.76, 1.1, 1.099)
    # a sell fills at the bid, 1.1001: 9 pips under a stop at 1.1010, 100 / 90 -> 1.11 lots
    sell = (await plan(alert("sell EURUSD risk=1 price=1.1 sl=1.101"), 2, broker, None)).requests[0]
    assert sell.volume == 1.11
    # the stop in pips is still measured from the alert's price, as documented; its risk from the fill
    pips = (await plan(alert("buy EURUSD risk=1 price=1.1 sl_pips=10"), 3, broker, None)).requests[0]
    assert (pips.sl, pips.volume) == (1.099, 0.76)
    # a pending order fills at its own price: its stop is measured from there, whatever the quote
    limit = (await plan(alert("buylimit EURUSD risk=1 price=1.09 sl=1.089"), 4, broker, None)).requests[0]
    assert limit.volume == 1.0
    # without a quote, the alert's price is all there is
    assert (await plan(alert("buy EURUSD risk=1 price=1.1 sl=1.099"), 5, FakeBroker(), None)).requests[0].volume == 1.0


async def test_a_risk_entry_is_refused_when_the_brokers_price_is_already_past_its_stop():
    broker = FakeBroker(prices={"EURUSD": {"bid": 1.0983, "ask": 1.0985, "time": 0.0}})
    made = await plan(alert("buy EURUSD risk=1 price=1.1 sl=1.099"), 1, broker, None)
    assert made.requests == [] and made.error == (
        "cannot size 1.0% risk: the broker's ask 1.0985 is already at or below the stop 1.099")
    made = await plan(alert("sell EURUSD risk=1 price=1.1 sl=1.101"), 2, FakeBroker(
        prices={"EURUSD": {"bid": 1.1012, "ask": 1.1014, "time": 0.0}}), None)
    assert made.error == "cannot size 1.0% risk: the broker's bid 1.1012 is already at or above the stop 1.101"


async def test_risk_amount_sizes_the_volume_to_lose_that_money_at_the_stop_from_where_it_fills():
    # 50 USD at a 20-pip stop on EURUSD (200 USD a lot): 0.25 lots, whatever the balance
    poorer = FakeBroker(account={"balance": 2_000.0, "equity": 2_000.0, "margin": 0.0, "margin_free": 2_000.0,
                                 "currency": "USD"})
    for broker in (FakeBroker(), poorer):
        made = await plan(alert("buy EURUSD risk_amount=50 sl_pips=20 price=1.1"), 1, broker, None)
        assert made.requests[0].volume == 0.25
    # from the broker's ask, 1.1003: 13 pips to the stop, 130 USD a lot: 0.38 lots for 50 USD
    quoted = FakeBroker(prices={"EURUSD": {"bid": 1.1001, "ask": 1.1003, "time": 0.0}})
    assert (await plan(alert("buy EURUSD risk_amount=50 price=1.1 sl=1.099"), 2, quoted, None)).requests[0].volume \
        == 0.38
    tiny = await plan(alert("buy EURUSD risk_amount=1 sl_pips=20 price=1.1"), 3, FakeBroker(), None)
    assert tiny.requests == [] and tiny.error == ("cannot size a risk of 1: risking 1.00 allows 0.0050 lots, below "
                                                  "the minimum 0.01 (which would risk 2.00)")


# An index CFD quoted in quarter points (US500 at many brokers), as MT5Broker.symbol() gives it.
US500 = {"name": "US500", "digits": 2, "point": 0.01, "tick_size": 0.25, "tick_value": 0.25, "contract_size": 1,
         "volume_min": 0.1, "volume_step": 0.1, "volume_max": 1000}


async def test_stops_are_put_on_the_tick_grid_before_the_volume_is_sized_on_them():
    tick = {"bid": 4999.75, "ask": 5000.0, "time": 0.0}
    broker = FakeBroker(specs={"US500": US500}, prices={"US500": tick})
    made = await plan(alert("buy US500 risk_amount=100 sl=4998.87 tp=5003.13"), 1, broker, None)
    (r,) = made.requests
    # 4998.87 is 4998.75 on the grid, 1.25 under the ask: 80 lots lose 100.00 there (sized on the
    # stop as given, 1.13 away, it was 88.4 lots, which lose 110.50 where the broker puts the stop).
    assert (r.sl, r.tp, r.volume) == (4998.75, 5003.25, 80.0)
    info = {"name": "US500", "digits": 2, "point": 0.01, "trade_tick_size": 0.25, "volume_min": 0.1,
            "volume_step": 0.1, "volume_max": 1000, "trade_stops_level": 0, "filling_mode": 1}
    sent, _ = entry_request(r, info, tick, 10, None)
    assert (sent["sl"], sent["volume"]) == (4998.75, 80.0)
    assert loss_at_stop(US500, sent["volume"], tick["ask"], sent["sl"]) <= 100.0
    # In pips from the alert's price too: 5000.1 less 1.13 (113 one-point pips) is 4998.97, on the grid 4999.0.
    pips = (await plan(alert("buy US500 volume=1 price=5000.1 sl_pips=113"), 2, broker, None)).requests[0]
    assert pips.sl == 4999.0


async def test_risk_on_a_paper_cross_without_a_rate_to_the_account_fails_saying_why(tmp_path):
    """EURJPY on a USD paper account has no tick value before a USDJPY price is known: the alert
    fails naming that, not with an internal error (a TypeError in the sizing), and so does the dry run."""
    body = "buy EURJPY risk=1 sl_pips=20 price=160"
    async with running(tmp_path) as engine:
        checked = await check_alert(engine, alert(body))
        row = await process(engine, body)
    reason = "cannot size 1.0% risk: EURJPY has no tick value to size with"
    assert checked["error"].startswith(reason)
    assert row["status"] == "failed" and row["outcome"]["error"].startswith(reason)


async def test_risk_without_a_stop_names_the_alerts_own_fields():
    """The alert is told to add sl or sl_pips; sl_points, risk.lot_size's, is no alert field (kept
    unread in JSON, refused in text), so a trader following the message would fail again."""
    made = await plan(alert("buy EURUSD risk=1 price=1.1"), 1, FakeBroker(), None)
    assert made.error == "cannot size 1.0% risk: a stop (sl or sl_pips) is needed to size by risk"
