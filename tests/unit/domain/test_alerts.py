"""Alerts from TradingView: JSON and the text grammar, normalised, and refused with a reason."""

import json
import random

import pytest

from engine.domain.alerts import Action, Alert, AlertError, SymbolMap, parse_body

SYMBOLS = SymbolMap({"XAUUSD": "GOLD", "US30": "US30.cash"})


@pytest.mark.parametrize("body, expected", [
    ("buy EURUSD risk=1 sl=1.0800 tp=1.0900",
     {"action": "buy", "side": "buy", "symbol": "EURUSD", "risk": 1.0, "sl": 1.08, "tp": 1.09}),
    ("buy,EURUSD,risk=1,sl=1.0800,tp=1.0900", {"action": "buy", "symbol": "EURUSD", "risk": 1.0}),
    ("long OANDA:XAUUSD volume=0.10", {"action": "buy", "symbol": "GOLD", "raw_symbol": "OANDA:XAUUSD", "volume": 0.1}),
    ("short us30 lots=2 sl_pips=50", {"action": "sell", "symbol": "US30.cash", "volume": 2.0, "sl_pips": 50.0}),
    ("4711,sell,EURUSD,risk=0.5", {"action": "sell", "id": "4711", "risk": 0.5}),
    ("buylimit EURUSD price=1.0700 volume=0.1 sl=1.0650 comment=\"pullback, H4\"",
     {"action": "buylimit", "price": 1.07, "sl": 1.065, "comment": "pullback, H4"}),
    ("sellstop GBPUSD price=1.25 volume=1", {"action": "sellstop", "side": "sell", "price": 1.25}),
    ("closelong EURUSD", {"action": "closelong", "symbol": "EURUSD"}),
    ("closeall", {"action": "closeall"}),
    ("cancellong EURUSD", {"action": "cancellong", "symbol": "EURUSD", "side": None}),
    ("cancel_short OANDA:EURUSD", {"action": "cancelshort", "symbol": "EURUSD"}),
    ("cancel EURUSD price=1.07", {"action": "cancel", "price": 1.07}),
    ("cancelall", {"action": "cancelall", "symbol": None}),
    ('{"action": "cancel_all"}', {"action": "cancelall"}),
    ("close EURUSD", {"action": "close"}),
    ("newsltp EURUSD sl=1.07 tp=1.10", {"action": "newsltp", "sl": 1.07, "tp": 1.1}),
    ("trend EURUSD H1 UP", {"action": "trend", "symbol": "EURUSD", "timeframe": "H1", "state": "up"}),
    ('{"symbol": "EURUSD", "action": "buy", "risk": 1, "sl": 1.08}', {"action": "buy", "risk": 1.0, "source": "json"}),
    ('{"ticker": "FX:EURUSD", "action": "sell", "close": "1.0850", "volume": "0.2", "tp": "1.08"}',
     {"symbol": "EURUSD", "price": 1.085, "volume": 0.2, "tp": 1.08}),
    ('{"ticker": "BINANCE:BTCUSDT", "plot_0": 42.5, "interval": "60", "nested": {"a": [1]}}',
     {"action": None, "symbol": "BTCUSDT", "plot_0": 42.5, "interval": "60", "nested": {"a": [1]}}),
    ('{"action": "trend", "symbol": "EURUSD", "timeframe": "D1", "state": "down"}', {"state": "down"}),
    # lots is volume in JSON as in text: ignored, the entry would take engine.default_volume instead
    ('{"action": "buy", "symbol": "EURUSD", "lots": "0.01"}', {"volume": 0.01, "lots": None}),
    ('{"action": "buy", "symbol": "EURUSD", "volume": 1, "id": 17}', {"id": "17"}),
    # field names in any case, as in text: kept as extra fields, the entry went without its stop and target
    ('{"Symbol": "EURUSD", "ACTION": "buy", "Volume": "0.01", "SL": "1.08", "TP": "1.09", "Close": "1.085"}',
     {"action": "buy", "symbol": "EURUSD", "volume": 0.01, "sl": 1.08, "tp": 1.09, "price": 1.085, "SL": None}),
    ("\ufeff  buy EURUSD volume=1 \n", {"action": "buy"}),
    ('\ufeff\r\n{"action": "buy", "symbol": "EURUSD",\r\n "volume": 1, "sl": 1.08}\r\n', {"action": "buy", "sl": 1.08}),
])
def test_accepted(body, expected):
    alert = parse_body(body.encode("utf-8"), SYMBOLS).to_plain()
    for key, value in expected.items():
        assert alert.get(key) == value, (key, alert)


