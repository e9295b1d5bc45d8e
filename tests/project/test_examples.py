"""Every example strategy, loaded from examples/ and exercised through a real engine, and the
TradingView templates parsed as TradingView would fill them."""

from __future__ import annotations

import json

import pytest
import trio

from engine.domain.alerts import parse_body
from engine.domain.config import PluginConfig
from engine.core.services import MAX_PLUGIN_WRITES
from engine.domain.config.paper import PaperConfig

from support.engine_support import process
from support.examples_support import ADDER, EXAMPLES, PLACEHOLDERS, TICKS, example, fill, running, utc
from support.waits import HANG, until

async def test_trend_filter_refuses_entries_against_the_trend(tmp_path):
    async with running(tmp_path, example("trend_filter")) as engine:
        unknown = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "trend EURUSD H4 down")
        against = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        along = await process(engine, "sell EURUSD volume=0.1 price=1.1")
        close = await process(engine, "close EURUSD")
    assert unknown["status"] == "done"
    assert against["status"] == "rejected" and against["outcome"]["reason"] == "buy against the H4 down trend"
    assert along["status"] == "done" and close["status"] == "done"


@pytest.mark.parametrize("timeframe, interval", [("H4", "240"), ("D1", "1D"), ("D1", "D")])
async def test_trend_filter_reads_the_trend_tradingviews_template_sets(tmp_path, timeframe, interval):
    # trend.json sends the chart's {{interval}}: "240" from a 4-hour chart, never "H4". Looked up
    # as "H4" only, the trend was unknown and every entry passed, against the trend too.
    body = fill((EXAMPLES / "tradingview" / "trend.json").read_text())
    body = body.replace(f'"{PLACEHOLDERS["interval"]}"', f'"{interval}"').replace('"up"', '"down"')
    async with running(tmp_path, example("trend_filter"),
                       plugins={"trend_filter": PluginConfig(params={"timeframe": timeframe})}) as engine:
        assert (await process(engine, body))["status"] == "done"
        against = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        along = await process(engine, "sell EURUSD volume=0.1 price=1.1")
    assert against["status"] == "rejected", against["outcome"]
    assert against["outcome"]["reason"] == f"buy against the {timeframe} down trend"
    assert along["status"] == "done"


async def test_fixed_fractional_sizes_from_the_stop(tmp_path):
    async with running(tmp_path, example("fixed_fractional")) as engine:
        sized = await process(engine, "buy EURUSD price=1.1000 sl=1.0950")      # 50 pips at 1%: 100 USD
        alert_risk = await process(engine, "sell GBPUSD price=1.3000 sl_pips=20 risk=0.5")
        explicit = await process(engine, "buy USDJPY price=150 volume=0.07")
        units = await process(engine, "buy EURUSD price=1.1 units=30000 id=u")  # TradingView's size, kept
        no_stop = await process(engine, "buy EURUSD price=1.1")
    assert sized["outcome"]["orders"][0]["volume"] == 0.2
    assert alert_risk["outcome"]["orders"][0]["volume"] == 0.25  # 50 USD over 20 pips of 10 USD
    assert explicit["outcome"]["orders"][0]["volume"] == 0.07
    assert units["outcome"]["orders"][0]["volume"] == 0.3
    assert no_stop["status"] == "rejected" and "needs sl" in no_stop["outcome"]["reason"]


async def test_fixed_fractional_measures_the_stop_from_the_fill_and_keeps_a_risk_amount(tmp_path):
    # 2 pips of spread: a buy at the chart's 1.1000 fills at the ask, 1.1002, 22 pips over the stop.
    # 1% of 10,000 is 100 USD over 22 pips of 10 USD a lot: 0.4545, 0.45 lots (from the chart's
    # price, 0.5 lots would lose 110). A risk of 50 USD: 50 / 220 = 0.227, 0.22 lots.
    async with running(tmp_path, example("fixed_fractional"), paper=PaperConfig(spread_points=20)) as engine:
        sized = await process(engine, "buy EURUSD price=1.1000 sl=1.0980")
        amount = await process(engine, "buy EURUSD price=1.1000 sl_pips=20 risk_amount=50")
    assert sized["outcome"]["orders"][0]["volume"] == 0.45
    assert amount["outcome"]["orders"][0]["volume"] == 0.22
    assert [p["result"] for p in amount["outcome"]["plugins"]] == ["pass"]   # left alone, not a hook failure


