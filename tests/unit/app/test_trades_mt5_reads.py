"""The trades closed today on MetaTrader 5 (the overview's, read again after each deal; Telegram's
/trades) read a month of the terminal's history, and a position held longer than that month by
its own deals (``history_deals_get(position=)``). Such a position sent every read to the whole
history, from 1970: a busy year of deals through the link, after each deal, for one trade."""

from __future__ import annotations

import time

from engine.app import Operations
from engine.app import trades as _trades
from engine.adapters.brokers.mt5 import deal_reads
from engine.adapters.storage.activity import OrderActivity
from engine.domain.config.mt5 import MT5Config

from support.clock_shift import here_at_midday
from support.engine_support import process, running
from support.mt5_standin import Terminal
from support.mt5_support import config as standin_config, log_in_by_hand
from support.waits import until

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


def older_key(view: dict) -> tuple[float, int]:
    """The key of ``view``'s newest trade: a page below it holds the trades older than it."""
    return view["trades"][0]["closed_at"], view["trades"][0]["position"]


def _ranges(terminal, asked: int) -> list[float]:
    """Where each read of the history by time since the ``asked``-th began (the stand-in's record)."""
    return [r[0] for r in terminal.deal_reads()[asked:] if r[0] is not None and r[2] is None]


def _whole_read_again(engine) -> None:
    """The broker's whole history forgotten: its next read is from the start, as before."""
    engine.broker.whole = deal_reads.Whole()


async def test_the_trades_page_reads_the_whole_history_once_then_only_its_last_days(tmp_path, monkeypatch):
    # The Trades page asks after every fill, and each read was the whole history, from 1970, through
    # the link: a busy year's 300,000 deals for each fill. Deals, once made, stay as they were.
    here_at_midday(monkeypatch)
    terminal = Terminal(tmp_path / "terminal.db", balance=10_000.0, commission_per_lot=7.0)
    now = time.time()
    for days in (300, 200, 100):
        terminal.set_time(now - days * DAY)
        terminal.stop_out(terminal.open_external("GBPUSD", "sell", 0.2))   # trades of long ago, closed then
    terminal.set_time(now)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        ops = Operations(engine)
        assert (await ops.trades())["closed"] == 3
        assert (await process(engine, "buy EURUSD volume=0.1"))["status"] == "done"
        assert (await process(engine, "close EURUSD"))["status"] == "done"   # a fill: the page asks again
        asked = len(terminal.deal_reads())
        view = await ops.trades()
        since = min(_ranges(terminal, asked))   # the broker's poll reads its last deals meanwhile, as it may
        assert since > now - 2 * DAY, f"read the history from {since}: {(now - since) / DAY:.0f} days back"
        older = await ops.trades(2, before=older_key(view))
        _whole_read_again(engine)
        assert view == await ops.trades() and older == await ops.trades(2, before=older_key(view))
        asked = len(terminal.deal_reads())
        engine.broker.whole.read_at -= deal_reads.WHOLE_EVERY   # read whole an hour ago: read whole again
        assert await ops.trades() == view and min(_ranges(terminal, asked)) == 0
    assert view["closed"] == 4 and view["trades"][0]["plugin"] == "engine"
    assert [t["volume"] for t in older["trades"]] == [0.2, 0.2] and older["newer"] == 1


async def test_another_account_logged_in_by_hand_has_its_own_history_read_whole(tmp_path, monkeypatch):
    # The history kept between reads is one account's: another's (a login by hand) is read from the start.
    here_at_midday(monkeypatch)
    terminal = Terminal(tmp_path / "terminal.db", balance=10_000.0)
    other = Terminal(tmp_path / "other.db", balance=5_000.0, login=222, server="Standin-Live")
    now = time.time()
    for t in (terminal, other):
        t.set_time(now - 50 * DAY)
    terminal.stop_out(terminal.open_external("GBPUSD", "sell", 0.2))
    for volume in (0.3, 0.4):
        other.stop_out(other.open_external("EURUSD", "buy", volume))
    for t in (terminal, other):
        t.set_time(now)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        ops = Operations(engine)
        assert [t["volume"] for t in (await ops.trades())["trades"]] == [0.2]
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "other.db")
        await until(lambda: engine.broker.connected and "account 222 on" in engine.broker.state)
        assert [t["volume"] for t in (await ops.trades())["trades"]] == [0.4, 0.3]
