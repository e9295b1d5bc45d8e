"""The account's hard limits (engine/core/limits.py, checked at the desk): an entry over
``engine.max_order_volume``, past ``engine.max_open_positions`` or after the trading day lost
``engine.max_daily_loss_pct`` is refused, whoever places it;
closes pass; an alert processed again after a crash finds its entry, not a refusal. A real
engine on the paper broker, its sandbox workers and SQLite file."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone

import pytest
import trio

from engine.app import Operations
from engine.app.overview import limits_text
from engine.core.limits import Limits
from engine.domain.config import EngineConfig, MonitorConfig
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest

from support.engine_support import process, running, told
from support.fakes import FakeBroker
from support.waits import HANG

# Raises every entry to 3 lots in on_order, after the alert's own checks.
RAISER = """
function on_order(o)
  if o.kind == 'market' then return {volume = 3} end
end
"""
# Places an entry of its own on every alert.
OWN_ENTRY = """
function on_alert(a)
  local r = orders.market{symbol = a.symbol, side = 'buy', volume = 2}
  store.set('answer', r.ok and 'placed' or r.error)
  return {handled = true}
end
"""


async def test_an_entry_over_the_volume_limit_is_refused_and_told_whoever_places_it(tmp_path):
    async with running(tmp_path, max_order_volume=1.0) as engine:
        fat = await process(engine, "buy EURUSD volume=5 price=1.1")
        assert fat["status"] == "failed"
        (order,) = fat["outcome"]["orders"]
        assert order["error"] == "over engine.max_order_volume: 5 lots asked, at most 1"
        assert await engine.broker.positions() == []
        assert ("trades", "order refused: market EURUSD for engine: over engine.max_order_volume: 5 lots asked, "
                          "at most 1") in await told(engine)
        assert engine.ledger.for_alert(fat["id"])[0]["status"] == "refused"
        assert (await process(engine, "buy EURUSD volume=1 price=1.1"))["status"] == "done"
    # A plugin's own entry, and one a plugin raised in on_order: the limit holds after on_order.
    async with running(tmp_path / "2", {"own": OWN_ENTRY}, max_order_volume=1.0) as engine:
        await process(engine, "buy GBPUSD price=1.3")
        assert engine.store.get("own", "answer") == "over engine.max_order_volume: 2 lots asked, at most 1"
    async with running(tmp_path / "3", {"raiser": RAISER}, max_order_volume=1.0) as engine:
        raised = await process(engine, "buy EURUSD volume=0.5 price=1.1")
        assert raised["outcome"]["orders"][0]["error"].startswith("over engine.max_order_volume: 3 lots asked")
        assert await engine.broker.positions() == []


async def test_entries_stop_at_the_open_positions_limit_and_closes_still_pass(tmp_path):
    async with running(tmp_path, max_open_positions=2) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1"))["status"] == "done"
        assert (await process(engine, "buylimit GBPUSD volume=0.1 price=1.2"))["status"] == "done"  # a pending order counts
        third = await process(engine, "sell USDJPY volume=0.1 price=150")
        assert third["outcome"]["orders"][0]["error"] == ("over engine.max_open_positions: 2 positions and pending "
                                                         "orders are open, at most 2")
        assert (await process(engine, "closelong EURUSD"))["status"] == "done"
        assert (await process(engine, "sell USDJPY volume=0.1 price=150 id=again"))["status"] == "done"
        assert sorted(p["symbol"] for p in await engine.broker.positions()) == ["USDJPY"]


async def test_an_entry_executed_before_a_crash_is_found_not_refused_by_its_own_position(tmp_path):
    async with running(tmp_path, max_open_positions=1) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        engine.journal.set_status(row["id"], "received")  # as if the engine died before the status
    async with running(tmp_path, max_open_positions=1) as engine:
        await engine.drain()
        again = engine.journal.get(row["id"])
        assert again["status"] == "done", again
        assert again["outcome"]["orders"][0]["duplicate"] is True
        assert len(await engine.broker.positions()) == 1


async def test_an_entry_refused_by_a_limit_before_a_crash_stays_refused_and_is_not_told_twice(tmp_path):
    # The trader was told "refused"; after a restart with room (the limit raised), the alert's
    # second run must not open what they were told was refused, nor tell it again.
    async with running(tmp_path, max_order_volume=1.0) as engine:
        row = await process(engine, "buy EURUSD volume=2 price=1.1")
        assert row["status"] == "failed"
        engine.journal.set_status(row["id"], "received")  # as if the engine died before the status
    async with running(tmp_path, max_order_volume=5.0) as engine:
        await engine.drain()
        again = engine.journal.get(row["id"])
        (order,) = again["outcome"]["orders"]
        assert order["error"] == "over engine.max_order_volume: 2 lots asked, at most 1" and order["duplicate"]
        assert await engine.broker.positions() == []
        assert len([m for m in await told(engine) if "order refused" in m[1]]) == 1   # once, the first time


class SlowFill(FakeBroker):
    """Answers after a few turns of the event loop, then holds the position: two entries in
    flight at once see the account as it is before either fills."""

    async def execute(self, request: OrderRequest):
        for _ in range(5):
            await trio.lowlevel.checkpoint()
        result = await super().execute(request)
        if request.kind == "market" and not result.duplicate:
            self.open_positions.append({"ticket": result.ticket, "symbol": request.symbol, "side": request.side,
                                        "volume": request.volume, "opened_at": 0.0})
        return result


async def two_entries_at_once(engine) -> list:
    """An administrator's entries on EURUSD and GBPUSD placed at once; their results."""
    results = []

    async def enter(symbol: str) -> None:
        request = engine.desk.new_request("market", "admin", symbol=symbol, side="buy", volume=0.1)
        results.append(await engine.desk.place(request, origin="admin"))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(enter, "EURUSD")
        nursery.start_soon(enter, "GBPUSD")
    return results