@pytest.mark.parametrize("when, allowed", [
    ("2026-11-24 08:00", True), ("2026-11-24 06:59", False), ("2026-11-24 16:30", False),
    ("2026-11-28 10:00", False),  # a Saturday
])
async def test_session_window(tmp_path, when, allowed):
    async with running(tmp_path, {**example("session_window"), **ADDER}, clock=lambda: utc(when)) as engine:
        entry = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        exit_ = await process(engine, "closelong EURUSD")
        await process(engine, "trend EURUSD H1 up comment=add")  # another plugin's own entry
        added = engine.store.get("adder", "r")
    assert entry["status"] == ("done" if allowed else "rejected"), entry["outcome"]
    assert exit_["status"] == "done"
    assert (added == "placed") is allowed, added


async def test_daily_loss_limit_stops_entries_after_the_limit(tmp_path):
    now = [utc("2026-11-24 09:00")]
    async with running(tmp_path, {**example("daily_loss_limit"), **ADDER}, clock=lambda: now[0]) as engine:
        # 0.1 lot of EURUSD is 1 USD a pip: a 100-pip stop loses 100, then a 200-pip one 200.
        def pnl():
            return engine.store.get("daily_loss_limit", "pnl:2026-11-24")

        await process(engine, "buy EURUSD volume=0.1 price=1.1000 sl=1.0900")
        await process(engine, "closeshort EURUSD price=1.0900")  # a price: the stop is hit
        await until(lambda: pnl() is not None and pnl() < -50)  # the close's on_fill (it runs after the alert)
        second = await process(engine, "buy EURUSD volume=0.1 price=1.0800 sl=1.0600")
        await process(engine, "closeshort EURUSD price=1.0600")
        await until(lambda: pnl() is not None and pnl() < -150)
        refused = await process(engine, "buy EURUSD volume=0.1 price=1.06")
        await process(engine, "trend EURUSD H1 up comment=add")  # another plugin's own entry
        added = engine.store.get("adder", "r")
        lost = pnl()
        now[0] = utc("2026-11-25 09:00")
        next_day = await process(engine, "buy EURUSD volume=0.1 price=1.06")
    assert second["status"] == "done"  # 100 lost, under 3% of 9,900
    assert lost == pytest.approx(-300.0)
    assert refused["status"] == "rejected" and "daily loss limit" in refused["outcome"]["reason"]
    assert added == "vetoed by daily_loss_limit: daily loss limit: 300.00 lost today, limit 291.00"  # 3% of 9,700
    assert next_day["status"] == "done"


async def test_daily_loss_limit_counts_the_commission_as_the_balance_books_it(tmp_path):
    # 0.1 lot, 100 pips lost: 100 USD, and 7 USD a lot each deal: 0.70 in, 0.70 out. The day's
    # loss is 101.40, what the balance lost, not the gross 100.
    now = [utc("2026-11-24 09:00")]
    async with running(tmp_path, example("daily_loss_limit"), clock=lambda: now[0],
                       paper=PaperConfig(commission_per_lot=7.0)) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1000 sl=1.0900")
        await process(engine, "closeshort EURUSD price=1.0900")  # a price: the stop is hit
        await until(lambda: (engine.store.get("daily_loss_limit", "pnl:2026-11-24") or 0) < -99)   # the close told
        balance = (await engine.broker.account())["balance"]
        lost = engine.store.get("daily_loss_limit", "pnl:2026-11-24")
    assert balance == pytest.approx(10_000 - 101.4)
    assert lost == pytest.approx(-101.4)


async def test_daily_loss_limit_counts_a_fill_told_again_after_a_crash_once(tmp_path):
    # A crash while fills were being told: each comes again (again = true) at the next start;
    # one counted before the crash is not counted twice, one never counted is.
    now = [utc("2026-11-24 09:00")]
    async with running(tmp_path, example("daily_loss_limit"), clock=lambda: now[0]) as engine:
        plugin = engine.plugins.get("daily_loss_limit")
        fill = {"order": 1, "position": 1, "symbol": "EURUSD", "side": "sell", "volume": 0.1, "price": 1.09,
                "entry": "out", "reason": "sl", "time": now[0], "profit": -10.0, "commission": 0.0}
        for told in ({"deal": 5}, {"deal": 5, "again": True}, {"deal": 6, "again": True}):
            result = await engine.hooks.call(plugin, "on_fill", {**fill, **told})
            assert result.error is None, result.error
        lost = engine.store.get("daily_loss_limit", "pnl:2026-11-24")
    assert lost == pytest.approx(-20.0)