def test_secret_is_never_kept():
    alert = parse_body('{"secret": "hunter2", "action": "buy", "symbol": "EURUSD", "volume": 1}')
    assert "hunter2" not in repr(alert) and "secret" not in alert.to_plain()


@pytest.mark.parametrize("body, field, words", [
    ("", None, "empty"),
    (b"\xff\xfe", None, "not UTF-8"),
    ("{not json", None, "not valid"),
    ("[1, 2]", None, "must be an object"),
    ('["buy"]', None, "must be an object"),
    ("buy", "symbol", "needs a symbol"),
    ("foo EURUSD", "action", "unknown command 'foo'"),
    ("buy EURUSD sll=1.08", "sll", "unknown parameter"),
    ("buy EURUSD sl=abc", "sl", "must be a number"),
    ("buy EURUSD volume=1_0", "volume", "must be a number, got '1_0'"),      # float() reads 10
    ("buy EURUSD volume=\u0661", "volume", "must be a number"),             # float() reads 1
    ('{"action": "buy", "symbol": "EURUSD", "tp": "1_1"}', "tp", "must be a number"),
    ('{"action": "buy", "symbol": "EURUSD", "volume": 1' + "0" * 5000 + "}", None, "more than 4,300 digits"),
    ("buy EURUSD volume=-1", "volume", "positive"),
    ("buy EURUSD volume=nan", "volume", "positive"),
    ("buy EURUSD volume=1 risk=1", "volume", "not volume and risk"),
    ("buy EURUSD risk=1 units=10000 sl_pips=20", "risk", "not risk and units"),
    ("buy EURUSD units=0", "units", "must be a positive number"),
    ("buy EURUSD risk=150", "risk", "at most 100"),
    ("buy EURUSD risk=1% sl_pips=20", "risk", "is a percent already: write 1, without %"),
    ('{"action": "buy", "symbol": "EURUSD", "risk": "0.5 %"}', "risk", "write 0.5, without %"),
    ("buy EURUSD volume=10%", "volume", "must be a number, got '10%'"),   # not "write 10": 10 lots
    ("buy EURUSD sl=1.08 sl_pips=20 volume=1", "sl", "not both"),
    ("buylimit EURUSD volume=1", "price", "needs price="),
    ("buy EURUSD price=1.10 sl=1.12 volume=1", "sl", "below the entry"),
    ("sell EURUSD price=1.10 sl=1.08 volume=1", "sl", "above the entry"),
    ("buy EURUSD volume=1 volume=2", "volume", "twice"),
    ("buy EURUSD GBPUSD", None, "unexpected words"),
    ("buy EURUSD volume=0,01", "volume", "0,01 is not a number: write decimals with a point (0.01)"),
    ("buy EURUSD price=1,0850 sl=1.08 volume=1", "price", "write decimals with a point (1.0850)"),
    # in JSON as in text: "must be a number" did not say what to write
    ('{"action": "buy", "symbol": "EURUSD", "volume": "0,1"}', "volume", "write decimals with a point (0.1)"),
    ('{"action": "buy", "symbol": "EURUSD", "units": "1,000"}', "units", "write 1000 (thousands) or 1.000"),
    # a thousands separator as likely as a decimal comma: "write 1.000" would size 1 unit, not 1,000
    ("buy EURUSD units=1,000 sl=1.08", "units", "write 1000 (thousands) or 1.000 (decimals), without the comma"),
    ("buy US30 price=44,100.5 volume=1", "price", "44,100.5 is not a number: write 44100.5, without the commas"),
    ("buy EURUSD units=1,000,000 sl=1.08", "units", "1,000,000 is not a number: write 1000000, without the commas"),
    ("trend EURUSD H1 sideways", "state", "one of up, down, flat"),
    ("cancel", "symbol", "cancel needs a symbol"),
    # all of the account's, or EURUSD's alone: either reading acted on closes what the other keeps
    ("closeall EURUSD", "symbol",
     "closeall closes every symbol's positions and takes no symbol: send close EURUSD for EURUSD's alone, "
     "or closeall without a symbol"),
    ('{"action": "close_all", "symbol": "OANDA:EURUSD"}', "symbol", "send close OANDA:EURUSD for OANDA:EURUSD's"),
    ("cancelall GBPUSD", "symbol", "cancelall removes every symbol's pending orders and takes no symbol: send "
                                   "cancel GBPUSD for GBPUSD's alone"),
    ("cancellong EURUSD volume=0.1", "volume", "cancellong removes whole pending orders: give no size"),
    ('{"action": "cancelall", "units": 1000}', "units", "give no size"),
    # a size that no close reads: taken as given, each closed more than it said (every position, the whole long)
    ("closeall volume=0.1", "volume", "closeall closes every position whole: give no size"),
    ('{"action": "close_all", "units": 1000}', "units", "give no size"),
    ("closelong EURUSD risk=1", "risk", "closelong closes volume (lots) or units, not a risk"),
    ("exit EURUSD risk_amount=50", "risk_amount", "close closes volume (lots) or units, not a risk"),
    ("newsltp EURUSD volume=0.1 sl=1.1", "volume", "newsltp moves the stops of every EURUSD position: give no size"),
    ("newsltp EURUSD", "sl", "missing: newsltp needs sl, tp, sl_pips or tp_pips"),
    ("trend EURUSD H1", "state", "missing: trend needs a state (up, down, flat)"),
    ("trend EURUSD", "timeframe", "needs a timeframe"),
    ("buy EUR/USD volume=1", "symbol", "not a symbol"),
    ("buy EURUSD volume=1\nsell EURUSD volume=1", None, "one command"),
    ('{"action": "buy", "symbol": "{{ticker}}", "volume": 1}', "symbol", "placeholder"),
    ('{"action": "buy", "symbol": "EURUSD", "volume": "{{strategy.order.contracts}}"}', "volume", "placeholder"),
    # An indicator's alert sent with a strategy's template: the reason, not a JSON error.
    ('{"action": "{{strategy.order.action}}", "symbol": "EURUSD"}', "action",
     "filled in a strategy's order alerts only"),
    ("{{strategy.order.action}} EURUSD units=10000", "action", "filled in a strategy's order alerts only"),
    ('{"action": 1, "symbol": "EURUSD"}', "action", "must be a string"),
    ('{"action": "buy", "symbol": ["EURUSD"]}', "symbol", "must be a string"),
    ('{"action": "buy", "symbol": "EURUSD", "volume": true}', "volume", "must be a number"),
    ('{"action": "buy", "ticker": "A", "symbol": "B", "volume": 1}', "symbol", "twice"),
    ('{"action": "buy", "symbol": "EURUSD", "volume": 1, "lots": 2}', "volume", "twice"),
    ('{"action": "buy", "symbol": "EURUSD", "volume": 1, "sl": 1.08, "SL": 1.07}', "sl",
     "given twice (as 'sl' and 'SL')"),
    ('{"action": "buy", "symbol": "EURUSD", "volume": 1, "volume": 10}', "volume", "given twice in the JSON object"),
    ('{"action": "buy", "symbol": "EURUSD", "volume": 1, "note": {"a": 1, "a": 2}}', "note.a", "given twice"),
    ('{"action": "buy", "symbol": "EURUSD", "comment": "' + "x" * 300 + '"}', "comment", "at most 256"),
])
def test_refused_with_the_field_named(body, field, words):
    with pytest.raises(AlertError) as e:
        parse_body(body if isinstance(body, bytes) else body.encode("utf-8"), SYMBOLS)
    assert e.value.field == field
    if words:
        assert words in str(e.value)