async def test_two_entries_at_once_never_both_take_the_last_place(tmp_path):
    broker = SlowFill()
    async with running(tmp_path, use_broker=broker, max_open_positions=1) as engine:
        results = await two_entries_at_once(engine)
    assert sorted(r.ok for r in results) == [False, True]
    assert len(broker.open_positions) == 1


async def test_a_market_entry_far_from_the_brokers_price_is_refused_and_the_rest_pass(tmp_path):
    broker = FakeBroker(prices={"EURUSD": {"bid": 1.1048, "ask": 1.1050, "time": 0.0}})
    async with running(tmp_path, use_broker=broker, max_price_gap_pct=0.2) as engine:
        far = await process(engine, "buy EURUSD volume=0.1 price=1.1")      # the ask is 0.45% above
        assert far["status"] == "failed" and far["outcome"]["orders"][0]["error"] == (
            "over engine.max_price_gap_pct: the broker's ask 1.105 is 0.45% from the price 1.1 the entry was "
            "asked at, at most 0.2%")
        assert (await process(engine, "sell EURUSD volume=0.1 price=1.104"))["status"] == "done"   # bid 0.07% off
        assert (await process(engine, "buylimit EURUSD volume=0.1 price=1.09"))["status"] == "done"  # its own price
        assert (await process(engine, "buy EURUSD volume=0.1 sl_pips=20"))["status"] == "done"   # nothing to compare
    assert [(r.kind, r.side, r.price) for r in broker.executed] == [
        ("market", "sell", 1.104), ("pending", "buy", 1.09), ("market", "buy", None)]


class Meeting(FakeBroker):
    """Fills an order only once ``expected`` orders are being executed at once."""

    def __init__(self, expected: int):
        super().__init__()
        self.expected, self.inside, self.met = expected, 0, trio.Event()

    async def execute(self, request: OrderRequest):
        self.inside += 1
        if self.inside == self.expected:
            self.met.set()
        with trio.fail_after(HANG):   # with the entries taking turns, the first would wait here for ever
            await self.met.wait()
        return await super().execute(request)