async def test_one_position_per_symbol_for_alerts_and_other_plugins(tmp_path):
    other = {"pyramid": """plugin = {priority = 200}
                           function on_alert(a)
                             if a.comment == 'add' then
                               store.set('r', orders.market{symbol = a.symbol, side = 'buy', volume = 0.1})
                             end
                           end"""}
    async with running(tmp_path, {**example("one_position"), **other}) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        second = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        other_symbol = await process(engine, "buy GBPUSD volume=0.1 price=1.3")
        await process(engine, "close EURUSD price=1.1")
        added = await process(engine, "closelong GBPUSD comment=add")
        plugin_order = engine.store.get("pyramid", "r")
    assert first["status"] == "done" and other_symbol["status"] == "done"
    assert second["status"] == "rejected" and second["outcome"]["reason"] == "already a position open on EURUSD"
    assert added["status"] == "done"
    assert plugin_order == {"ok": False, "error": "vetoed by one_position: already a position open on GBPUSD"}


async def test_breakeven_moves_the_stop_on_its_timer(tmp_path):
    source = example("breakeven")["breakeven"].replace('every = "5s"', 'every = "1s"') + TICKS
    async with running(tmp_path, {"breakeven": source}) as engine:
        def ticks() -> int:
            return engine.store.get("breakeven", "ticks") or 0

        async def a_whole_timer_run() -> None:
            """Returns once a timer run that began after now has ended: the second end from
            now (the first may be of a run under way, that read the prices before)."""
            since = ticks()
            await until(lambda: ticks() >= since + 2)

        async def positions() -> list[dict]:
            return await engine.broker.positions()

        await process(engine, "buy EURUSD volume=0.1 price=1.1000 sl=1.0950")
        await until(lambda: engine.store.keys("breakeven", "watch:"))  # its on_fill has seen the entry
        await process(engine, "closeshort EURUSD price=1.1010")   # +10 pips: not yet
        await a_whole_timer_run()
        before = (await positions())[0]["sl"]
        assert before == 1.095  # the timer looked at +10 pips, and left the stop
        await process(engine, "closeshort EURUSD price=1.1025")   # +25 pips
        with trio.fail_after(HANG):
            while (await positions())[0]["sl"] == before:
                await trio.sleep(0.05)
        after = (await positions())[0]["sl"]
        await process(engine, "closeshort EURUSD price=1.1000")   # back down: stopped at entry + 1 pip
        with trio.fail_after(HANG):  # the close's on_close forgets the position
            while await positions() or engine.store.keys("breakeven", "watch:"):
                await trio.sleep(0.02)
    assert after == 1.1001


async def test_trailing_stop_follows_the_price_forward_by_steps_for_the_positions_asked(tmp_path):
    source = example("trailing_stop")["trailing_stop"].replace('every = "2s"', 'every = "1s"') + TICKS
    async with running(tmp_path, {"trailing_stop": source}) as engine:
        def ticks() -> int:
            return engine.store.get("trailing_stop", "ticks") or 0

        async def stops_after_a_timer_run(bid: float) -> dict[int, float]:
            """Quotes ``bid``, then the stops once a whole timer run has seen it."""
            await process(engine, f"closeshort EURUSD price={bid}")   # nothing short: a quote
            since = ticks()
            await until(lambda: ticks() >= since + 2)   # the first end may be of a run begun before
            return {p["ticket"]: p["sl"] for p in await engine.broker.positions()}

        asked = await process(engine, json.dumps({"symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.1,
                                                  "sl": 1.095, "trail_pips": 20, "trail_start_pips": 5,
                                                  "trail_step_pips": 10}))
        plain = await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.095")
        trailed, other = (row["outcome"]["orders"][0]["ticket"] for row in (asked, plain))
        await until(lambda: engine.store.keys("trailing_stop", "trail:"))   # its on_fill has seen the entry
        assert await stops_after_a_timer_run(1.1004) == {trailed: 1.095, other: 1.095}   # +4 pips: under the start
        assert await stops_after_a_timer_run(1.1030) == {trailed: 1.101, other: 1.095}   # 20 pips behind
        assert await stops_after_a_timer_run(1.1035) == {trailed: 1.101, other: 1.095}   # 5 pips: under a step
        assert await stops_after_a_timer_run(1.1045) == {trailed: 1.1025, other: 1.095}
        assert await stops_after_a_timer_run(1.1030) == {trailed: 1.1025, other: 1.095}  # never back
        await process(engine, "closeshort EURUSD price=1.1025")                         # at the stop
        await until(lambda: not engine.store.keys("trailing_stop", "trail:"))          # on_close forgot it
        (left,) = await engine.broker.positions()
        (deal,) = [d for d in await engine.broker.history() if d["entry"] == "out"]
        bad = await process(engine, json.dumps({"symbol": "EURUSD", "action": "buy", "volume": 0.1,
                                                "trail_pips": "twenty"}))
    assert left["ticket"] == other and (deal["position"], deal["price"], deal["profit"]) == (trailed, 1.1025, 25.0)
    assert bad["status"] == "rejected" and bad["outcome"]["reason"] == (
        "trail_pips: expected a number of pips above 0, got twenty")