def test_a_text_value_with_spaces_goes_in_double_quotes_and_its_refusal_says_so():
    """comment={{strategy.order.comment}} with a comment of two words ("Long entry") was refused as
    "unexpected words 'entry' after the command", which named neither the comment nor the way to send
    it; a value in double quotes is read whole, as JSON writes a string."""
    with pytest.raises(AlertError) as e:
        parse_body(b"buy EURUSD volume=0.01 sl_pips=20 comment=Long entry now", SYMBOLS)
    assert (e.value.field, str(e.value)) == (
        "comment", "comment: 'Long' is followed by 'entry now': a text with spaces goes in double quotes, "
                   "comment=\"Long entry now\" (comment=\"{{strategy.order.comment}}\" in a template)")
    alert = parse_body(b'buy EURUSD volume=0.01 sl_pips=20 comment="Long entry" id="7 b"', SYMBOLS)
    assert (alert.comment, alert.id) == ("Long entry", "7 b")
    with pytest.raises(AlertError, match=r"^unexpected words 'GBPUSD' after the command$"):
        parse_body(b"buy EURUSD volume=0.01 GBPUSD", SYMBOLS)   # a number's field: no such hint


def test_symbol_map_keys_with_an_exchange_match_that_exchange_and_go_first():
    # As `moonhook init`'s commented example writes them: "OANDA:EURUSD" = "EURUSD".
    symbols = SymbolMap({"OANDA:XAUUSD": "GOLD", "xagusd": "SILVER", "FX:XAGUSD": "XAG.spot"})
    assert [symbols.normalize(t) for t in ("OANDA:XAUUSD", "oanda:xauusd", "FXCM:XAUUSD", "XAUUSD")] == [
        "GOLD", "GOLD", "XAUUSD", "XAUUSD"]
    assert [symbols.normalize(t) for t in ("TVC:XAGUSD", "XAGUSD", "FX:XAGUSD")] == ["SILVER", "SILVER", "XAG.spot"]