async def test_with_no_position_limit_entries_on_two_symbols_do_not_wait_for_each_other(tmp_path):
    broker = Meeting(expected=2)
    async with running(tmp_path, use_broker=broker, max_order_volume=1.0, max_price_gap_pct=1.0) as engine:
        results = await two_entries_at_once(engine)
    assert [r.ok for r in results] == [True, True]


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


async def test_entries_stop_for_the_day_once_its_loss_reaches_the_limit_counting_open_positions(tmp_path):
    now = [at("2026-12-04 10:00")]
    async with running(tmp_path, clock=lambda: now[0], max_daily_loss_pct=2.0) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1"))["status"] == "done"
        assert (await process(engine, "close EURUSD price=1.085"))["status"] == "done"  # -150.00: 1.5% of the day
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.085"))["status"] == "done"
        # the price this alert gives leaves the open buy 70.00 down: 220.00 in the day, 2.2%
        refused = await process(engine, "buy EURUSD volume=0.1 price=1.078 id=more")
        assert refused["outcome"]["orders"][0]["error"] == (
            "over engine.max_daily_loss_pct: the trading day's loss is USD 220.00, 2.2% of the 10,000.00 it began "
            "with, at most 2%; entries are refused until 2026-12-05 00:00:00 UTC")
        assert ("trades", "order refused: market EURUSD for engine: " + refused["outcome"]["orders"][0]["error"]) \
            in await told(engine)
        limits = (await Operations(engine).status())["limits"]  # Telegram's /status, the dashboard's
        assert limits_text(limits) == "a day's loss under 2% (2.2% now)", limits
        assert (await process(engine, "close EURUSD price=1.078"))["status"] == "done"  # closes pass
        assert len(await engine.broker.positions()) == 0
        now[0] = at("2026-12-04 23:59")
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.078 id=late"))["status"] == "failed"
        now[0] = at("2026-12-05 00:00:01")  # a new day, begun with the balance the last one ended with
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.078 id=tomorrow"))["status"] == "done"


async def test_the_trading_day_begins_at_midnight_on_its_clock(tmp_path):
    # A broker's server midnight: 17:00 in New York, 22:00 UTC in December.
    now = [at("2026-12-04 21:30")]
    async with running(tmp_path, clock=lambda: now[0], max_daily_loss_pct=1.0, trading_day="GMT+2/+3 US") as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1"))["status"] == "done"
        assert (await process(engine, "close EURUSD price=1.088"))["status"] == "done"  # -120.00: 1.2%
        refused = await process(engine, "buy EURUSD volume=0.1 price=1.088 id=more")
        assert refused["outcome"]["orders"][0]["error"].endswith("entries are refused until 2026-12-04 22:00:00 UTC")
        now[0] = at("2026-12-04 22:00:30")
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.088 id=next-day"))["status"] == "done"
    assert EngineConfig(trading_day="Europe/Prague").day_zone.zone == "Europe/Prague"


async def test_entries_stop_while_the_equity_is_at_or_under_its_floor_and_closes_pass(tmp_path):
    async with running(tmp_path, min_equity=9_900.0) as engine:
        assert (await process(engine, "buy EURUSD volume=1 price=1.1"))["status"] == "done"
        assert (await process(engine, "closeshort EURUSD price=1.099"))["status"] == "done"   # a quote: -100.00
        refused = await process(engine, "sell GBPUSD volume=0.1 price=1.3 id=more")
        assert refused["outcome"]["orders"][0]["error"] == ("over engine.min_equity: the account's equity is "
                                                           "9,900.00 USD, at or under the 9,900.00 entries stop at")
        assert limits_text((await Operations(engine).status())["limits"]) == "equity above 9,900.00"
        assert (await process(engine, "closelong EURUSD price=1.0995"))["status"] == "done"   # closes pass
        # closed 50.00 down: the balance, and the equity, 9,950.00: above the floor again
        assert (await process(engine, "sell GBPUSD volume=0.1 price=1.3 id=again"))["status"] == "done"
    async with running(tmp_path / "2", min_equity=9_900.0) as engine:
        assert (await process(engine, "sell GBPUSD volume=0.1 price=1.3"))["status"] == "done"  # 10,000: above it


