"""moonhook.toml's symbol names read strictly: the MT5 server's clock, the spread limit by symbol
and [mt5] symbols, each keyed by the name the engine looks it up by, else refused with the name
to write (a key never looked up would leave the trader's limit or mapping silently unused)."""

import pytest

from engine.app.settings import load_settings

from support.settings_support import error, write


@pytest.mark.parametrize("written, clock", [
    ("auto", None), ("GMT+2/+3 US", "GMT+2/+3 (US daylight saving)"),
    ("GMT+2/+3 (US daylight saving)", "GMT+2/+3 (US daylight saving)"), ("gmt+1/+2 eu", "GMT+1/+2 (EU daylight saving)"),
    ("GMT+3", "GMT+3 (fixed)"), ("UTC", "GMT+0 (fixed)"), ("GMT-5:30", "GMT-5:30 (fixed)"),
    ("Europe/Athens", "Europe/Athens"),
])
def test_the_mt5_server_clock_reads_the_forms_docs_and_logs_show(tmp_path, written, clock):
    from engine.domain.config.mt5 import server_zone
    s = load_settings(write(tmp_path, f'[mt5]\nserver_clock = "{written}"\n'), {})
    zone = server_zone(s.engine.mt5.server_clock)
    assert (None if zone is None else str(zone)) == clock


@pytest.mark.parametrize("written, table", [
    ("3", {"*": 3.0}), ("{ \"*\" = 2.5, XAUUSD = 40 }", {"*": 2.5, "XAUUSD": 40.0}), ("{ GBPJPY = 6 }", {"GBPJPY": 6.0}),
])
def test_the_spread_limit_is_one_number_or_a_table_by_symbol(tmp_path, written, table):
    path = tmp_path / "moonhook.toml"
    path.write_text(f"[engine]\nmax_spread_pips = {written}\n")
    assert load_settings(path, env={}).engine.max_spread_pips == table


@pytest.mark.parametrize("text, refused", [
    ('[engine]\nmax_spread_pips = { "OANDA:XAUUSD" = 40 }\n',
     "engine.max_spread_pips.OANDA:XAUUSD: an entry on it is sent as XAUUSD, the name the limit is looked up by: "
     "write XAUUSD"),
    ('[engine]\nsymbol_map = { XAUUSD = "GOLD" }\nmax_spread_pips = { XAUUSD = 40 }\n',
     "engine.max_spread_pips.XAUUSD: an entry on it is sent as GOLD, the name the limit is looked up by: write GOLD"),
    ('[engine]\nbroker = "mt5"\nmax_spread_pips = { "EURUSD.r" = 2 }\n[mt5]\nsymbol_suffix = ".r"\n',
     "engine.max_spread_pips.EURUSD.r: an entry on it is sent as EURUSD, the name the limit is looked up by: "
     "write EURUSD"),
    ('[engine]\nmax_spread_pips = { "EUR USD" = 2 }\n', "engine.max_spread_pips.EUR USD: not a symbol"),
])
def test_a_spread_limit_keyed_by_a_name_no_entry_is_sent_on_is_refused(tmp_path, text, refused):
    """A key the limit is never looked up by would leave that symbol's entries under "*", or
    under no limit at all, without a word: the trader's gold limit of 40 pips never held."""
    assert refused in error(tmp_path, text)


@pytest.mark.parametrize("mapped, symbols, refused", [
    ("", '{ xauusd = "GOLD" }', "mt5.symbols.xauusd: the engine names this symbol XAUUSD, and finds its broker's "
                                "name by it: write XAUUSD"),
    ('XAUUSD = "GOLD"', '{ XAUUSD = "GOLD.pro" }', "mt5.symbols.XAUUSD: the engine names this symbol GOLD"),
])
def test_a_metatrader_name_keyed_by_a_name_the_engine_never_uses_is_refused(tmp_path, mapped, symbols, refused):
    """Looked up by the engine's name, exactly: XAUUSD's orders went to the broker's XAUUSD, not
    its GOLD, where it has both."""
    text = f'[engine]\nbroker = "mt5"\nsymbol_map = {{ {mapped} }}\n[mt5]\nsymbols = {symbols}\n'
    assert refused in error(tmp_path, text)
    kept = '[engine]\nbroker = "mt5"\nsymbol_map = { US30 = "US30.cash" }\n[mt5]\nsymbols = { XAUUSD = "GOLD", ' \
           '"US30.cash" = "US30" }\n'
    assert load_settings(write(tmp_path, kept), {}).engine.mt5.symbols == {"XAUUSD": "GOLD", "US30.cash": "US30"}


def test_a_spread_limit_keyed_by_the_symbols_it_holds_is_read_in_any_case(tmp_path):
    written = ('[engine]\nsymbol_map = { US30 = "US30.cash" }\n'
               'max_spread_pips = { "*" = 3, xauusd = 60, "US30.cash" = 5 }\n')
    assert load_settings(write(tmp_path, written), {}).engine.max_spread_pips == {"*": 3, "xauusd": 60, "US30.cash": 5}
