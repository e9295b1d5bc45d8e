"""Symbol specifications: built-ins, config overrides refused by key path, tick values."""

import pytest

from engine.domain.instruments import BUILTIN, symbol_table
from engine.domain.risk import lot_size

PRICES = {"USDJPY": 150.0, "EURUSD": 1.08, "GBPUSD": 1.25}


def price_of(symbol):
    return PRICES.get(symbol)


def test_builtins_cover_each_class():
    for name in ("EURUSD", "USDJPY", "XAUUSD", "US30", "GER40", "BTCUSD"):
        assert name in BUILTIN


@pytest.mark.parametrize("name, account, expected", [
    ("EURUSD", "USD", 1.0),                  # 100,000 x 0.00001 USD
    ("USDJPY", "USD", 1000 * 0.001 * 100 / 150.0),  # 100 JPY per tick, converted at 150
    ("XAUUSD", "USD", 1.0),
    ("GER40", "USD", 0.1 * 1.08),           # 0.1 EUR at 1.08
    ("EURUSD", "EUR", 1.0 / 1.08),
])
def test_tick_value_in_the_account_currency(name, account, expected):
    assert BUILTIN[name].tick_value(account, price_of) == pytest.approx(expected)


def test_no_rate_no_tick_value():
    assert BUILTIN["JPN225"].tick_value("CHF", price_of) is None


def test_overrides_and_new_symbols():
    table = symbol_table({"XAUUSD": {"volume_min": 0.1, "contract_size": 10},
                          "GOLD": {"quote": "usd", "digits": 2, "contract_size": 100, "volume_min": 0.01,
                                   "volume_step": 0.01, "volume_max": 20}})
    assert table["XAUUSD"].volume_min == 0.1 and table["XAUUSD"].contract_size == 10
    assert table["GOLD"].quote == "USD" and table["EURUSD"] == BUILTIN["EURUSD"]


@pytest.mark.parametrize("overrides, message", [
    ({"XAUUSD": {"volume_stepp": 0.1}}, "paper.symbols.XAUUSD.volume_stepp: unknown field"),
    ({"XAUUSD": {"digits": 2.5}}, "paper.symbols.XAUUSD.digits: expected an integer"),
    ({"XAUUSD": {"volume_min": -1}}, "paper.symbols.XAUUSD.volume_min: expected a positive number"),
    ({"XAUUSD": {"quote": "dollars"}}, "3-letter currency"),
    ({"NEW": {"digits": 2}}, "paper.symbols.NEW: a new symbol needs quote"),
    ({"XAUUSD": {"volume_min": 100}}, "above volume_max"),
    ({"XAUUSD": 5}, "expected a table"),
])
def test_bad_overrides_name_the_key(overrides, message):
    with pytest.raises(ValueError) as e:
        symbol_table(overrides)
    assert message in str(e.value)


def test_sizing_with_a_builtin_spec():
    spec = BUILTIN["EURJPY"].to_plain("USD", price_of)
    # 1 % of 10,000 = 100 USD; 50 pips on EURJPY = 0.5 JPY = 500 ticks of 0.6667 USD (at USDJPY's 150) -> 0.3 lots
    assert lot_size(spec, balance=10_000, price=160.0, risk_pct=1, sl=159.5).volume == 0.3


@pytest.mark.parametrize("name, account, expected", [
    ("USDJPY", "USD", True), ("EURUSD", "EUR", True), ("USDCHF", "USD", True),
    ("EURUSD", "USD", False), ("EURJPY", "USD", False), ("GER40", "EUR", False), ("XAUUSD", "USD", False),
])
def test_the_account_is_the_base_of_a_pair_named_by_it_and_its_quote(name, account, expected):
    assert BUILTIN[name].account_is_base(account) is expected
    assert BUILTIN[name].to_plain(account, price_of)["account_is_base"] is expected


def test_sizing_a_pair_whose_base_is_the_accounts_converts_the_loss_at_the_stop():
    spec = BUILTIN["USDJPY"].to_plain("USD", price_of)
    # 50 pips from 150: 50,000 JPY a lot, 334.45 USD at the stop 149.5 -> 0.299 lots: 0.29 (0.3 lose 100.33)
    assert lot_size(spec, balance=10_000, price=150.0, risk_pct=1, sl=149.5).volume == 0.29