def test_a_futures_chart_trades_a_cfd_through_the_map():
    # TradingView's continuous futures (ES1!, NQ1!) are no MT5 names; the broker's CFDs are.
    symbols = SymbolMap({"ES1!": "US500", "CME_MINI:NQ1!": "US100"})
    assert [symbols.normalize(t) for t in ("CME_MINI:ES1!", "es1!", "CME_MINI:NQ1!")] == ["US500", "US500", "US100"]
    with pytest.raises(AlertError, match="engine.symbol_map can name the broker's for it"):
        symbols.normalize("NQ1!")  # mapped for one exchange only
    assert parse_body('{"symbol": "CME_MINI:ES1!", "action": "buy", "volume": 1}', symbols).symbol == "US500"


def test_symbol_map_refuses_a_bad_target():
    with pytest.raises(ValueError, match="not a valid symbol"):
        SymbolMap({"XAUUSD": "GOLD SPOT"})


def test_random_bytes_are_refused_cleanly_or_parsed():
    rng = random.Random(7)
    alphabet = b'buysel EURUSD=,.01{}[]":\n\xff\x00tpslriskvolume{{}}'
    for _ in range(3000):
        body = bytes(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))
        try:
            alert = parse_body(body, SYMBOLS)
        except AlertError:
            continue
        assert alert.action is None or isinstance(alert.action, Action)


@pytest.mark.parametrize("body", [
    '{"symbol": "OANDA:XAUUSD", "action": "long", "risk": "1", "sl": 1900, "note": "x", "n": 3}',
    "buylimit EURUSD price=1.08 volume=0.1 sl_pips=20 comment=hi",
    "trend EURUSD H1 up",
])
def test_from_plain_restores_the_journaled_alert(body):
    alert = parse_body(body, SymbolMap({"XAUUSD": "GOLD"}))
    assert Alert.from_plain(json.loads(json.dumps(alert.to_plain()))) == alert


