"""Extreme values that every check before took (a price of 1e30 from a plugin's order or a quote,
a setting as large as moonhook.toml allows) never raise inside the paper broker: a price past
1e15 is refused naming it, or ignored as a quote; the money sums are total. Before, one quote of
1e30 with a EURUSD position open made ``rules.cents`` raise (decimal.InvalidOperation) on every
later alert of every symbol, each an "internal error", until a sane EURUSD price came."""

from __future__ import annotations

import pytest

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.brokers.paper.rules import cents
from engine.adapters.storage.database import Database
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import OrderRequest
from support.order_requests import req

T0 = 1_700_000_000.0


def buy(symbol: str = "EURUSD", **fields) -> OrderRequest:
    return req("market", **{"symbol": symbol, "side": "buy", "volume": 0.1, **fields})


def broker(tmp_path, config: PaperConfig = PaperConfig()) -> PaperBroker:
    return PaperBroker(Database(tmp_path / "moonhook.db"), config, clock=lambda: T0)


@pytest.mark.parametrize("huge", [1e25, 1e30, 1e300])
async def test_a_huge_quote_is_ignored_and_poisons_no_later_alert(tmp_path, huge):
    paper = broker(tmp_path)
    await paper.quote("EURUSD", 1.1, T0)
    assert (await paper.execute(buy())).ok
    await paper.quote("EURUSD", huge, T0 + 1)   # raised, and so did every read after it
    assert (await paper.price("EURUSD"))["bid"] == 1.1
    assert (await paper.account())["equity"] == 10_000.0
    await paper.quote("GBPUSD", 1.25, T0 + 2)
    assert (await paper.execute(buy("GBPUSD"))).ok
    assert paper.quote_of("EURUSD", huge) is None


@pytest.mark.parametrize("name", ["price", "sl", "tp"])
async def test_an_order_price_or_stop_past_1e15_is_refused_naming_it(tmp_path, name):
    paper = broker(tmp_path)
    fields = {"price": 1.1, "sl": 1.0, "tp": 1.2, name: 1e30}
    said = f"{name}: must be at most 1e15 (no market's price is near it), got 1e+30"
    assert (await paper.execute(buy(**fields))).error == said
    pending = req("pending", symbol="EURUSD", side="buy", type="stop", volume=0.1, **{**fields, "price": 1.15,
                                                                                      name: 1e30})
    assert (await paper.execute(pending)).error == said
    assert await paper.positions() == [] and await paper.orders() == []
    placed = await paper.execute(req("pending", symbol="EURUSD", side="buy", type="limit", volume=0.1, price=1.05))
    assert (await paper.execute(req("modify", ticket=placed.ticket, **{name: 1e30}))).error == said
    if name != "price":
        opened = await paper.execute(buy(price=1.1))
        assert (await paper.execute(req("modify", ticket=opened.ticket, **{name: 1e30}))).error == said


def test_cents_is_total_on_any_finite_amount():
    assert cents(1e30) == 1e30 and cents(-1e300) == -1e300
    assert cents(123_456_789_012_345_678_901_234.567) == 123_456_789_012_345_678_901_234.567
    assert cents(0.105) == 0.11 and cents(-0.175) == -0.18


async def test_settings_as_large_as_the_config_takes_them_book_without_raising(tmp_path):
    # A position's profit on a contract of 1e12 x 1e6 lots raised in cents at a price of 1e14.
    config = PaperConfig(balance=1e15, commission_per_lot=1e15, leverage=1e-6,
                         symbols={"BIG": {"quote": "USD", "digits": 2, "contract_size": 1e12, "volume_min": 1,
                                          "volume_step": 1, "volume_max": 1e6}})
    paper = broker(tmp_path, config)
    await paper.quote("BIG", 1e6, T0)
    opened = await paper.execute(req("market", symbol="BIG", side="sell", volume=1e6, price=1e6))
    assert opened.error and opened.error.startswith("not enough money"), opened
    rich = broker(tmp_path / "rich", PaperConfig(balance=1e15, leverage=1e15, commission_per_lot=1e3,
                                                 symbols=config.symbols))
    await rich.quote("BIG", 1e6, T0)
    assert (await rich.execute(req("market", symbol="BIG", side="buy", volume=1e6, price=1e6))).ok
    await rich.quote("BIG", 1e14, T0 + 1)
    account = await rich.account()
    assert account["equity"] > 1e31, account
    with pytest.raises(ValueError, match=r"^paper.commission_per_lot: must be at most 1e15, got 1e\+308$"):
        PaperConfig(commission_per_lot=1e308)   # booked the balance -inf for good
    closed = await rich.execute(req("close", symbol="BIG"))
    assert closed.ok, closed


