"""The tables of /positions, /trades and a /close's question (engine/interfaces/telegram/tables.py) stay 32
characters wide, their columns aligned, whatever the profits: a phone shows them without wrapping; /status
says its amounts as the rest of moonhook does."""

from __future__ import annotations

from engine.app import Operations
from engine.domain.config.paper import PaperConfig
from engine.interfaces.telegram.commands import Commands
from engine.interfaces.telegram.tables import position_table, signed, trades_text

from support.botapi import html_plain
from support.clock_shift import here_at_midday
from support.engine_support import process, running
from support.telegram_support import ADMIN, Chat, Clock, ask

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


async def test_status_says_the_balance_and_equity_as_the_rest_of_moonhook_does(tmp_path):
    # "balance   1234567.50 USD": a phone reader counted the digits; moonhook status and the notices say 1,234,567.50.
    clock = Clock()
    async with running(tmp_path, paper=PaperConfig(balance=1_234_567.5)) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        status = html_plain((await ask(commands, chat.say("/status"))).text)
    assert "\nbalance   1,234,567.50 USD\nequity    1,234,567.50 USD\n" in status, status


async def test_positions_and_trades_say_their_sums_with_thousands_grouped(tmp_path, monkeypatch):
    # "profit +12000.00", "net +12000.00 USD", where /status and the trades chat's notices say 12,000.00.
    here_at_midday(monkeypatch)  # today's trades in one day
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=3 price=1.1")
        await process(engine, "buy EURUSD volume=0.01 price=1.14 id=later")   # EURUSD at 1.14: +12,000.00 open
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        positions = html_plain((await ask(commands, chat.say("/positions"))).text)
        await process(engine, "close EURUSD price=1.14 id=out")
        trades = html_plain((await ask(commands, chat.say("/trades"))).text)
    assert positions.startswith("2 open positions, profit +12,000.00\n"), positions
    assert trades.startswith("2 trades closed today (UTC), net +12,000.00 USD\n"), trades
    assert trades.endswith("\nby plugin:\n• engine +12,000.00 (2)"), trades
