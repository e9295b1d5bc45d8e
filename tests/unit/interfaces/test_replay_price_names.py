"""The symbol moonhook replay reads from a price file's name, as TradingView (``OANDA_XAUUSD,
60.csv``) and MetaTrader 5 (``EURUSD_H1_....csv``) name their exports, mapped by
``engine.symbol_map`` as an alert's ticker is."""

from pathlib import Path

import pytest

from engine.domain.alerts import SymbolMap
from engine.domain.instruments import symbol_table
from engine.interfaces.replay_command import _price_file

GOLD = {"GOLD": {"quote": "USD", "digits": 2, "contract_size": 100, "volume_min": 0.01, "volume_step": 0.01,
                 "volume_max": 100}}


@pytest.mark.parametrize("spec, symbol", [
    ("OANDA_XAUUSD, 60.csv", "GOLD"),                 # the map's key with OANDA's exchange: its alerts trade GOLD
    ("FOREXCOM_XAUUSD, 60.csv", "XAUUSD"),            # another exchange's: not that key
    ("FX_IDC_EURUSD, 1D (1).csv", "EURUSD"),           # an exchange with "_" in it, saved twice
    ("EURUSD, 60.csv", "EURUSD"),                     # no exchange
    ("EURUSD_H1_202601020000_202601050100.csv", "EURUSD"),
    ("GOLD=prices/OANDA_XAUUSD, 60.csv", "GOLD"),
])
def test_a_tradingview_exports_exchange_is_mapped_as_its_alerts_ticker_is(spec, symbol):
    # Without its exchange, OANDA's XAUUSD chart fed XAUUSD while its alerts, OANDA:XAUUSD,
    # traded GOLD without prices: filled at the alert's price, the stop never taken, "no prices".
    symbols = SymbolMap({"OANDA:XAUUSD": "GOLD"})
    assert _price_file(spec, symbols, symbol_table(GOLD, where="paper.symbols")) == (symbol, Path(spec.split("=")[-1]))


def test_a_file_not_there_is_said_so_before_its_name(tmp_path):
    # A typo ("FX_EURUSD 60.csv", no comma) was answered "cannot tell its symbol from the file's name".
    missing = tmp_path / "FX_EURUSD 60.csv"
    with pytest.raises(ValueError, match=r"FX_EURUSD 60\.csv: cannot open: no such file$"):
        _price_file(str(missing), SymbolMap({}), symbol_table({}, where="paper.symbols"))


@pytest.mark.parametrize("name, said", [
    ("FX_ZZZUSD, 60.csv", "ZZZUSD"),
    ("EURUSDm_H1_202601020000_202601050100.csv", "EURUSDM"),   # a broker's suffix
    ("EURUSD.a_Daily_202601020000_202601050100.csv", "EURUSD.A"),
])
def test_a_symbol_read_from_the_name_that_the_paper_account_lacks_is_named(tmp_path, name, said):
    # It was "cannot tell its symbol from the file's name", the name having told it.
    path = tmp_path / name
    path.write_text("time,open,high,low,close\n")
    with pytest.raises(ValueError) as refused:
        _price_file(str(path), SymbolMap({}), symbol_table({}, where="paper.symbols"))
    assert str(refused.value) == (f"{path}: its name says {said}, a symbol paper.symbols does not define: give "
                                  f"the file as SYMBOL={path}, or define {said} under paper.symbols")


def test_a_name_that_says_no_symbol_is_said_so(tmp_path):
    path = tmp_path / "prices.csv"
    path.write_text("time,open,high,low,close\n")
    with pytest.raises(ValueError, match=r"prices\.csv: cannot tell its symbol from the file's name; give it as "
                                         r"SYMBOL=.*prices\.csv$"):
        _price_file(str(path), SymbolMap({}), symbol_table({}, where="paper.symbols"))
