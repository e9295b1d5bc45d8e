"""The trades closed today on MetaTrader 5 (the overview's, read again after each deal; Telegram's
/trades) read a month of the terminal's history, and a position held longer than that month by
its own deals (``history_deals_get(position=)``). Such a position sent every read to the whole
history, from 1970: a busy year of deals through the link, after each deal, for one trade."""

from __future__ import annotations

import time

from engine.app import Operations
from engine.app import trades as _trades
from engine.adapters.storage.activity import OrderActivity
from engine.domain.config.mt5 import MT5Config

from support.clock_shift import here_at_midday
from support.engine_support import process, running
from support.mt5_standin import Terminal
from support.mt5_support import config as standin_config

DAY = 86_400


def mt5_config(tmp_path) -> MT5Config:
    return standin_config(tmp_path, server_clock="UTC")


async def test_a_trade_held_for_months_and_closed_today_is_read_by_its_position_not_the_whole_history(
        tmp_path, monkeypatch):
    here_at_midday(monkeypatch)  # "today" is the engine's day, whatever the time of day the test runs at
    terminal = Terminal(tmp_path / "terminal.db", balance=10_000.0, commission_per_lot=7.0)
    now = time.time()
    terminal.set_time(now - 200 * DAY)
    terminal.stop_out(terminal.open_external("GBPUSD", "sell", 0.2))   # a trade of long ago, closed then
    terminal.set_time(now - 90 * DAY)
    held = terminal.open_external("EURUSD", "buy", 0.1)                # opened by hand three months ago
    terminal.set_time(now)   # the worker's clock is not moved: today's deals are stamped on the test's
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        assert (await process(engine, "buy GBPUSD volume=0.1"))["status"] == "done"
        assert (await process(engine, "close GBPUSD"))["status"] == "done"   # a trade of today, of moonhook's
        terminal.set_price("EURUSD", 1.08110, 1.08120)
        terminal.stop_out(held)
        before = len(terminal.deal_reads())
        today = await Operations(engine).closed_since(None, 10)
        asked = terminal.deal_reads()[before:]
        deals = await engine.broker.history(None)
        openers = OrderActivity(engine.database).openers({d["position"] for d in deals})
    whole = _trades.closed_since(deals, openers, today["since"], 10)
    assert {**today, "currency": None} == {**whole, "currency": None}
    assert today["closed"] == 2 and {t["position"] for t in today["trades"]} >= {held}
    assert min(t["opened_at"] for t in today["trades"]) < now - 89 * DAY
    ranges = [r[0] for r in asked if r[0] is not None]
    assert min(ranges) > now - 40 * DAY, f"read the history from {min(ranges)}, {(now - min(ranges)) / DAY:.0f} days"
    assert [r[2] for r in asked if r[2] is not None] == [held]