async def test_an_entry_that_would_lose_too_much_at_its_stop_or_has_none_is_refused(tmp_path):
    async with running(tmp_path, {"raiser": RAISER}, max_risk_pct=1.0) as engine:
        # 0.1 lot from 1.1 to 1.09: 100 pips of 1.00 USD a pip, 100.00 USD, 1% of 10,000: allowed.
        # The raiser makes every market entry 3 lots after on_order: 3,000.00 USD at the stop.
        raised = await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09")
        assert raised["outcome"]["orders"][0]["error"] == (
            "over engine.max_risk_pct: 3 lots from 1.1 lose 3,000.00 USD at the stop 1.09, 30.00% of the balance "
            "10,000.00, at most 1%")
        bare = await process(engine, "buylimit EURUSD volume=0.1 price=1.08")
        assert bare["outcome"]["orders"][0]["error"] == ("over engine.max_risk_pct: the entry has no stop loss, so what "
                                                        "it can lose has no bound")
        placed = await process(engine, "buylimit EURUSD volume=0.1 price=1.08 sl=1.07 id=with-stop")  # from its price
        assert placed["status"] == "done", placed["outcome"]
        assert limits_text((await Operations(engine).status())["limits"]) == "at most 1% at a stop"
    async with running(tmp_path / "2", max_risk_pct=1.0) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09"))["status"] == "done"
        assert (await process(engine, "closelong EURUSD price=1.1"))["status"] == "done"   # closes pass


async def test_max_risk_pct_measures_the_stop_where_the_broker_puts_it_on_the_tick_grid():
    us500 = {"name": "US500", "digits": 2, "point": 0.01, "tick_size": 0.25, "tick_value": 0.25, "contract_size": 1,
             "volume_min": 0.1, "volume_step": 0.1, "volume_max": 1000}
    broker = FakeBroker(specs={"US500": us500}, prices={"US500": {"bid": 4999.75, "ask": 5000.0, "time": 0.0}})
    limits = Limits.of(replace(EngineConfig(), max_risk_pct=1.0))
    # 88.4 lots to 4998.87 lose 99.89 (under 1% of 10,000); the stop goes to 4998.75: 110.50.
    entry = OrderRequest("market", "x", symbol="US500", side="buy", volume=88.4, sl=4998.87)
    assert await limits.breach(entry, broker) == (
        "over engine.max_risk_pct: 88.4 lots from 5000 lose 110.50 USD at the stop 4998.75, 1.10% of the balance "
        "10,000.00, at most 1%")
    assert await limits.breach(replace(entry, volume=80.0), broker) is None


async def test_a_risk_refusal_says_a_huge_loss_in_three_figures():
    # A million lots of a contract of 1e12 from 1e6 to a stop at 1 lose 1e24: said in full, 31 digits and commas.
    big = {"name": "BIG", "digits": 2, "point": 0.01, "tick_size": 0.01, "tick_value": 1e10, "contract_size": 1e12,
           "volume_min": 1, "volume_step": 1, "volume_max": 1e6}
    broker = FakeBroker(specs={"BIG": big}, prices={"BIG": {"bid": 1e6, "ask": 1e6, "time": 0.0}})
    limits = Limits.of(replace(EngineConfig(), max_risk_pct=1.0))
    entry = OrderRequest("market", "x", symbol="BIG", side="buy", volume=1e6, sl=1.0)
    assert await limits.breach(entry, broker) == (
        "over engine.max_risk_pct: 1e+06 lots from 1e+06 lose 1e+24 USD at the stop 1, 1e+22% of the balance "
        "10,000.00, at most 1%")


