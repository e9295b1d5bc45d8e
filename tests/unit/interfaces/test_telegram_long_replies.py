"""Telegram replies that list what the engine holds stay within one message (4096 characters, or Telegram
refuses it and the command goes unanswered), the lines past the cap counted; and a number given in other
digits than ASCII is said back in ASCII. A real engine (sandbox, SQLite file, paper broker)."""

from __future__ import annotations

from engine.app import Operations
from engine.domain.orders import OrderRequest
from engine.interfaces.telegram.commands import Commands

from support.botapi import html_plain
from support.clock_shift import here_at_midday
from support.engine_support import running
from support.telegram_support import ADMIN, Chat, Clock, ask


async def test_trades_by_many_plugins_fits_one_message_and_counts_those_not_shown(tmp_path, monkeypatch):
    # The net by plugin was one line naming each: 60 plugins of 48 characters outgrew 4096, and /trades
    # went unanswered (as /status did with every script failing to load).
    here_at_midday(monkeypatch)
    names = [f"strategy_{i:02d}_" + "x" * 36 for i in range(60)]      # 48 characters: the longest a name has
    clock = Clock()
    async with running(tmp_path) as engine:
        for i, name in enumerate(names):
            request = OrderRequest("market", f"o-{i}", symbol="EURUSD", side="buy", volume=0.1, price=1.1,
                                   plugin=name)
            opened = await engine.broker.execute(request)
            engine.ledger.finish(request, "done", opened)        # the ledger names the opener
            await engine.broker.execute(OrderRequest("close", f"c-{i}", ticket=opened.ticket, price=1.1, plugin=name))
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        reply = await ask(commands, chat.say("/trades"))      # ask: fits one message
    text = html_plain(reply.text)
    assert len(reply.text) <= 4096 and text.startswith("60 trades closed today"), text
    shown = [line for line in text.splitlines() if line.startswith("• strategy_")]
    assert len(shown) == 10 and text.endswith("\n• … and 50 more: the dashboard's Trades page"), text


async def test_trades_in_arabic_indic_digits_says_the_days_in_ascii(tmp_path, monkeypatch):
    # "/trades ٧" was read as 7 days but answered "in the last ٧ days".
    here_at_midday(monkeypatch)
    clock = Clock()
    async with running(tmp_path) as engine:
        await engine.broker.execute(OrderRequest("market", "o", symbol="EURUSD", side="buy", volume=0.1, price=1.1))
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        empty = html_plain((await ask(commands, chat.say("/trades ١"))).text)
        week = html_plain((await ask(commands, chat.say("/trades ٧"))).text)
    assert empty == "No trades closed in the last 1 day.", empty
    assert week == "No trades closed in the last 7 days.", week




async def test_check_with_many_plugins_fits_one_message_and_counts_what_is_not_shown(tmp_path):
    # /check names every plugin that would see the alert, in one line: 90 of 48 characters outgrew 4096
    # characters, and /check went unanswered.
    names = [f"strategy_{i:02d}_" + "x" * 36 for i in range(90)]
    clock = Clock()
    async with running(tmp_path, {name: "function on_alert(a) end" for name in names}) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        reply = await ask(commands, chat.say("/check buy EURUSD volume=0.1 price=1.1"))      # ask: fits one message
    text = html_plain(reply.text)
    assert text.startswith("read as: ") and "\nwould send: market buy " in text, text
    assert text.endswith("\n… and 1 more: moonhook send --dry-run says it all\nnothing was sent (a dry run)"), text