async def test_a_price_at_which_the_sums_raise_is_not_taken_and_other_alerts_go_on(tmp_path, monkeypatch, caplog):
    # The last line, should any sum still raise at some price: logged, the price not kept (kept, it
    # failed every later read of the account, so every alert of every symbol).
    from engine.adapters.brokers.paper import market

    def failing(spec, tick_value, p, close, volume):
        if close == 2.0:
            raise ArithmeticError("a sum that raises")
        return real(spec, tick_value, p, close, volume)

    real = market.profit_of
    monkeypatch.setattr(market, "profit_of", failing)
    paper = broker(tmp_path)
    await paper.quote("EURUSD", 1.1, T0)
    assert (await paper.execute(buy())).ok
    await paper.quote("EURUSD", 2.0, T0 + 1)
    assert (await paper.price("EURUSD"))["bid"] == 1.1 and (await paper.account())["equity"] == 10_000.0
    assert "EURUSD's price 2.0 is not taken" in caplog.text
    await paper.quote("GBPUSD", 1.25, T0 + 2)
    assert (await paper.execute(buy("GBPUSD"))).ok


async def test_the_mt5_broker_refuses_a_price_past_1e15_before_sending_it(tmp_path):
    from support.mt5_support import mt5

    async with mt5(tmp_path) as mt:
        said = "tp: must be at most 1e15 (no market's price is near it), got 1e+30"
        assert (await mt.execute(buy(tp=1e30))).error == said
        pending = req("pending", symbol="EURUSD", side="buy", type="limit", volume=0.1, price=1e30)
        assert (await mt.execute(pending)).error == said.replace("tp:", "price:")
        assert mt.terminal.sent() == 0


async def test_a_huge_price_an_earlier_version_saved_is_not_read_back(tmp_path):
    # Saved at the stop after the quote that raised: read back, a sell's floating loss of 1e29
    # stopped it out at 1e30 at the next quote of any symbol.
    paper = broker(tmp_path)
    await paper.quote("EURUSD", 1.1, T0)
    await paper.quote("GBPUSD", 1.25, T0)
    await paper.stop()
    database = Database(tmp_path / "moonhook.db")
    with database.transaction() as db:
        db.execute("UPDATE paper_prices SET bid = 1e30, ask = 1e30 WHERE symbol = 'EURUSD'")
    again = PaperBroker(database, PaperConfig(), clock=lambda: T0)
    assert await again.price("EURUSD") is None and (await again.price("GBPUSD"))["bid"] == 1.25


async def test_a_refusal_for_margin_says_its_amounts_readably(tmp_path):
    # At 1:1e-300, 0.1 lots of EURUSD need 1.1e304 of margin: said in full, it was 306 digits long.
    paper = broker(tmp_path, PaperConfig(leverage=1e-300))
    await paper.quote("EURUSD", 1.1, T0)
    said = (await paper.execute(buy())).error
    assert said == ("not enough money: 0.1 lots of EURUSD need 1.1e+304 USD of margin at 1:1e-300, and the free "
                    "margin is 10,000.00"), said
    rich = broker(tmp_path / "rich", PaperConfig(balance=1e15, leverage=5e-324))   # the margin overflows to inf
    await rich.quote("EURUSD", 1.1, T0)
    said = (await rich.execute(buy())).error
    assert said == ("not enough money: 0.1 lots of EURUSD need more than 1.8e+308 USD of margin at 1:4.94066e-324, "
                    "and the free margin is 1e+15"), said