def strategy_order(action: str, contracts: str, position: str, size: str | None = None, **more) -> dict:
    """A Pine strategy's alert as the README's template has TradingView fill it in."""
    body = {"symbol": "EURUSD", "action": action, "units": contracts, "price": "1.1", "position": position, **more}
    if size is not None:
        body["position_size"] = size
    return parse_body(json.dumps(body)).to_plain()


@pytest.mark.parametrize("order, expected", [
    # (action, contracts, position after, its size) -> what it means
    (("buy", "10000", "long", "10000"), {"action": "buy", "side": "buy", "units": 10000.0}),       # entry
    (("buy", "5000", "long", "15000"), {"action": "buy", "units": 5000.0}),                        # adds
    (("sell", "20000", "short", "10000"), {"action": "sell", "units": 10000.0}),                   # reverses
    (("sell", "10000", "flat", "0"), {"action": "closelong", "units": None, "volume": None}),      # exits: all
    (("buy", "10000", "FLAT", None), {"action": "closeshort", "position": "flat"}),
    (("sell", "4000", "long", "6000"), {"action": "closelong", "units": 4000.0, "position": "long"}),  # part
    (("buy", "4000", "short", "6000"), {"action": "closeshort", "units": 4000.0}),
    # {{strategy.position_size}} instead of {{strategy.market_position_size}}: signed, below 0 for a short
    (("sell", "20000", "short", "-10000"), {"action": "sell", "units": 10000.0, "position_size": 10000.0}),
    (("buy", "4000", "short", "-6000"), {"action": "closeshort", "units": 4000.0, "position_size": 6000.0}),
])
def test_a_strategy_order_is_read_with_the_position_it_leaves(order, expected):
    plain = strategy_order(*order)
    assert {k: plain.get(k) for k in expected} == expected
    if plain["action"].startswith("close"):
        assert "side" not in plain  # an exit: no filter reads it as an entry


@pytest.mark.parametrize("body", [
    '{"symbol": "EURUSD", "action": "sell", "units": "10000", "position_size": "0"}',  # the strategy left flat
    "sell EURUSD units=5 position_size=-5",
    "buy EURUSD units=10000 position_size=10000",
])
def test_a_buy_or_sell_with_a_size_and_no_position_is_refused(body):
    """``position_size`` without ``position`` was ignored: a strategy's exit, its sell leaving
    the position flat, opened a short of the order's contracts."""
    with pytest.raises(AlertError, match="position_size: given without position: add position"):
        parse_body(body)


def test_a_size_below_0_without_a_position_is_refused():
    with pytest.raises(AlertError, match="position_size: must be a non-negative number without position, got -5"):
        parse_body("closelong EURUSD units=5 position_size=-5")


def test_the_position_in_the_text_grammar_and_other_commands_keep_theirs():
    assert parse_body("sell EURUSD units=10000 position=flat").action is Action.CLOSE_LONG
    assert parse_body("sell EURUSD volume=0.1 position=short").action is Action.SELL  # no units: no size needed
    assert parse_body("closeall position=flat").action is Action.CLOSE_ALL
    # an indicator's template sizing every order by risk: its exit is one all the same (a close as sent is refused)
    assert parse_body("sell EURUSD risk=1 sl_pips=20 position=flat").action is Action.CLOSE_LONG


@pytest.mark.parametrize("command", ["buylimit", "sellstop"])
def test_a_pending_entry_with_a_position_is_refused_not_read_as_a_reversal(command):
    """``buylimit ... position=long`` was taken as a plain buy limit: the short it seemed to
    reverse stayed open, and the limit's fill later stood beside it."""
    with pytest.raises(AlertError, match=f"position: not taken with {command}: a pending order closes nothing"):
        parse_body(f"{command} EURUSD price=1.09 volume=0.1 position=long")