async def test_trailing_stop_trails_every_position_with_its_params_set(tmp_path):
    source = example("trailing_stop")["trailing_stop"].replace('every = "2s"', 'every = "1s"') + TICKS
    async with running(tmp_path, {"trailing_stop": source},
                       plugins={"trailing_stop": PluginConfig(params={"distance_pips": 15})}) as engine:
        await process(engine, "sell GBPUSD volume=0.1 price=1.3 sl=1.305")
        await process(engine, "closelong GBPUSD price=1.2950")   # a quote: the ask 50 pips down
        since = engine.store.get("trailing_stop", "ticks") or 0
        await until(lambda: (engine.store.get("trailing_stop", "ticks") or 0) >= since + 2)
        (short,) = await engine.broker.positions()
    assert short["sl"] == 1.2965   # 15 pips above the ask


@pytest.mark.parametrize("name", ["trailing_stop", "take_profits"])
async def test_a_purge_of_more_asks_than_a_tick_may_write_goes_on_over_ticks_without_an_error(tmp_path, name):
    # A plugin's durable writes a tick are limited (services.MAX_PLUGIN_WRITES): a purge of every
    # stale ask in one tick was refused past the limit, an error each hour, and the breaker's count.
    source = example(name)[name].replace('every = "2s"', 'every = "1s"')
    async with running(tmp_path, {name: source}) as engine:
        for n in range(MAX_PLUGIN_WRITES + 50):
            engine.store.set(name, f"ask:{n}", {"at": 0})   # 1970: past any keep_days
        await until(lambda: engine.store.get(name, "purged"))
        (plugin,) = engine.plugins
        assert engine.store.keys(name, "ask:") == [] and plugin.stats.errors == 0


async def test_pending_expiry_forgets_more_orders_than_a_tick_may_write_over_ticks_without_an_error(tmp_path):
    # A cancelall of 250 pending orders left 250 keys to forget at the next tick: the 201st delete
    # was refused (services.MAX_PLUGIN_WRITES), an error counted toward the breaker.
    source = example("pending_expiry")["pending_expiry"].replace('every = "30s"', 'every = "1s"')
    async with running(tmp_path, {"pending_expiry": source}) as engine:
        for n in range(MAX_PLUGIN_WRITES + 50):
            engine.store.set("pending_expiry", f"since:{n + 1}", 0)   # orders gone meanwhile
        await until(lambda: engine.store.keys("pending_expiry", "since:") == [])
        (plugin,) = engine.plugins
        assert plugin.stats.errors == 0


async def test_pending_expiry_meets_more_new_orders_than_a_tick_may_write_over_ticks_without_an_error(tmp_path):
    # Placed while it was not running (or by a grid's alert between two ticks), each order's first
    # sighting is a write: the 201st in a tick was refused.
    async with running(tmp_path, {}) as engine:
        for _ in range(MAX_PLUGIN_WRITES + 50):
            await process(engine, "buylimit EURUSD volume=0.01 price=1.01")
    source = example("pending_expiry")["pending_expiry"].replace('every = "30s"', 'every = "1s"')
    async with running(tmp_path, {"pending_expiry": source}) as engine:
        await until(lambda: len(engine.store.keys("pending_expiry", "since:")) == MAX_PLUGIN_WRITES + 50)
        (plugin,) = engine.plugins
        assert plugin.stats.errors == 0


