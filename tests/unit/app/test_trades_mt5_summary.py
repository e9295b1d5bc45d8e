"""The Trades page on MetaTrader 5 keeps its sums as the deals come in (``Broker.trade_summary``,
engine/domain/trade_fold.py): the terminal's history is read whole once, then its last day, and
only the deals new since are made into rows and folded into the closed trades' keys, the profit
by plugin and the equity curve's moves and hours. Each read made every row of the whole history
again and summed it all up (a busy year's 300,000 deals: seconds of Python after every fill,
bench/history_bench.py). The answers are the whole history's, compared here on the stand-in
terminal with a deal the terminal had late, a part closed, two plugins and hand trades, a deal
more than a day late (counted at the hourly whole read, as before), and a curve drawn by the hour."""

from __future__ import annotations

import time

import pytest

from engine.adapters.brokers.mt5 import deal_reads, rows
from engine.adapters.storage.activity import OrderActivity
from engine.app import Operations
from engine.app import trades as _trades
from engine.domain import trade_fold

from support.clock_shift import here_at_midday
from support.engine_support import process, running
from support.mt5_standin import Terminal
from support.mt5_support import config as standin_config

DAY, HOUR = 86_400, 3_600
# A second plugin: its own entry on gold, 0.2 lots (the engine's default execution takes the rest).
GOLD = """
plugin = {symbols = {"XAUUSD"}}
function on_alert(a)
  if a.action == "buy" then
    orders.market{symbol = "XAUUSD", side = "buy", volume = 0.2}
    return {handled = true}
  end
end
"""


async def _whole_history(engine, limit: int, before=None, balance: object = "account") -> dict:
    """The view as it was made before: every row of the terminal's history made and summed up."""
    deals = await engine.broker.history(1.0)   # a range read: the rows made of every deal, not the kept ones
    openers = OrderActivity(engine.database).openers({d["position"] for d in deals})
    if balance == "account":
        balance = (await engine.broker.account())["balance"]
    return _trades.trades_view(deals, openers, balance, limit, before)


async def _same(engine, ops) -> dict:
    """The page (and a page below its newest trade, and without the balance) as the whole history's."""
    view = await ops.trades()
    assert view == await _whole_history(engine, 100)
    if view["trades"]:
        key = view["trades"][0]["closed_at"], view["trades"][0]["position"]
        assert await ops.trades(2, before=key) == await _whole_history(engine, 2, key)
    async def ledger(positions):
        return OrderActivity(engine.database).openers(positions)
    summary = await engine.broker.trade_summary(3, None, ledger)
    openers = OrderActivity(engine.database).openers(summary["page"])
    assert _trades.summary_view(summary, openers, None) == await _whole_history(engine, 3, balance=None)
    return view


def _hand_trades(terminal: Terminal, since: float, count: int) -> None:
    """``count`` trades by hand, one every 8 hours from ``since``, profits varied, and a deposit
    among them."""
    terminal.past_trades([("GBPUSD" if k % 2 else "EURUSD", "sell" if k % 3 else "buy", 0.1, since + k * 8 * HOUR,
                           since + k * 8 * HOUR + 600, round((k * 7919 % 2001 - 1000) / 100, 2)) for k in range(count)])
    terminal.set_time(since + count * 4 * HOUR)
    terminal.deposit(250.0)


async def test_the_mt5_trades_page_kept_as_deals_come_in_answers_what_the_whole_history_does(tmp_path, monkeypatch):
    here_at_midday(monkeypatch)
    terminal = Terminal(tmp_path / "terminal.db", balance=10_000.0, commission_per_lot=7.0)
    now = time.time()
    _hand_trades(terminal, now - 300 * DAY, 12)
    terminal.set_time(now + HOUR)   # after the account's opening deposit, made as the terminal was, now
    async with running(tmp_path, {"gold": GOLD}, broker="mt5", mt5=standin_config(tmp_path, server_clock="UTC")) \
            as engine:
        ops = Operations(engine)
        assert (await process(engine, "buy EURUSD volume=0.1"))["status"] == "done"
        assert (await process(engine, "buy XAUUSD volume=0.5"))["status"] == "done"   # the plugin's 0.2
        terminal.set_time(now + 2 * HOUR)
        assert (await process(engine, "close EURUSD"))["status"] == "done"
        await _same(engine, ops)   # the history read whole
        terminal.set_time(now + 6 * HOUR)
        assert (await process(engine, "close XAUUSD volume=0.1"))["status"] == "done"   # a part of the plugin's
        view = await _same(engine, ops)   # the deals since folded in
        assert view["by_plugin"]["gold"]["trades"] == 1 and view["closed"] == 13

        terminal.set_time(now + 4 * HOUR)   # a trade the terminal had late: older than the last deal folded
        terminal.stop_out(terminal.open_external("EURUSD", "buy", 0.3))
        terminal.set_time(now + 7 * HOUR)
        assert (await process(engine, "close XAUUSD"))["status"] == "done"
        view = await _same(engine, ops)
        assert view["closed"] == 15 and {"engine", "gold", "unknown"} <= set(view["by_plugin"])

        terminal.set_time(now - 3 * DAY)   # more than a day late: not in the last day read again
        terminal.stop_out(terminal.open_external("GBPUSD", "buy", 0.4))
        terminal.set_time(now + 8 * HOUR)
        assert (await ops.trades())["closed"] == 15   # as before: counted at the next whole read
        engine.broker.whole.read_at -= deal_reads.WHOLE_EVERY
        assert (await _same(engine, ops))["closed"] == 16