@pytest.mark.parametrize("order, field, message", [
    (("buy", "10000", "long"), "position_size", "missing: with position and units, give position_size"),
    (("sell", "10000", "flat", "10000"), "position_size", "must be 0 when position is flat, got 10000"),
    (("buy", "10000", "long", "0"), "position_size", "must be above 0 when position is long"),
    (("buy", "10000", "long", "-1"), "position_size", "-1 is a short's size (below 0), but position is long"),
    (("buy", "10000", "up"), "position", "must be one of long, short, flat"),
    (("buy", "10000", "{{strategy.market_position}}"), "position", "placeholder"),
])
def test_a_strategy_order_that_cannot_be_read_is_refused_naming_the_field(order, field, message):
    with pytest.raises(AlertError) as refused:
        strategy_order(*order)
    assert refused.value.field == field and message in str(refused.value), str(refused.value)


@pytest.mark.parametrize("raw, expected", [
    ("2026-11-24T10:00:00Z", 1795514400.0),          # TradingView's {{timenow}}
    ("2026-11-24T12:00:00+02:00", 1795514400.0),     # an offset is honoured
    ("2026-11-24T10:00:00", 1795514400.0),           # none: UTC, as TradingView's clock is
    (1795514400, 1795514400.0),                      # Unix seconds
    ("1795514400123", 1795514400.123),               # milliseconds, as JavaScript's clocks give them
])
def test_timenow_is_when_tradingview_fired_the_alert_in_unix_seconds(raw, expected):
    assert parse_body(json.dumps({"action": "buy", "symbol": "EURUSD", "timenow": raw})).timenow == expected
    assert parse_body(f"buy EURUSD timenow={raw}").to_plain()["timenow"] == expected


@pytest.mark.parametrize("raw, message", [
    ("yesterday", "timenow: must be a time such as TradingView's {{timenow}} (2026-11-24T10:00:00Z) or Unix seconds, "
                  "got 'yesterday'"),
    ("12", "timenow: must be a time between the years 2000 and 2100, got '12'"),
    (True, "timenow: must be a time such as TradingView's {{timenow}} (2026-11-24T10:00:00Z) or Unix seconds, "
           "got true"),
    ("{{timenow}}", "timenow: the TradingView placeholder '{{timenow}}' was not replaced; check the alert's message"),
])
def test_a_timenow_that_is_not_a_time_is_refused_naming_it(raw, message):
    with pytest.raises(AlertError) as e:
        parse_body(json.dumps({"action": "buy", "symbol": "EURUSD", "timenow": raw}))
    assert str(e.value) == message


@pytest.mark.parametrize("raw, seconds", [(3600, 3600.0), ("90", 90.0), ("90m", 5400.0), ("4h", 14400.0),
                                          ("2d", 172800.0), ("1.5h", 5400.0), (" 30s ", 30.0)])
def test_a_pending_orders_expiry_is_seconds_or_a_duration(raw, seconds):
    assert parse_body(json.dumps({"action": "buylimit", "symbol": "EURUSD", "price": 1.05,
                                  "expiry": raw})).expiry == seconds
    assert parse_body(f"buylimit EURUSD price=1.05 expiry={str(raw).strip()}").expiry == seconds


@pytest.mark.parametrize("body, message", [
    ("buylimit EURUSD price=1.05 expiry=soon", "expiry: must be seconds or a duration such as 90m, 4h or 2d, "
                                               "got 'soon'"),
    ("buylimit EURUSD price=1.05 expiry=0", "expiry: must be more than 0 and at most 366 days, got '0'"),
    ("buylimit EURUSD price=1.05 expiry=400d", "expiry: must be more than 0 and at most 366 days, got '400d'"),
    ("buylimit EURUSD price=1.05 expiry={{expiry}}", "expiry: the TradingView placeholder '{{expiry}}' was not "
                                                     "replaced; check the alert's message"),
    ("buy EURUSD expiry=4h", "expiry: only a pending order (buylimit, buystop, selllimit, sellstop) waits to "
                             "expire; buy has nothing to wait for"),
])
def test_an_expiry_that_cannot_be_read_or_has_nothing_to_expire_is_refused(body, message):
    with pytest.raises(AlertError) as e:
        parse_body(body)
    assert str(e.value) == message


