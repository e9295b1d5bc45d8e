"""A TradingView user's alerts a little wrong, over real HTTP to the webhook (docs/alerts.md): each
refusal a 400 naming the field and what to write, nothing journaled; a field name with a space
around it read as the field, as its case is, not kept aside while the order goes without it."""

from __future__ import annotations

from support.engine_support import running
from support.web_support import SECRET, serving

JSON = '{"symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.1'


async def test_slips_in_an_alert_are_400s_naming_the_field_and_leave_no_record(tmp_path):
    refused = {  # body: the error's start
        'buy EURUSD volume=0.1 comment="Long entry': "comment: the quoted text has no closing \"",
        'buy EURUSD volume=0.1 price=1.234,5': "price: 1.234,5 is not a number: write 1234.5",
        JSON[:-len(', "price": 1.1')] + ', "price": "1.234,5"}': "price: 1.234,5 is not a number: write 1234.5",
        '{“symbol”: “EURUSD”, “action”: “buy”}': "the body looks like JSON but is not valid: curly quotes (“), "
                                                  'which JSON does not take: write straight double quotes (") '
                                                  "at line 1 column 2",
        '"buy EURUSD volume=0.1"': "the body is a JSON string",
        JSON + ', "sl": 1.08, "sl ": 1.09}': "sl: given twice (as 'sl' and 'sl ')",
        # an exchange no name (a spread's chart), or a ticker too long, quoted cut: the ticker after the last ':'
        # was taken, and the whole quoted
        JSON.replace("EURUSD", "OANDA:EURUSD/OANDA:GBPUSD") + "}": "symbol: 'OANDA:EURUSD/OANDA:GBPUSD' is not",
        JSON.replace("EURUSD", "X" * 300 + ":EURUSD") + "}": "symbol: 'XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX...' is not",
        JSON.replace("EURUSD", "A" * 300) + "}": "symbol: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA...' is not",
        # no market's price: the paper broker took it as EURUSD's quote, and every alert of every symbol then
        # failed ('internal error') while it stood
        'buy EURUSD volume=0.1 price=1e30': "price: must be at most 1e15 (no market's price is near it), got '1e30'",
        'buy EURUSD volume=0.1 price=1.1 tp=1e300': "tp: must be at most 1e15",
        # a parameter written as other bots' messages write it: 'unexpected words' named none
        'buy EURUSD sl:1.08 volume=0.1': "sl: 'sl:1.08' is not read: write sl=1.08",
        'buy EURUSD volume=0.1 sl 1.08': "sl: 'sl 1.08' is not read: write sl=1.08",
    }
    async with running(tmp_path) as engine, serving(engine) as client:
        answers = {body: await client.post(f"/webhook/{SECRET}", content=body.encode()) for body in refused}
        refused_rows = engine.journal.recent(10)
        spaced = await client.post("/webhook", content=(JSON + ', " SL ": 1.08, "Secret ": "%s"}' % SECRET).encode())
        (row,) = engine.journal.recent(10)
    for body, said in refused.items():
        answer = answers[body]
        assert (answer.status_code, answer.json()["error"][:len(said)]) == (400, said), (body, answer.text)
    assert refused_rows == []
    assert spaced.status_code == 200, spaced.text
    assert row["alert"]["sl"] == 1.08 and "SL" not in str(row["alert"]) and SECRET not in str(row)