async def test_take_profits_closes_parts_at_its_levels_and_moves_the_stop_to_the_entry(tmp_path):
    source = example("take_profits")["take_profits"].replace('every = "2s"', 'every = "1s"') + TICKS
    async with running(tmp_path, {"take_profits": source}) as engine:
        def ticks() -> int:
            return engine.store.get("take_profits", "ticks") or 0

        async def after_a_timer_run(bid: float) -> dict:
            """Quotes ``bid``, then the position once a whole timer run has seen it."""
            await process(engine, f"closeshort EURUSD price={bid}")   # nothing short: a quote
            since = ticks()
            await until(lambda: ticks() >= since + 2)
            (position,) = await engine.broker.positions()
            return position

        await process(engine, json.dumps({"symbol": "EURUSD", "action": "buy", "volume": 0.3, "price": 1.1,
                                          "sl": 1.095, "tp": 1.12, "tp1": 1.104, "tp2": 1.108, "tp2_pct": 30}))
        await until(lambda: engine.store.keys("take_profits", "steps:"))   # its on_fill has seen the entry
        p = await after_a_timer_run(1.1030)                                  # under TP1
        assert (p["volume"], p["sl"]) == (0.3, 1.095)
        p = await after_a_timer_run(1.1040)                                  # TP1: half of 0.3, stop to the entry
        assert (p["volume"], p["sl"]) == (0.15, 1.1)
        p = await after_a_timer_run(1.1085)                                  # past TP2: 30% of 0.3
        assert (p["volume"], p["sl"], p["tp"]) == (0.06, 1.1, 1.12)
        p = await after_a_timer_run(1.1100)                                  # the rest waits for its target
        assert p["volume"] == 0.06
        taken = [(d["volume"], d["price"]) for d in await engine.broker.history() if d["entry"] == "out"]
        wrong_side = await process(engine, json.dumps({"symbol": "EURUSD", "action": "buy", "volume": 0.1,
                                                       "price": 1.11, "tp1": 1.10}))
    assert taken == [(0.15, 1.104), (0.09, 1.1085)]
    assert wrong_side["status"] == "rejected" and wrong_side["outcome"]["reason"] == (
        "tp1: 1.1 is not on the profit side of 1.11 for a buy")


async def test_take_profits_takes_its_step_after_a_part_closed_otherwise(tmp_path):
    # 0.1 of 0.3 lots closed by another plugin (or by hand) before TP1: the script took that for
    # its own step's close, whose answer was lost, closed nothing at TP1 and moved the stop.
    source = example("take_profits")["take_profits"].replace('every = "2s"', 'every = "1s"') + TICKS
    closer = {"closer": """plugin = {priority = 300}
                           function on_alert(a)
                             if a.comment ~= 'part' then return end
                             local p = positions.list(a.symbol)[1]
                             store.set('r', orders.close{ticket = p.ticket, volume = 0.1}.ok)
                           end"""}
    async with running(tmp_path, {"take_profits": source, **closer}) as engine:
        await process(engine, json.dumps({"symbol": "EURUSD", "action": "buy", "volume": 0.3, "price": 1.1,
                                          "sl": 1.095, "tp": 1.12, "tp1": 1.104}))
        await until(lambda: engine.store.keys("take_profits", "steps:"))   # its on_fill has seen the entry
        await process(engine, "trend EURUSD H1 up comment=part")             # the closer's part
        assert engine.store.get("closer", "r") is True
        await process(engine, "closeshort EURUSD price=1.1041")              # TP1: half of 0.3
        since = engine.store.get("take_profits", "ticks") or 0
        await until(lambda: (engine.store.get("take_profits", "ticks") or 0) >= since + 2)
        (p,) = await engine.broker.positions()
        taken = [d["volume"] for d in await engine.broker.history() if d["entry"] == "out"]
    assert taken == [0.1, 0.15]
    assert (p["volume"], p["sl"]) == (0.05, 1.1)


