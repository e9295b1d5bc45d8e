"""Risk on MetaTrader 5 for a pair whose base currency is the account's (USDJPY on a USD account):
MetaTrader books its profit, in JPY, divided by the closing price, so the loss at the stop is
converted at the stop's price, not at today's tick value. The same inputs as the paper broker's
in ``tests/unit/core/test_risk_in_the_base_currency.py``, the same volumes and losses (the
stand-in terminal in the broker's worker process, tests/support/mt5_standin.py).

By hand, a lot (100,000 USD) from 150 to the stop 147 loses 300,000 JPY, 2,040.82 USD at 147;
to the stop 160, 1,000,000 JPY, 6,250.00 USD at 160."""

from __future__ import annotations

import pytest

from engine.adapters.brokers.mt5.rows import account_is_base

from support.engine_support import process, running
from support.mt5_standin import DEFAULT_SYMBOLS, USDJPY, Terminal
from test_mt5_engine import mt5_config, until

BUY, SELL = 300_000 / 147, 1_000_000 / 160   # USD a lot loses at the stop


def terminal_at_150(tmp_path) -> Terminal:
    """A USD account whose terminal quotes USDJPY at 150 (no spread: the paper broker's inputs)."""
    return Terminal(tmp_path / "terminal.db", symbols={**DEFAULT_SYMBOLS, "USDJPY": {**USDJPY, "ask": 150.0}})


async def sized_and_stopped(engine, terminal: Terminal, body: str, stop: float) -> tuple[float, float]:
    """The volume ``body`` opens, and what the balance loses when the price reaches ``stop``."""
    row = await process(engine, body)
    assert row["status"] == "done", row["outcome"]
    (position,) = terminal.positions()
    terminal.set_price("USDJPY", stop, stop)
    await until(lambda: not terminal.positions())
    return position["volume"], round(10_000 - terminal.account()["balance"], 2)


async def test_a_buy_and_a_sell_are_sized_on_the_loss_at_the_stops_price(tmp_path):
    terminal = terminal_at_150(tmp_path)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        spec = await engine.broker.symbol("USDJPY")
        assert spec["account_is_base"] is True and spec["tick_value"] == pytest.approx(100 / 150)
        bought = await sized_and_stopped(engine, terminal, "buy USDJPY risk=1 sl=147 price=150 id=buy", 147.0)
        terminal.set_price("USDJPY", 150.0, 150.0)
        sold = await sized_and_stopped(engine, terminal, "sell USDJPY risk_amount=500 sl=160 price=150 id=sell", 160.0)
    assert bought == (0.04, round(0.04 * BUY, 2)) == (0.04, 81.63)          # today's tick value: 0.05, 102.04 lost
    assert sold[0] == 0.08 and sold[1] == round(81.63 + 0.08 * SELL, 2)   # today's: 0.07, 437.50 lost


async def test_max_risk_pct_measures_the_loss_at_the_stops_price(tmp_path):
    terminal_at_150(tmp_path)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_risk_pct=5.0) as engine:
        over = await process(engine, "buy USDJPY volume=0.25 sl=147 price=150")
        sell = await process(engine, "sell USDJPY volume=0.08 sl=160 price=150 id=sell")
    assert over["outcome"]["orders"][0]["error"] == (
        "over engine.max_risk_pct: 0.25 lots from 150 lose 510.20 USD at the stop 147, 5.10% of the balance "
        "10,000.00, at most 5%")
    assert sell["status"] == "done", sell["outcome"]


async def test_a_pair_quoted_in_the_accounts_currency_is_sized_as_before(tmp_path):
    terminal_at_150(tmp_path)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        assert (await engine.broker.symbol("EURUSD"))["account_is_base"] is False
        row = await process(engine, "buy EURUSD risk=1 sl=1.0701")   # from the ask 1.0801: 1,000 points of 1.00
    assert row["outcome"]["orders"][0]["volume"] == 0.1, row


@pytest.mark.parametrize("info, currency, expected", [
    ({"trade_calc_mode": 0, "currency_base": "USD", "currency_profit": "JPY"}, "USD", True),
    ({"trade_calc_mode": 5, "currency_base": "EUR", "currency_profit": "USD"}, "EUR", True),   # no leverage
    ({"trade_calc_mode": 0, "currency_base": "EUR", "currency_profit": "USD"}, "USD", False),
    ({"trade_calc_mode": 0, "currency_base": "USD", "currency_profit": "USD"}, "USD", False),
    ({"trade_calc_mode": 2, "currency_base": "USD", "currency_profit": "JPY"}, "USD", False),  # a CFD: no rate
    ({"trade_calc_mode": 0, "currency_base": "USD", "currency_profit": "JPY"}, None, False),   # not connected
])
def test_only_a_currency_pair_whose_base_is_the_accounts_converts_at_its_own_price(info, currency, expected):
    assert account_is_base(info, currency) is expected