async def test_risk_and_max_risk_pct_count_the_paper_brokers_commission_in_the_loss_at_the_stop(tmp_path):
    async with running(tmp_path, paper=PaperConfig(commission_per_lot=7.0), max_risk_pct=1.0) as engine:
        assert (await engine.broker.symbol("EURUSD"))["commission"] == 14.0          # in and out, a lot
        # 5 pips: 50 USD a lot and 14 of commission; 1% of 10,000 buys 1.56 lots (2.0 without it).
        row = await process(engine, "sell EURUSD risk=1 sl_pips=5 price=1.1")
        assert row["status"] == "done" and [p["volume"] for p in await engine.broker.positions()] == [1.56]
        await engine.broker.quote("EURUSD", 1.1005, engine.clock())                   # the stop: the ask 1.1005
        assert 10_000 - (await engine.broker.account())["balance"] == pytest.approx(99.84)   # not 128.00
        # 2 lots lose 100.00 of price at that stop and 28.00 of commission: over 1%.
        over = await process(engine, "sell EURUSD volume=2 sl_pips=5 price=1.1 id=over")
        assert over["outcome"]["orders"][0]["error"] == (
            "over engine.max_risk_pct: 2 lots from 1.1 lose 128.00 USD at the stop 1.1005, 1.29% of the balance "
            "9,900.16, at most 1%")


async def test_entries_stop_at_the_hours_count_and_go_on_as_the_hour_moves(tmp_path):
    now = [at("2026-12-04 10:00")]
    async with running(tmp_path, clock=lambda: now[0], max_entries_per_hour=2) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1 id=a"))["status"] == "done"
        now[0] += 600
        assert (await process(engine, "sell EURUSD volume=0.1 price=1.1 id=b"))["status"] == "done"
        now[0] += 600
        third = await process(engine, "buy GBPUSD volume=0.1 price=1.3 id=c")
        assert third["outcome"]["orders"][0]["error"] == ("over engine.max_entries_per_hour: 2 entries in the last "
                                                         "hour, at most 2; the next may go at 2026-12-04 11:00:00 UTC")
        assert (await process(engine, "closeall id=out"))["status"] == "done"   # closes pass and are not counted
        now[0] = at("2026-12-04 11:00:01")                                       # the first has left the hour
        assert (await process(engine, "buy GBPUSD volume=0.1 price=1.3 id=d"))["status"] == "done"
        assert (await process(engine, "buy GBPUSD volume=0.1 price=1.3 id=e"))["status"] == "failed"
        assert limits_text((await Operations(engine).status())["limits"]) == "2 entries an hour"


async def test_the_hours_entries_are_counted_across_a_restart(tmp_path):
    # A restart (a crash, a service restart, a setting applied) does not begin the hour again:
    # the entries the ledger holds from the last hour count; an older one and a close do not.
    async with running(tmp_path, max_entries_per_hour=2) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1 id=a"))["status"] == "done"
        assert (await process(engine, "closelong EURUSD price=1.1 id=out"))["status"] == "done"
        assert (await process(engine, "buylimit EURUSD volume=0.1 price=1.05 id=b"))["status"] == "done"
    async with running(tmp_path, max_entries_per_hour=2) as engine:
        third = await process(engine, "buy GBPUSD volume=0.1 price=1.3 id=c")
        assert third["outcome"]["orders"][0]["error"].startswith(
            "over engine.max_entries_per_hour: 2 entries in the last hour, at most 2; the next may go at "), third
        engine.database.db.execute("UPDATE orders SET created_at = created_at - 3600 WHERE client_id LIKE 'a1-%'")
    async with running(tmp_path, max_entries_per_hour=2) as engine:   # the first has left the hour
        assert (await process(engine, "buy GBPUSD volume=0.1 price=1.3 id=d"))["status"] == "done"
        assert (await process(engine, "buy GBPUSD volume=0.1 price=1.3 id=e"))["status"] == "failed"


