"""Risk on a pair whose base currency is the account's (USDJPY on a USD account): the loss at the
stop, in JPY, converts to USD at the stop's price, as the broker books it there, not at today's.
``risk=`` and ``risk_amount=`` size on it, ``max_risk_pct`` measures it and ``risk.lot_size``
answers it alike on the paper broker and in replay (the paper market's rules); MetaTrader 5's
is in ``tests/unit/adapters/test_mt5_sizing.py``. A real engine on the paper broker (no spread,
no commission: the numbers are the price's alone).

By hand, a lot (100,000 USD) from 150 to the stop 147 loses 3 x 100,000 = 300,000 JPY, which
at 147 are 2,040.82 USD (today's tick value, at 150, says 2,000.00); to the stop 160 it loses
1,000,000 JPY, 6,250.00 USD at 160 (6,666.67 at 150)."""

from __future__ import annotations

from dataclasses import replace

from engine.app.replay import Bar, RecordedAlert
from engine.app.replay.runner import replay
from engine.domain.config import EngineConfig

from support.engine_support import process, running

BUY, SELL = 300_000 / 147, 1_000_000 / 160   # USD a lot loses at the stop


async def sized_and_stopped(engine, body: str, stop: float) -> tuple[float, float]:
    """The volume ``body`` opens, and what the balance loses when the price reaches ``stop``."""
    row = await process(engine, body)
    assert row["status"] == "done", row["outcome"]
    (position,) = await engine.broker.positions()
    await engine.broker.quote("USDJPY", stop, engine.clock())
    await engine.drain()
    assert await engine.broker.positions() == []
    return position["volume"], round(10_000 - (await engine.broker.account())["balance"], 2)


async def test_a_buy_is_sized_on_the_loss_at_the_stops_price_and_loses_no_more_than_asked(tmp_path):
    async with running(tmp_path) as engine:
        volume, lost = await sized_and_stopped(engine, "buy USDJPY risk=1 sl=147 price=150", 147.0)
    # 100 USD / 2,040.82 = 0.049 lots: 0.04 (0.05, sized on today's tick value, lose 102.04)
    assert (volume, lost) == (0.04, round(0.04 * BUY, 2)) == (0.04, 81.63)


async def test_a_sell_is_sized_on_the_loss_at_the_stops_price_and_risks_what_was_asked(tmp_path):
    async with running(tmp_path) as engine:
        volume, lost = await sized_and_stopped(engine, "sell USDJPY risk_amount=500 sl=160 price=150", 160.0)
    # 500 USD / 6,250.00 = 0.08 lots (sized on today's tick value: 0.07, which lose 437.50)
    assert (volume, lost) == (0.08, round(0.08 * SELL, 2)) == (0.08, 500.0)


async def test_a_pair_quoted_in_the_accounts_currency_is_sized_as_before(tmp_path):
    async with running(tmp_path) as engine:
        row = await process(engine, "buy EURUSD risk=1 sl=1.09 price=1.1")
        assert row["status"] == "done", row["outcome"]
        assert [p["volume"] for p in await engine.broker.positions()] == [0.1]   # 1,000 points of 1.00 USD


async def test_max_risk_pct_measures_the_loss_at_the_stops_price(tmp_path):
    async with running(tmp_path, max_risk_pct=5.0) as engine:
        # 0.25 lots to 147: 510.20 (today's tick value says 500.00, 5%); 0.08 to 160: 500.00 (it says 533.33)
        over = await process(engine, "buy USDJPY volume=0.25 sl=147 price=150")
        assert over["outcome"]["orders"][0]["error"] == (
            "over engine.max_risk_pct: 0.25 lots from 150 lose 510.20 USD at the stop 147, 5.10% of the balance "
            "10,000.00, at most 5%")
        sell = await process(engine, "sell USDJPY volume=0.08 sl=160 price=150 id=sell")
        assert sell["status"] == "done", sell["outcome"]
        sized = await process(engine, "buy USDJPY risk=5 sl=147 price=150 id=sized")   # what risk= gives passes
        assert sized["status"] == "done", sized["outcome"]


async def test_risk_lot_size_measures_the_loss_at_the_stops_price(tmp_path):
    # A distance in points has no side: it is taken below the quote's bid, the lower stop, the greater loss.
    sizer = """
    function on_alert(a)
      store.set('sizes', {risk.lot_size{symbol = 'USDJPY', risk_pct = 1, sl = 147},
                          risk.lot_size{symbol = 'USDJPY', risk_pct = 5, sl = 160},
                          risk.lot_size{symbol = 'USDJPY', risk_pct = 1, sl_points = 3000},
                          risk.lot_size{symbol = 'USDJPY', risk_pct = 1, sl_points = 3000, price = 150}})
      return {handled = true}
    end
    """
    async with running(tmp_path, {"sizer": sizer}) as engine:
        await process(engine, "buy USDJPY volume=0.1 price=150")
        assert engine.store.get("sizer", "sizes") == [0.04, 0.08, 0.04, 0.04]


async def test_replay_sizes_and_books_the_stop_as_the_paper_broker_does(tmp_path):
    t0, hour = 1_715_558_400.0, 3600.0
    bars = {"USDJPY": [Bar(t0, 150.0, 150.5, 149.5, 150.0), Bar(t0 + hour, 150.0, 150.2, 146.0, 146.5),
                       Bar(t0 + 2 * hour, 146.5, 162.0, 146.4, 161.0)]}
    alerts = [RecordedAlert(t0 + 600, "buy USDJPY risk=1 sl=147 price=150", "a:1"),
              RecordedAlert(t0 + 1200, "sell USDJPY risk_amount=500 sl=160 price=150", "a:2")]
    (tmp_path / "scripts").mkdir()
    out = await replay(replace(EngineConfig()), tmp_path / "scripts", alerts, bars)
    assert sorted((t.side, t.volume, t.close_price, t.profit) for t in out.trades) == [
        ("buy", 0.04, 147.0, -81.63), ("sell", 0.08, 160.0, -500.0)]
