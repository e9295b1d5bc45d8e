"""The example strategies in cases a live account produces that their first tests left out: a
fill told after midnight, a pending order waiting, a price exactly at a trigger, a symbol named
through engine.symbol_map. Each through a real engine on the paper broker."""

from __future__ import annotations

import trio

from engine.domain.config import PluginConfig

from support.engine_support import process
from support.examples_support import ADDER, TICKS, example, running, utc
from support.waits import HANG, until


async def test_daily_loss_limit_counts_a_fill_on_the_day_it_was_booked(tmp_path):
    # A stop hit at 23:59 and told after midnight (or at the next start, hit while moonhook was
    # stopped) is yesterday's loss: counted today, it refused the new day's entries.
    now = [utc("2026-11-25 00:00") + 1]
    async with running(tmp_path, example("daily_loss_limit"), clock=lambda: now[0]) as engine:
        plugin = engine.plugins.get("daily_loss_limit")
        fill = {"deal": 5, "order": 1, "position": 1, "symbol": "EURUSD", "side": "sell", "volume": 1.0,
                "price": 1.09, "entry": "out", "reason": "sl", "time": utc("2026-11-24 23:59"), "profit": -400.0}
        result = await engine.hooks.call(plugin, "on_fill", fill)
        assert result.error is None, result.error
        entry = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        days = [engine.store.get("daily_loss_limit", f"pnl:2026-11-2{d}") for d in (4, 5)]
    assert days == [-400.0, 0.0]   # today: the entry's own fill, no commission
    assert entry["status"] == "done", entry["outcome"]


async def test_one_position_counts_a_pending_order_that_would_open_a_second(tmp_path):
    # A buy limit waiting, then a market buy: let through, the limit's fill made two positions.
    async with running(tmp_path, {**example("one_position"), **ADDER}) as engine:
        waiting = await process(engine, "buylimit EURUSD volume=0.1 price=1.0950")
        entry = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "trend EURUSD H1 up comment=add")   # another plugin's own entry
        await process(engine, "closeshort EURUSD price=1.0940")   # a quote: the limit fills
        with trio.fail_after(HANG):
            while await engine.broker.orders():
                await trio.sleep(0.02)
        positions = await engine.broker.positions()
        added = engine.store.get("adder", "r")
    assert waiting["status"] == "done" and len(positions) == 1
    assert entry["status"] == "rejected" and entry["outcome"]["reason"] == "already a pending order on EURUSD"
    assert added == "vetoed by one_position: already a pending order on EURUSD"


async def test_breakeven_moves_the_stop_of_a_short_at_exactly_its_trigger(tmp_path):
    # A USDJPY short at 150.00, the ask at 149.80: 20 pips, which the floats made 19.99999, under
    # the trigger: a price that touched it and turned took the position back to its first stop.
    source = example("breakeven")["breakeven"].replace('every = "5s"', 'every = "1s"') + TICKS
    async with running(tmp_path, {"breakeven": source}) as engine:
        await process(engine, "sell USDJPY volume=0.1 price=150.00 sl=150.50")
        await until(lambda: engine.store.keys("breakeven", "watch:"))   # its on_fill has seen the entry
        await process(engine, "closelong USDJPY price=149.80")            # a quote: the ask 20 pips down
        since = engine.store.get("breakeven", "ticks") or 0
        await until(lambda: (engine.store.get("breakeven", "ticks") or 0) >= since + 2)
        (short,) = await engine.broker.positions()
    assert short["sl"] == 149.99   # the entry less lock_pips, 1 pip of 0.01


async def test_trailing_stop_trails_the_symbols_it_names_through_the_symbol_map(tmp_path):
    # plugin.symbols names TradingView's ticker, GOLD, which engine.symbol_map maps to the broker's
    # XAUUSD: compared with the positions' own names, no gold position was trailed.
    source = example("trailing_stop")["trailing_stop"].replace('every = "2s"', 'every = "1s"').replace(
        "priority = 100,", 'priority = 100,\n  symbols = {"GOLD"},') + TICKS
    async with running(tmp_path, {"trailing_stop": source}, symbol_map={"GOLD": "XAUUSD"},
                       plugins={"trailing_stop": PluginConfig(params={"distance_pips": 150})}) as engine:
        await process(engine, "buy GOLD volume=0.1 price=2000")
        await process(engine, "closeshort GOLD price=2010")   # a quote: the bid 10 USD up
        since = engine.store.get("trailing_stop", "ticks") or 0
        await until(lambda: (engine.store.get("trailing_stop", "ticks") or 0) >= since + 2)
        (gold,) = await engine.broker.positions()
    assert (gold["symbol"], gold["sl"]) == ("XAUUSD", 2008.5)   # 150 pips of 0.01 behind the bid