async def test_a_curve_drawn_by_the_hour_is_folded_as_the_whole_history_draws_it(tmp_path, monkeypatch):
    here_at_midday(monkeypatch)
    terminal = Terminal(tmp_path / "terminal.db", balance=10_000.0, commission_per_lot=7.0)
    now = time.time()
    _hand_trades(terminal, now - 400 * DAY, 1_100)   # 2,200 points over 8,800 hours: drawn from its hours' blocks
    terminal.set_time(now + HOUR)
    async with running(tmp_path, broker="mt5", mt5=standin_config(tmp_path, server_clock="UTC")) as engine:
        ops = Operations(engine)
        first = await _same(engine, ops)
        assert first["equity_points"] > _trades.CURVE_POINTS and len(first["equity"]) <= _trades.CURVE_POINTS
        assert (await process(engine, "buy EURUSD volume=0.1"))["status"] == "done"
        terminal.set_time(now + 2 * HOUR)
        assert (await process(engine, "close EURUSD"))["status"] == "done"
        assert (await _same(engine, ops))["equity_points"] == first["equity_points"] + 2   # each deal's commission


async def test_a_read_after_a_fill_makes_and_folds_only_the_deals_new_since(tmp_path, monkeypatch):
    # After every fill the page made each row of the whole history again and summed all of them up.
    here_at_midday(monkeypatch)
    terminal = Terminal(tmp_path / "terminal.db", balance=10_000.0)
    now = time.time()
    _hand_trades(terminal, now - 100 * DAY, 30)
    terminal.set_time(now + 60)   # after the account's opening deposit, made as the terminal was
    made, summed = [], []
    row = rows._deal_row   # a terminal's deal made into a row (``rows.deal_rows``)
    monkeypatch.setattr(rows, "_deal_row", lambda deal, *a: made.append(deal["ticket"]) or row(deal, *a))
    views = _trades.trades_view
    monkeypatch.setattr(_trades, "trades_view", lambda deals, *a: summed.append(len(deals)) or views(deals, *a))
    async with running(tmp_path, broker="mt5", mt5=standin_config(tmp_path, server_clock="UTC")) as engine:
        ops = Operations(engine)
        assert (await ops.trades())["closed"] == 30
        assert (await process(engine, "buy EURUSD volume=0.1"))["status"] == "done"
        assert (await process(engine, "close EURUSD"))["status"] == "done"
        made.clear()
        view = await ops.trades()
    assert view["closed"] == 31 and summed == []
    assert len(made) == 2, f"made the rows of {len(made)} deals for two new"   # the fill's two deals


def test_a_fold_of_deals_one_at_a_time_pages_and_sums_as_the_whole_history_does():
    deals = [{"ticket": t, "position": t // 3, "symbol": "EURUSD", "side": "buy" if t % 3 == 0 else "sell",
              "entry": "in" if t % 3 == 0 else "out", "volume": 0.2 if t % 3 == 0 else 0.1, "price": 1.1,
              "profit": round((t * 37 % 101 - 50) / 10, 2) if t % 3 else 0.0, "commission": -0.35, "swap": 0.0,
              "time": 1_700_000_000 + 60 * t, "comment": None, "magic": 0} for t in range(3, 300)]
    fold, openers = trade_fold.fold(deals), {p: "a" if p % 2 else "b" for p in range(1, 100)}
    # each position opened with 0.2 lots, closed in two parts; no opener known yet, then each known
    assert _trades.summary_view(fold.summary(5, None, {}), {}, None) == _trades.trades_view(deals, {}, None, 5)
    for limit, before in ((5, None), (3, (1_700_000_000 + 60 * 150, 50)), (500, (0.0, 0))):
        summary = fold.summary(limit, before, {p: openers[p] for p in fold.unknown()})
        assert _trades.summary_view(summary, openers, 10_000.0) == _trades.trades_view(
            deals, openers, 10_000.0, limit, before)


async def test_a_fold_that_failed_is_made_again_whole_at_the_next_read(tmp_path, monkeypatch):
    # The deals read were marked kept before they were folded: a fold that failed left them out for the hour.
    here_at_midday(monkeypatch)
    terminal = Terminal(tmp_path / "terminal.db", balance=10_000.0)
    now = time.time()
    _hand_trades(terminal, now - 10 * DAY, 5)
    terminal.set_time(now + 60)
    add = trade_fold.TradeFold.add

    def failing(self, deal):
        raise RuntimeError("a fold that fails")
    async with running(tmp_path, broker="mt5", mt5=standin_config(tmp_path, server_clock="UTC")) as engine:
        ops = Operations(engine)
        assert (await ops.trades())["closed"] == 5
        assert (await process(engine, "buy EURUSD volume=0.1"))["status"] == "done"
        monkeypatch.setattr(trade_fold.TradeFold, "add", failing)
        with pytest.raises(RuntimeError):
            await ops.trades()
        monkeypatch.setattr(trade_fold.TradeFold, "add", add)
        assert (await process(engine, "close EURUSD"))["status"] == "done"
        assert (await _same(engine, ops))["closed"] == 6
