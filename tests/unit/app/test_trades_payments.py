"""The trades' view on MetaTrader 5's history, which holds the money paid in and out: a deposit
or a withdrawal moves the equity curve's balance where it was made, and is no profit, no trade
and no plugin's. The figures are worked out by hand from the stand-in's deals."""

from __future__ import annotations

import time

from engine.app import Operations
from engine.domain.config.mt5 import MT5Config

from support.clock_shift import here_at_midday
from support.engine_support import process, running
from support.mt5_standin import Terminal
from support.mt5_support import config as standin_config


def mt5_config(tmp_path) -> MT5Config:
    return standin_config(tmp_path)


async def test_a_deposit_and_a_withdrawal_move_the_curves_balance_where_they_were_made(tmp_path, monkeypatch):
    here_at_midday(monkeypatch)  # the overview's "today" holds every deal, whatever the time the test runs at
    terminal = Terminal(tmp_path / "terminal.db", balance=10_000.0, commission_per_lot=7.0)  # paid in: 10,000
    terminal.set_time(time.time())  # the worker's clock is not moved: the deals are stamped on the test's
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        await process(engine, "buy EURUSD volume=0.1")                 # at the ask 1.08010: 0.70
        terminal.set_price("EURUSD", 1.08110, 1.08120)
        await process(engine, "closelong EURUSD")                      # 100 points of 0.1 lot: +10.00, 0.70
        terminal.deposit(5_000.0)
        terminal.deposit(-2_000.0, "Withdrawal")
        await process(engine, "sell EURUSD volume=0.1")                # at the bid 1.08110: 0.70
        view = await Operations(engine).trades()
        today = (await Operations(engine).overview())["today"]
    assert [(p["profit"], p.get("paid"), p["balance"]) for p in view["equity"]] == [
        (0.0, None, 0.0), (0.0, 10_000.0, 10_000.0),                   # the account opened with its deposit
        (-0.7, None, 9_999.3), (8.6, None, 10_008.6),                  # the trade: -0.70, then +10.00 - 0.70
        (8.6, 5_000.0, 15_008.6), (8.6, -2_000.0, 13_008.6),           # paid in and out: no profit
        (7.9, None, 13_007.9)]                                         # the sell's commission
    assert view["equity"][-1]["balance"] == terminal.account()["balance"]
    assert view["closed"] == 1 and view["trades"][0]["net"] == 8.6
    assert view["by_plugin"] == {"engine": {"trades": 1, "profit": 10.0, "commission": -2.1, "swap": 0.0,
                                            "net": 7.9}}
    assert (today["trades_closed"], today["net"]) == (1, 8.6)
