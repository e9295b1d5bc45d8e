"""The tables of /positions, /trades and a /close's question (engine/interfaces/telegram/tables.py) stay 32
characters wide, their columns aligned, whatever the profits: a phone shows them without wrapping."""

from __future__ import annotations

from engine.interfaces.telegram.tables import position_table, signed, trades_text

from support.botapi import html_plain

PROFITS = [0.0, -1.5, 99.99, -123.45, 12_000.0, -99_999.4, 1_500_000.0, -2.5e9, 1e31]


def test_a_profit_or_net_takes_at_most_6_characters_signed():
    assert [signed(x) for x in PROFITS] == ["+0.00", "-1.50", "+99.99", "-123", "+12000", "-99999", "+1500k",
                                           "-2500M", "+1e+31"]
    assert signed(-99.996) == "-100" and signed(99_999.6) == "+100k" and signed(None) == "?"


def test_the_tables_stay_32_wide_and_aligned_whatever_the_profits():
    # A net of -123.45 was 7 characters in a column of 6, +12000.00 9: each row stuck out as far as its number.
    positions = [{"symbol": "EURUSD", "side": "sell", "volume": 0.1, "price_open": 1.08765, "profit": p}
                 for p in PROFITS]
    trades = [{"symbol": "EURUSD", "side": "buy", "volume": 12.5, "price_close": 1.08765, "net": p} for p in PROFITS]
    view = {"closed": len(trades), "trades": trades, "currency": "USD", "net": sum(PROFITS),
            "by_plugin": {"engine": {"net": sum(PROFITS), "trades": len(trades)}}}
    for table in (html_plain(position_table(positions)), html_plain(trades_text(view, "today")).split("\n")[1:-2]):
        lines = table.splitlines() if isinstance(table, str) else table
        assert len({len(line) for line in lines}) == 1 and len(lines[0]) <= 32, "\n".join(lines)