async def test_a_market_entry_is_refused_while_the_spread_is_wider_than_its_symbols_limit(tmp_path):
    wide = PaperConfig(spreads={"EURUSD": 40, "XAUUSD": 50})   # 4 pips; 50 cents on gold at 2 digits: 50 pips
    async with running(tmp_path, paper=wide) as engine:        # without the limit: a long to close below
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1 id=before"))["status"] == "done"
    async with running(tmp_path, paper=wide, max_spread_pips={"*": 3.0, "XAUUSD": 60.0}) as engine:
        refused = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert refused["status"] == "failed" and refused["outcome"]["orders"][0]["error"] == (
            "over engine.max_spread_pips: EURUSD's spread is 4.0 pips (bid 1.1, ask 1.1004), at most 3")
        assert ("trades", "order refused: market EURUSD for engine: over engine.max_spread_pips: EURUSD's spread is "
                          "4.0 pips (bid 1.1, ask 1.1004), at most 3") in await told(engine)
        assert (await process(engine, "sell XAUUSD volume=0.1 price=2000"))["status"] == "done"  # 50, under its 60
        assert (await process(engine, "sell GBPUSD volume=0.1 price=1.3"))["status"] == "done"   # no spread at all
        assert (await process(engine, "buylimit EURUSD volume=0.1 price=1.09"))["status"] == "done"  # fills later
        assert (await process(engine, "closelong EURUSD price=1.1"))["status"] == "done"          # closes pass
        assert [p["symbol"] for p in await engine.broker.positions()] == ["XAUUSD", "GBPUSD"]
        assert limits_text((await Operations(engine).status())["limits"]) == "spreads up to 3 pips (XAUUSD 60)"


async def test_a_symbols_spread_limit_holds_however_its_name_is_cased(tmp_path):
    """``{ "*" = 3, xauusd = 60 }``: gold's own limit, not the 3 pips of the rest, nor none."""
    wide = PaperConfig(spreads={"XAUUSD": 50})
    async with running(tmp_path, paper=wide, max_spread_pips={"*": 3.0, "xauusd": 60.0}) as engine:
        assert (await process(engine, "sell XAUUSD volume=0.1 price=2000"))["status"] == "done"
    async with running(tmp_path / "2", paper=wide, max_spread_pips={"xauusd": 40.0}) as engine:
        refused = await process(engine, "sell xauusd volume=0.1 price=2000")
        assert refused["outcome"]["orders"][0]["error"] == (
            "over engine.max_spread_pips: XAUUSD's spread is 50.0 pips (bid 2000, ask 2000.5), at most 40")


async def test_the_administrators_are_told_when_a_money_limit_is_reached_once_without_an_entry(tmp_path):
    now = [at("2026-12-04 10:00")]
    watched = MonitorConfig(interval_seconds=0.02)
    async with running(tmp_path, clock=lambda: now[0], max_daily_loss_pct=2.0, min_equity=9_800.0,
                       monitor=watched) as engine:
        assert (await process(engine, "buy EURUSD volume=1 price=1.1"))["status"] == "done"
        await process(engine, "closeshort EURUSD price=1.098")     # a quote: 200.00 down, 2% and the floor
        day = ("admin", "limit reached: engine.max_daily_loss_pct: the trading day's loss is USD 200.00, 2% of the "
                        "10,000.00 it began with, at most 2%; entries are refused until 2026-12-05 00:00:00 UTC; "
                        "open positions are left as they are")
        floor = ("admin", "limit reached: engine.min_equity: the account's equity is 9,800.00 USD, at or under the "
                          "9,800.00 entries stop at; open positions are left as they are")
        with trio.fail_after(HANG):
            while not {day, floor} <= set(await told(engine)):
                await trio.sleep(0.02)
        await trio.sleep(0.2)                                      # ten looks more: nothing told again
        said = await told(engine)
        assert said.count(day) == 1 and said.count(floor) == 1, said
        assert await engine.broker.positions() != []               # nothing closed
    async with running(tmp_path / "2", monitor=watched) as engine:  # neither set: the watch does not look
        await trio.sleep(0.1)
        assert not [m for m in await told(engine) if m[1].startswith("limit reached")]


def test_the_limits_line_says_one_position_in_the_singular():
    # max_open_positions = 1 (one trade at a time, a common prop-firm rule) read "1 positions".
    assert limits_text({"max_open_positions": 1}) == "1 position"
    assert limits_text({"max_open_positions": 3, "max_order_volume": 1.0}) == "1 lot an order, 3 positions"
