"""MetaTrader's deal rows as the engine reads them (engine/adapters/brokers/mt5/rows.py): what a
deal cost counts in the day's loss (``max_daily_loss_pct``), its fee too."""

from __future__ import annotations

from dataclasses import replace

from engine.adapters.brokers.mt5.clock import ServerClock
from engine.adapters.brokers.mt5.rows import deal_rows
from engine.core.limits import Limits
from engine.domain.config import EngineConfig
from engine.domain.config.mt5 import MT5Config

NOW = 1_700_000_000.0   # 2023-11-14 22:13 UTC


def deal(ticket: int, type_: int, entry: int, t: float, profit: float = 0.0, fee: float = 0.0,
         commission: float = 0.0, position: int = 7) -> dict:
    return {"ticket": ticket, "order": ticket, "time": int(t), "time_msc": int(t * 1000), "type": type_,
            "entry": entry, "magic": 1, "position_id": position, "reason": 3, "volume": 1.0, "price": 1.1,
            "commission": commission, "swap": 0.0, "profit": profit, "fee": fee, "symbol": "EURUSD", "comment": "",
            "external_id": ""}


RAW = [deal(1, 0, 0, NOW - 600, fee=-100.0, commission=-3.5),    # in: a fee of 100 and 3.50 commission
       deal(2, 1, 1, NOW - 60, profit=-100.0, fee=-100.0),        # out: 100 lost, a fee of 100
       deal(3, 7, 0, NOW - 30, profit=-20.0, position=0),         # commission charged apart
       deal(4, 2, 0, NOW - 20, profit=500.0, position=0)]         # a deposit: no trading


class Terminal:
    """What MT5Broker.account() and history() give the limits, from the terminal's rows."""

    async def account(self):
        return {"balance": 10_000 - 323.5 + 500, "equity": 10_000 - 323.5 + 500, "currency": "USD"}

    async def history(self, since=None):
        return deal_rows(RAW, since, MT5Config(), ServerClock(None, "unknown"))


async def test_a_deals_fee_and_commission_charged_apart_count_in_the_days_loss():
    rows = await Terminal().history()
    assert [(d["ticket"], d["side"], d["position"], d["profit"], d["commission"], d.get("amount")) for d in rows] == [
        (1, "buy", 7, 0.0, -103.5, None), (2, "sell", 7, -100.0, -100.0, None), (3, None, 0, 0.0, -20.0, None),
        (4, None, 0, 0.0, 0.0, 500.0)]                                  # the deposit: paid in, no profit
    assert rows[-1]["entry"] == "balance"
    limits = Limits.of(replace(EngineConfig(), max_daily_loss_pct=3.0), clock=lambda: NOW)
    day = await limits.day_loss(Terminal())
    # The day lost 323.50 (fees 200, commission 23.50, profit -100) of the 10,000 it began with
    # (the deposit made since is neither a loss nor in that balance); with the fees and the charge
    # left out it measured 103.50, 1.01%.
    assert (day["balance"], day["loss"], day["loss_pct"]) == (10_000.0, 323.5, 3.23)
    assert (await limits._day_lost(Terminal(), await Terminal().account())).startswith(
        "over engine.max_daily_loss_pct: the trading day's loss is USD 323.50")