async def test_flat_for_weekend_closes_cancels_and_refuses_entries_in_its_window(tmp_path):
    source = example("flat_for_weekend")["flat_for_weekend"].replace('every = "1m"', 'every = "1s"') + TICKS
    now = [utc("2026-12-04 20:00") + 0.25]   # a Friday; time.now() has a fraction, as live
    async with running(tmp_path, {"flat_for_weekend": source}, clock=lambda: now[0]) as engine:
        def ticks() -> int:
            return engine.store.get("flat_for_weekend", "ticks") or 0

        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09"))["status"] == "done"
        assert (await process(engine, "buylimit EURUSD volume=0.1 price=1.05 sl=1.04"))["status"] == "done"
        since = ticks()
        await until(lambda: ticks() >= since + 2)                  # a whole timer run, before 20:30
        assert len(await engine.broker.positions()) == 1 and len(await engine.broker.orders()) == 1
        now[0] = utc("2026-12-04 20:31") + 0.25
        with trio.fail_after(HANG):
            while await engine.broker.positions() or await engine.broker.orders():
                await trio.sleep(0.02)
        late = await process(engine, "sell GBPUSD volume=0.1 price=1.3 sl=1.31")
        now[0] = utc("2026-12-06 21:59") + 0.25
        sunday = await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09 id=sunday")
        now[0] = utc("2026-12-06 22:00") + 0.25
        reopened = await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09 id=open")
    assert late["status"] == "rejected" and late["outcome"]["reason"] == (
        "flat for the weekend: no entries from Friday 20:30 to Sunday 22:00 UTC")
    assert sunday["status"] == "rejected" and reopened["status"] == "done", reopened["outcome"]


async def test_flat_for_weekend_with_a_bad_time_does_not_load(tmp_path):
    source = example("flat_for_weekend")["flat_for_weekend"].replace('at = "20:30"', 'at = "half past eight"')
    async with running(tmp_path, {"flat_for_weekend": source}) as engine:
        error = engine.lifecycle.errors["flat_for_weekend.lua"]
    assert "a weekday such as Friday and a time such as 20:30, got Friday half past eight" in error


async def test_pending_expiry_cancels_an_order_waiting_too_long_and_tells_of_one_the_broker_ended(tmp_path):
    source = example("pending_expiry")["pending_expiry"].replace('every = "30s"', 'every = "1s"')
    now = [1_800_000_000.0]
    async with running(tmp_path, {"pending_expiry": source}, clock=lambda: now[0],
                       paper=PaperConfig(leverage=10.0)) as engine:
        old = (await process(engine, "buylimit EURUSD volume=0.1 price=1.05"))["outcome"]["orders"][0]["ticket"]
        await until(lambda: engine.store.keys("pending_expiry", "since:"))    # a timer run has seen it
        now[0] += 59 * 60
        young = (await process(engine, "buylimit EURUSD volume=0.1 price=1.04"))["outcome"]["orders"][0]["ticket"]
        await until(lambda: len(engine.store.keys("pending_expiry", "since:")) == 2)
        now[0] += 60                                                             # the first is 60 minutes old
        with trio.fail_after(HANG):
            while [o["ticket"] for o in await engine.broker.orders()] != [young]:
                await trio.sleep(0.02)
        await until(lambda: engine.store.keys("pending_expiry", "since:") == [f"since:{young}"])
        # 20 lots need 200,000 USD of margin at 1:10: rejected when its price comes, and told
        await process(engine, "sellstop EURUSD volume=20 price=1.03")
        await process(engine, "closeshort EURUSD price=1.029")
        with trio.fail_after(HANG):
            while not (told := [r["text"] for r in engine.database.db.query(
                    "SELECT text FROM outbox WHERE kind = 'plugin'")]):
                await trio.sleep(0.02)
        cancels = [o for o in engine.ledger.recent() if o["kind"] == "close"]
    assert [(o["plugin"], o["request"]["ticket"], o["status"]) for o in cancels] == [("pending_expiry", old, "done")]
    assert len(told) == 1 and told[0].startswith("pending_expiry: sell stop order ") and told[0].endswith(
        " on EURUSD was rejected at the broker")


@pytest.mark.parametrize("name", ["strategy.json", "risk_entry.json", "trend.json"])
def test_json_templates_parse_once_filled(name):
    template = (EXAMPLES / "tradingview" / name).read_text()
    json.loads(template)  # valid JSON even before TradingView fills it
    alert = parse_body(fill(template))
    assert alert.symbol == "EURUSD" and alert.action is not None
    assert "secret" not in alert.to_plain()


def test_text_templates_parse_once_filled():
    lines = [ln for ln in (EXAMPLES / "tradingview" / "commands.txt").read_text().splitlines()
             if ln.strip() and not ln.startswith("#")]
    assert len(lines) >= 10
    actions = {parse_body(fill(line)).action.value for line in lines}
    assert actions >= {"buy", "sell", "buylimit", "sellstop", "closelong", "closeshort", "close",
                       "closeall", "cancellong", "cancelall", "newsltp", "trend"}