def test_risk_amount_is_money_and_one_size_only():
    assert parse_body("buy EURUSD risk_amount=50 sl_pips=20").risk_amount == 50.0
    with pytest.raises(AlertError) as e:
        parse_body("buy EURUSD risk=1 risk_amount=50 sl_pips=20")
    assert str(e.value) == "risk: give one of volume (lots), risk (a percent), risk_amount (money) or units, not risk " \
                           "and risk_amount"


def test_an_alert_keeps_its_fields_minus_the_secrets_it_carries():
    from engine.domain.alerts import parse_value, read_body
    secret = "webhook-Secret-0123456789"
    body = read_body(json.dumps({"Passphrase": secret, "api_key": "k-1", "action": "buy", "symbol": "EURUSD",
                                 "volume": 1, "comment": f"via {secret}", "bot": {"TOKEN": "t-1", "name": "b"},
                                 "legs": [{"password": "p-1", "n": 1}]}))
    alert = parse_value(body, secrets=[secret, ""])
    assert alert.extra == {"bot": {"name": "b"}, "legs": [{"n": 1}]} and alert.comment == "via ***"
    # text: the secret where PineConnector's licence id goes, and as a word too many (the refusal quotes ***);
    # wholly a secret, the id would be every such alert's: a fixed id, the alert after it within the window dropped
    assert parse_value(f"{secret},buy,EURUSD,volume=1", secrets=[secret]).id is None
    assert parse_value(f"buy EURUSD volume=1 id={secret}-7", secrets=[secret]).id == "***-7"
    with pytest.raises(AlertError, match=r"unexpected words '\*\*\*'"):
        parse_value(f"buy EURUSD {secret}", secrets=[secret])
    # a credential given twice is still a key given twice, refused by its name alone
    with pytest.raises(AlertError, match="passphrase") as refused:
        parse_body('{"passphrase": "a-1", "passphrase": "b-2", "action": "buy", "symbol": "EURUSD"}')
    assert "a-1" not in str(refused.value) and "b-2" not in str(refused.value)


def test_a_credential_is_known_by_its_name_s_end_in_any_spelling():
    # Templates name their keys as they please: mt5_password, X-Api-Key, apiSecret and bot_token were kept
    # (journaled, shown, told to Telegram) while password, api_key and token were dropped.
    from engine.domain.alerts import parse_value, read_body
    names = ["mt5_password", "X-Api-Key", "api-key", "apiSecret", "client_secret", "webhook_secret", "bot_token",
             "authToken", "Secret Key", "private-key", "exchange_passphrase", "PASSWD"]
    kept = {"keys": 1, "token_count": 2, "monkey": 3, "tokens": 4, "passes": 5}
    body = read_body(json.dumps({**{n: f"v-{i}" for i, n in enumerate(names)}, **kept,
                                 "action": "buy", "symbol": "EURUSD", "volume": 1}))
    assert parse_value(body).extra == kept


def test_a_text_parameter_left_empty_is_empty_and_not_the_next_one():
    # TradingView fills {{strategy.order.comment}} with nothing for an order without a comment:
    # "comment= sl=1.19" read the stop as the comment, and the entry went out without it. An empty id
    # is none: as an id, "" would be every such alert's, all but the first within the window dropped.
    alert = parse_body("buy EURUSD volume=0.1 price=1.2 comment= sl=1.19 id= tp=1.25")
    assert (alert.sl, alert.tp, alert.comment, alert.id) == (1.19, 1.25, "", None)
    assert parse_body('{"action": "buy", "symbol": "EURUSD", "id": " "}').id is None
    assert parse_body("buy EURUSD volume = 0.1 comment = x sl=1.19").comment == "x"   # spaces around '=' still do
    with pytest.raises(AlertError, match="volume: must be a number, got ''"):
        parse_body("buy EURUSD volume= price=1.2")
