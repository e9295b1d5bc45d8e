"""Telegram admin commands (engine/notify/commands.py) on a real engine: real sandbox workers, a real
SQLite file and the paper broker. Updates are built as Telegram sends them; every answer is checked to be
HTML the Bot API accepts (the stand-in's parser, tests/support/botapi.py)."""

from __future__ import annotations

import logging
import random
import time

import pytest

from engine.app import Operations
from engine.domain.orders import OrderRequest
from engine.interfaces.telegram.commands import Commands, Reply

from support.botapi import html_plain
from support.clock_shift import here_at_midday
from support.engine_support import process, running
from support.telegram_support import ADMIN, GROUP, STRANGER, Chat, Clock, ask

# Every on_order the engine runs, as (kind, plugin, symbol): what plugins see of a close from Telegram.
WATCH = """
plugin = {priority = 1}
function on_order(o)
  local seen = o.kind .. ':' .. tostring(o.plugin) .. ':' .. tostring(o.symbol) .. ';'
  store.set('seen', (store.get('seen') or '') .. seen)
end
"""
COUNT = "function on_alert(a) store.set('n', (store.get('n') or 0) + 1) end"


async def test_a_stranger_is_not_answered_nor_obeyed_and_is_logged(tmp_path, caplog):
    clock = Clock()
    async with running(tmp_path, {"watch": WATCH}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands = Commands(Operations(engine), ["4242"], clock=clock)      # configured as text, sent as a number
        admin, stranger = Chat(clock), Chat(clock, STRANGER, user="mallory")
        caplog.set_level(logging.WARNING, logger="moonhook.telegram")
        assert await commands.handle(stranger.say("/pause")) == []
        assert await commands.handle(stranger.say("/close all")) == []
        assert not engine.paused
        question = await ask(commands, admin.say("/close all"))
        forged = stranger.press(question)                          # the admin's token, from another chat
        assert await commands.handle(forged) == []
        assert len(await engine.broker.positions()) == 1
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("/pause" in w and "777" in w and "mallory" in w for w in warnings)
        assert any("button close" in w and "777" in w for w in warnings)
        token = question.reply_markup["inline_keyboard"][0][0]["callback_data"].split(":")[1]
        assert not any(token in w for w in warnings)
        assert (await ask(commands, admin.say("/pause"))).text.startswith("⏸")   # the admin is obeyed
        assert engine.paused


async def test_pause_really_pauses_and_resume_executes_only_new_alerts(tmp_path):
    clock = Clock()
    async with running(tmp_path, {"count": COUNT}) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        assert "Paused" in (await ask(commands, chat.say("/pause"))).text
        assert "Already paused" in (await ask(commands, chat.say("/pause"))).text
        missed = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert missed["status"] == "paused" and await engine.broker.positions() == []
        resumed = (await ask(commands, chat.press(await ask(commands, chat.say("/resume"))))).text  # Resume: skips it
        assert "Resumed" in resumed and "skipped" in resumed and not engine.paused
        assert engine.journal.get(missed["id"])["status"] == "skipped"     # missed alerts are not executed
        row = await process(engine, "buy GBPUSD volume=0.1 price=1.3")
        assert row["status"] == "done" and engine.store.get("count", "n") == 1
        assert "Not paused" in (await ask(commands, chat.say("/resume"))).text


async def test_pause_keeps_the_reason_written_after_it_as_the_api_does(tmp_path):
    """``/pause news at 14:30``: the words after it are the pause's reason, shown by /status, the API and
    the dashboard, as ``POST /api/pause {"reason": ...}`` keeps it (they were dropped); cut to 200 characters."""
    clock = Clock()
    async with running(tmp_path, {"count": COUNT}) as engine:
        ops = Operations(engine)
        commands, chat = Commands(ops, [ADMIN], clock=clock), Chat(clock)
        assert "Paused" in (await ask(commands, chat.say("/pause  NFP at 14:30 "))).text
        assert ops.pause_state()["reason"] == "NFP at 14:30"
        assert "paused</b> by telegram:" in (status := (await ask(commands, chat.say("/status"))).text)
        assert ": NFP at 14:30 (alerts journaled" in status
        assert "Resumed" in (await ask(commands, chat.say("/resume"))).text   # none held: at once
        await ask(commands, chat.say("/pause " + "x" * 300))
        assert ops.pause_state()["reason"] == "x" * 200


async def test_disable_and_enable_switch_the_plugin_and_plugins_shows_it_narrow(tmp_path):
    clock = Clock()
    long_name = "a_plugin_with_a_rather_long_name"
    async with running(tmp_path, {"count": COUNT, long_name: "function on_alert(a) end"}) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        assert "disabled" in (await ask(commands, chat.say("/disable count"))).text
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert [s["plugin"] for s in row["outcome"]["plugins"]] == [long_name]
        assert engine.store.get("count", "n") is None
        table = html_plain((await ask(commands, chat.say("/plugins"))).text)
        assert all(len(line) <= 32 for line in table.splitlines() if not line.startswith("•"))
        assert any(line.startswith("count") and " off " in line for line in table.splitlines())
        assert "a_plugin_w…" in table and "count: disabled by" in table
        assert "enabled" in (await ask(commands, chat.say("/ENABLE@MoonHook_Bot count"))).text
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=two")
        assert engine.store.get("count", "n") == 1
        unknown = await ask(commands, chat.say("/enable <nobody>"))
        assert "No plugin &lt;nobody&gt;; /plugins lists them" in unknown.text
        assert "Usage" in (await ask(commands, chat.say("/disable"))).text


async def test_enabling_a_script_that_does_not_load_says_so_not_that_no_such_plugin_exists(tmp_path):
    # "No plugin broken; /plugins lists them", while /plugins listed broken, failing to load
    clock = Clock()
    async with running(tmp_path, {"count": COUNT, "broken": "function on_alert(a"}) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        assert "broken      fail" in html_plain((await ask(commands, chat.say("/plugins"))).text)
        for command in ("/enable broken", "/disable broken"):
            assert html_plain((await ask(commands, chat.say(command))).text) == (
                "Plugin broken does not load, so it is neither on nor off: /plugins shows why. It serves once "
                "its file is saved and loads.")
        assert "No plugin nobody; /plugins lists them." in (await ask(commands, chat.say("/enable nobody"))).text


GUARD = "plugin = {guard = true}\nfunction on_alert(a) end"


def enabled(engine, name: str) -> bool:
    return next(row["enabled"] for row in Operations(engine).plugin_rows() if row["name"] == name)


async def test_disabling_a_guard_asks_first_and_the_button_switches_it_off_once(tmp_path):
    clock = Clock()
    async with running(tmp_path, {"limit": GUARD, "count": COUNT}) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        listed = html_plain((await ask(commands, chat.say("/plugins"))).text)
        assert "• limit: guard (fails closed)" in listed
        question = await ask(commands, chat.say("/disable limit"))
        assert html_plain(question.text) == ("Disable the guard limit? The entries it refuses will go through.\n"
                                             "Press Confirm, or send /disable limit again, within 30 s.")
        assert [b["text"] for b in question.reply_markup["inline_keyboard"][0]] == ["Confirm disable", "Cancel"]
        assert enabled(engine, "limit")                       # nothing happens before the confirmation
        # A Confirm of another kind carrying this question's token does not confirm it.
        token = question.reply_markup["inline_keyboard"][0][0]["callback_data"].split(":")[1]
        forged = chat.press(question)
        forged["callback_query"]["data"] = f"close:{token}"
        assert (await ask(commands, forged)).callback_text == "expired: send /close again"
        assert enabled(engine, "limit")
        done = await ask(commands, chat.press(question, message_id=56))
        assert done.edit_message_id == 56 and done.callback_text == "done"
        assert html_plain(done.text) == ("Guard limit disabled: the entries it refuses now go through. "
                                         "/enable limit to guard again.")
        assert not enabled(engine, "limit")
        assert (await ask(commands, chat.press(question))).callback_text == "already done"
        # A plugin that is not a guard, or a guard already off, is switched at once.
        assert (await ask(commands, chat.say("/disable count"))).text == "Plugin <b>count</b> disabled."
        assert (await ask(commands, chat.say("/disable limit"))).reply_markup is None
        assert (await ask(commands, chat.say("/enable limit"))).text == "Plugin <b>limit</b> enabled."


async def test_disabling_a_guard_is_confirmed_by_the_command_again_and_cancel_or_delay_keep_it(tmp_path):
    clock = Clock()
    async with running(tmp_path, {"limit": GUARD}) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock, confirm_seconds=30), Chat(clock)
        first = await ask(commands, chat.say("/disable limit"))
        assert (await ask(commands, chat.say("/disable limit"))).reply_markup is not None  # a double tap asks again
        cancelled = await ask(commands, chat.press(first, button=1))
        assert cancelled.callback_text == "cancelled" and html_plain(cancelled.text) == "Cancelled: limit stays enabled."
        late = await ask(commands, chat.say("/disable limit"))
        clock.now += 31
        expired = await ask(commands, chat.press(late))
        assert expired.callback_text == "expired: send /disable limit again"
        assert html_plain(expired.text) == "⌛ Not confirmed within 30 s: limit stays enabled. Send /disable limit again."
        assert enabled(engine, "limit")
        await ask(commands, chat.say("/disable limit"))
        clock.now += 2
        said = await ask(commands, chat.say("/disable limit"))
        assert said.reply_markup is None and "Guard <b>limit</b> disabled" in said.text
        assert not enabled(engine, "limit")
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert [s["plugin"] for s in row["outcome"]["plugins"]] == []


async def test_close_asks_first_and_the_button_closes_once_through_the_engine(tmp_path):
    clock = Clock()
    async with running(tmp_path, {"watch": WATCH}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "sell GBPUSD volume=0.2 price=1.3")
        engine.pause()                                       # an emergency close works while paused
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        question = await ask(commands, chat.say("/close eurusd"))
        assert "EURUSD" in html_plain(question.text) and "GBPUSD" not in question.text
        assert [b["text"] for b in question.reply_markup["inline_keyboard"][0]] == ["Confirm close", "Cancel"]
        assert len(await engine.broker.positions()) == 2     # nothing happens before the confirmation
        later = await engine.broker.execute(OrderRequest("market", "later-1", symbol="EURUSD", side="buy",
                                                         volume=0.3, price=1.1, plugin="trend"))  # after the question
        confirm = chat.press(question, message_id=55)
        clock.now += 10
        done = await ask(commands, confirm)
        assert done.edit_message_id == 55 and done.callback_query_id == confirm["callback_query"]["id"]
        assert "EURUSD: closed 1 position, 0.1 lots at 1.1" in html_plain(done.text) and done.reply_markup is None
        left = {p["ticket"]: p["symbol"] for p in await engine.broker.positions()}   # what was shown, only that
        assert sorted(left.values()) == ["EURUSD", "GBPUSD"] and left[later.ticket] == "EURUSD"
        await engine.broker.execute(OrderRequest("close", "later-2", ticket=later.ticket, plugin="trend"))
        closes = [o for o in engine.ledger.recent() if o["kind"] == "close"]
        assert [(o["plugin"], o["status"], o["request"]["symbol"]) for o in closes] == [("telegram", "done", "EURUSD")]
        assert "close:telegram:EURUSD;" in engine.store.get("watch", "seen")   # on_order saw it
        again = await ask(commands, chat.press(question, message_id=55))        # the token is used
        assert again.text == "" and again.callback_text == "already done"
        assert await ask(commands, chat.say("/close EURUSD")) == Reply(ADMIN, "Nothing open on EURUSD.")
        assert len([o for o in engine.ledger.recent() if o["kind"] == "close"]) == 1
        assert [p["symbol"] for p in await engine.broker.positions()] == ["GBPUSD"]


async def test_a_confirmed_close_says_which_of_the_positions_shown_were_closed_meanwhile(tmp_path):
    # Asked to close two, the admin is told of both: one closed, one no longer open (closed by another
    # way between the question and Confirm), as /cancel tells an order no longer pending.
    clock = Clock()
    async with running(tmp_path, {}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "buy EURUSD volume=0.2 price=1.1")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        question = await ask(commands, chat.say("/close EURUSD"))
        assert "Close 2 positions?" in html_plain(question.text)
        first = (await engine.broker.positions())[0]
        await engine.broker.execute(OrderRequest("close", "tp-1", ticket=first["ticket"], plugin="trend"))
        done = await ask(commands, chat.press(question))
        told = html_plain(done.text).splitlines()[1:]
        assert told == ["EURUSD: closed 1 position, 0.2 lots at 1.1; 1 no longer open"]


async def test_close_all_is_confirmed_by_the_same_command_sent_again(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "buy USDJPY volume=0.1 price=150")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        question = await ask(commands, chat.say("/close all"))
        assert "Close 2 positions?" in question.text
        twin = await ask(commands, chat.say("/close all"))     # a double tap, same second: asks again
        assert twin.reply_markup is not None and len(await engine.broker.positions()) == 2
        clock.now += 3
        done = await ask(commands, chat.say("/close ALL"))
        assert done.reply_markup is None and done.edit_message_id is None
        assert "EURUSD: closed" in done.text and "USDJPY: closed" in done.text
        assert await engine.broker.positions() == []
        late = await ask(commands, chat.press(question))        # the button of the answered question
        assert late.callback_text == "already done"
        assert len([o for o in engine.ledger.recent() if o["kind"] == "close"]) == 2


async def test_an_unconfirmed_close_expires_and_cancel_closes_nothing(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock, confirm_seconds=30), Chat(clock)
        question = await ask(commands, chat.say("/close EURUSD"))
        clock.now += 31
        expired = await ask(commands, chat.press(question))
        assert expired.callback_text.startswith("expired") and "nothing closed" in expired.text
        clock.now += 1
        repeat = await ask(commands, chat.say("/close EURUSD"))   # too late to confirm: a new question
        assert repeat.reply_markup is not None
        assert len(await engine.broker.positions()) == 1
        cancelled = await ask(commands, chat.press(repeat, button=1))
        assert cancelled.callback_text == "cancelled" and "nothing closed" in cancelled.text
        after = await ask(commands, chat.press(repeat, button=0))
        assert after.callback_text == "already cancelled"
        assert len(await engine.broker.positions()) == 1
        assert not [o for o in engine.ledger.recent() if o["kind"] == "close"]


async def test_orders_lists_pending_orders_and_cancel_asks_then_removes_only_those_it_showed(tmp_path):
    clock = Clock()
    async with running(tmp_path, {"watch": WATCH}) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        assert (await ask(commands, chat.say("/orders"))).text == "No pending orders."
        assert (await ask(commands, chat.say("/cancel EURUSD"))).text == "No pending order on EURUSD."
        await process(engine, "buylimit EURUSD volume=0.1 price=1.05")
        await process(engine, "sellstop EURUSD volume=0.2 price=1.02")
        await process(engine, "buystop GBPUSD volume=0.3 price=1.4")
        assert "pending   3 orders" in html_plain((await ask(commands, chat.say("/status"))).text)
        listed = html_plain((await ask(commands, chat.say("/orders"))).text)
        assert listed.splitlines()[0] == "3 pending orders"
        assert "EURUSD buy limit    0.1    1.05" in listed and "GBPUSD buy stop     0.3     1.4" in listed
        assert all(len(line) <= 32 for line in listed.splitlines())
        question = await ask(commands, chat.say("/cancel eurusd"))
        assert "Cancel 2 pending orders?" in question.text and "GBPUSD" not in question.text
        assert [b["text"] for b in question.reply_markup["inline_keyboard"][0]] == ["Confirm cancel", "Keep them"]
        shown = [o["ticket"] for o in await engine.broker.orders("EURUSD")]
        assert len(await engine.broker.orders()) == 3        # nothing happens before the confirmation
        later = await process(engine, "buylimit EURUSD volume=0.4 price=1.01")  # placed after the question
        engine.pause()                                       # cancelling works while paused
        clock.now += 5
        done = html_plain((await ask(commands, chat.press(question))).text)
        assert done.splitlines() == ["/cancel EURUSD"] + [f"order {t}: cancelled" for t in shown], done
        assert [o["ticket"] for o in await engine.broker.orders("EURUSD")] == [later["outcome"]["orders"][0]["ticket"]]
        cancels = [o for o in engine.ledger.recent() if o["kind"] == "close"]
        assert sorted((o["plugin"], o["status"], o["request"]["ticket"]) for o in cancels) == [
            ("telegram", "done", 1001), ("telegram", "done", 1002)]
        assert "close:telegram:EURUSD;" in engine.store.get("watch", "seen")   # on_order saw each
        late = await ask(commands, chat.press(question))
        assert late.callback_text == "already done"
        dismissed = await ask(commands, chat.press(await ask(commands, chat.say("/cancel all")), button=1))
        assert dismissed.callback_text == "cancelled" and "nothing cancelled" in dismissed.text
        assert len(await engine.broker.orders()) == 2
        await engine.resume()
        await ask(commands, chat.say("/cancel GBPUSD"))
        gone = await process(engine, "cancel GBPUSD")           # an alert takes it out meanwhile
        clock.now += 3
        again = html_plain((await ask(commands, chat.say("/cancel GBPUSD"))).text)   # confirmed by repeating it
        assert again.splitlines()[1:] == [f"order {gone['outcome']['orders'][0]['ticket']}: no longer pending"]


async def test_commands_queued_while_down_are_refused_not_run_late(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock, max_age=120), Chat(clock)
        stale = await ask(commands, chat.say("/close all", age=300))
        assert "Ignored" in stale.text and "5 min ago" in stale.text and stale.reply_markup is None
        assert "Ignored" in (await ask(commands, chat.say("/pause", age=121))).text
        assert not engine.paused
        assert (await ask(commands, chat.say("/pause", age=60))).text.startswith("⏸")


async def test_status_shows_the_accounts_limits(tmp_path):
    clock = Clock()
    async with running(tmp_path, max_order_volume=0.5, max_open_positions=4, max_price_gap_pct=0.2) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        status = html_plain((await ask(commands, chat.say("/status"))).text)
    assert "limits    0.5 lots an order, 4 positions, price within 0.2%" in status, status


async def test_status_says_a_script_that_does_not_load_and_one_pending_order_in_the_singular(tmp_path):
    # /status said "plugins 1/1 enabled" and nothing of the file that did not load, and "pending 1 orders".
    clock = Clock()
    async with running(tmp_path, {"broken": "plugin = {priority = 'high'}\n"}) as engine:
        await process(engine, "buylimit EURUSD volume=0.1 price=1.05")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        status = html_plain((await ask(commands, chat.say("/status"))).text)
    assert "\npending   1 order\n" in status and "\n⚠ script  broken.lua does not load: /plugins\n" in status, status


async def test_status_with_every_script_failing_to_load_still_fits_one_message(tmp_path):
    # A line for each script that does not load: 60 of them (a module they share broken, say) outgrew
    # Telegram's 4096 characters, and /status went unanswered just when everything failed.
    names = [f"strategy_{i:02d}_" + "x" * 36 for i in range(60)]      # 48 characters: the longest a name has
    clock = Clock()
    async with running(tmp_path, {name: "plugin = {priority = 'high'}\n" for name in names}) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        status = html_plain((await ask(commands, chat.say("/status"))).text)   # ask: fits one message
    shown = [line for line in status.splitlines() if line.startswith("⚠ script")]
    assert shown[0] == f"⚠ script  {names[0]}.lua does not load: /plugins", status
    assert len(shown) == 11 and shown[-1] == "⚠ script  … and 50 more: /plugins", status
    assert "limits" in status and "alerts" in status


async def test_status_says_a_save_that_did_not_load_while_the_version_before_serves(tmp_path):
    # /status said nothing of it: the trader who saved from a phone saw "plugins 1/1 enabled" only.
    clock = Clock()
    async with running(tmp_path, {"gate": "function on_alert(a) end\n"}) as engine:
        path = engine.config.scripts / "gate.lua"
        path.write_text("function on_alert(a)\n", encoding="utf-8")   # no `end`
        await engine.lifecycle.apply([path])
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        status = html_plain((await ask(commands, chat.say("/status"))).text)
    assert "\n⚠ script  gate.lua save failed, the older serves\n" in status, status


async def test_plugins_says_a_save_that_did_not_load_apart_from_a_file_nothing_serves(tmp_path):
    # Both rows said "fail" with their error: the gate trading on its version before the save read as
    # a file nothing serves.
    clock = Clock()
    async with running(tmp_path, {"gate": "function on_alert(a) end\n", "broken": "function on_alert(a)\n"}) as engine:
        path = engine.config.scripts / "gate.lua"
        path.write_text("function on_alert(a)\n", encoding="utf-8")   # no `end`
        await engine.lifecycle.apply([path])
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        listed = html_plain((await ask(commands, chat.say("/plugins"))).text)
    assert "\n• gate: save failed: the version before serves: gate.lua:2: " in listed, listed
    assert "\n• broken: failed: nothing serves: broken.lua:2: " in listed, listed


async def test_trades_tells_the_days_closed_trades_their_net_and_who_opened_them(tmp_path, monkeypatch):
    here_at_midday(monkeypatch)  # today's counts in one day
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        assert (await ask(commands, chat.say("/trades"))).text == "No trades closed today (UTC)."
        await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09")
        await process(engine, "close EURUSD price=1.105")          # 500 points of 0.1 lot: +50.00
        today = html_plain((await ask(commands, chat.say("/trades"))).text)
        week = html_plain((await ask(commands, chat.say("/trades 7"))).text)
        usage = (await ask(commands, chat.say("/trades week"))).text
    assert today.startswith("1 trade closed today (UTC), net +50.00 USD\n"), today
    assert "\nEURUSD buy    0.1   1.105 +50.00\n" in today and today.endswith("by plugin:\n• engine +50.00 (1)")
    assert all(len(line) <= 32 for line in today.splitlines()[1:-1])
    assert week.startswith("1 trade closed in the last 7 days, net +50.00 USD")
    assert usage == "Usage: /trades (today, from 00:00 UTC) or /trades DAYS (1 to 365)."


async def test_status_positions_help_and_unknown_commands_answer_short(tmp_path):
    clock = Clock()
    async with running(tmp_path, {"count": COUNT}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        status = html_plain((await ask(commands, chat.say("/Status@moonhook_bot"))).text)
        assert "running" in status and "paper connected" in status and "1/1 enabled" in status
        assert "balance" in status and "equity" in status and "positions 1" in status and "limits    none" in status
        positions = html_plain((await ask(commands, chat.say("/positions"))).text)
        assert "1 open position" in positions and "EURUSD buy    0.1     1.1" in positions
        assert all(len(line) <= 32 for line in positions.splitlines()[1:])
        help_text = html_plain((await ask(commands, chat.say("/help"))).text)
        assert all(c in help_text for c in ("/status", "/plugins", "/enable", "/disable", "/pause", "/resume",
                                            "/positions", "/close SYMBOL", "/close all"))
        assert "/help lists them" in (await ask(commands, chat.say("/frobnicate now"))).text
        assert "Usage" in (await ask(commands, chat.say("/close"))).text
        assert "not a symbol" in (await ask(commands, chat.say("/close <EUR/USD>"))).text
        assert await commands.handle(chat.say("hello there")) == []          # not a command
        await process(engine, "close EURUSD")
        assert "No open positions" in (await ask(commands, chat.say("/positions"))).text


async def test_the_same_message_seen_twice_runs_once(tmp_path):
    # In a supergroup served by two bots, each bot receives the same message (same chat, same message id).
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands = Commands(Operations(engine), [ADMIN], command_chats=[GROUP], clock=clock)
        chat = Chat(clock, GROUP, user_id=ADMIN)
        first = chat.say("/close all")
        assert (await ask(commands, first)).reply_markup is not None
        clock.now += 5
        copy = {**first, "update_id": 999}
        copy["message"] = {**first["message"], "date": int(clock())}   # even with a later date
        assert await commands.handle(copy, "other_moonhook_bot") == []
        assert len(await engine.broker.positions()) == 1


async def test_a_message_to_another_bot_in_a_private_chat_is_another_message_though_its_id_is_the_same(tmp_path):
    # A private chat's message ids are the bot's own count (as a basic group's): the admin's chats with two bots
    # number their messages apart, and both have the admin's id. /pause through the second bot, its id the same as
    # that of a /status through the first, was taken for that /status seen again: ignored, and not answered.
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        assert "running" in (await ask(commands, chat.say("/status", message_id=7), "one_bot")).text
        assert "Paused" in (await ask(commands, chat.say("/pause", message_id=7), "two_bot")).text
        assert engine.paused
        assert await commands.handle(chat.say("/resume", message_id=7), "two_bot") == []   # through it again: seen
        assert engine.paused


MALFORMED = [
    None, 42, "update", [], {}, {"update_id": 1}, {"message": None}, {"message": "text"}, {"message": []},
    {"message": {"text": "/pause"}}, {"message": {"chat": None, "text": "/pause", "date": 0}},
    {"message": {"chat": {"id": ADMIN}, "date": int(time.time())}},
    {"message": {"chat": {"id": ADMIN}, "text": 7, "date": int(time.time())}},
    {"message": {"chat": {"id": [ADMIN]}, "text": "/pause", "date": int(time.time())}},
    {"message": {"chat": {"id": True}, "text": "/pause", "date": int(time.time())}},
    {"message": {"chat": {"id": ADMIN}, "text": "/pause", "date": "now"}},
    {"message": {"chat": {"id": ADMIN}, "text": "/pause", "date": float("nan")}},
    {"message": {"chat": {"id": ADMIN}, "text": "/pause", "date": float("inf")}},
    {"message": {"chat": {"id": ADMIN}, "text": "/pause", "date": 10 ** 400}},
    {"message": {"chat": {"id": ADMIN}, "text": "/pause"}},
    {"message": {"chat": {"id": ADMIN}, "text": "/", "date": int(time.time())}},
    {"message": {"chat": {"id": ADMIN}, "text": "/@bot", "date": int(time.time())}},
    {"edited_message": {"chat": {"id": ADMIN}, "text": "/pause", "date": int(time.time())}},
    {"channel_post": {"chat": {"id": ADMIN}, "text": "/pause", "date": int(time.time())}},
    {"callback_query": None}, {"callback_query": {"id": "q", "data": "close:x"}},
    {"callback_query": {"id": 5, "data": "close:x", "message": {"chat": {"id": ADMIN}}}},
    {"callback_query": {"id": "q", "data": None, "message": {"chat": {"id": ADMIN}}}},
    {"callback_query": {"id": "q", "data": "close:x", "message": "msg"}},
]


async def test_malformed_updates_are_ignored_without_a_crash(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands = Commands(Operations(engine), [ADMIN], clock=clock)
        for update in MALFORMED:
            assert await commands.handle(update) == [], update
        # Fuzz: valid updates with parts removed or swapped for values of the wrong type.
        rng, chat = random.Random(6), Chat(clock)
        question = await ask(commands, chat.say("/close all"))
        junk = [None, 0, -1, 1.5, "", "x" * 5000, [], {}, True, {"id": ADMIN}, [ADMIN], "close:", "/close"]
        for _ in range(400):
            update = rng.choice([chat.say("/pause"), chat.say("/close all"), chat.say("/enable x"),
                                 chat.press(question), chat.press(question, button=1)])
            for _ in range(rng.randint(1, 3)):
                node = update
                path = []
                while isinstance(node, dict) and node and rng.random() < 0.7:
                    key = rng.choice(list(node))
                    path.append(key)
                    if not isinstance(node[key], dict):
                        break
                    node = node[key]
                if not path:
                    continue
                parent = update
                for key in path[:-1]:
                    parent = parent[key]
                if rng.random() < 0.4:
                    del parent[path[-1]]
                else:
                    parent[path[-1]] = rng.choice(junk)
            replies = await commands.handle(update)
            assert isinstance(replies, list) and all(isinstance(r, Reply) for r in replies)
            for reply in replies:
                html_plain(reply.text or "x")


@pytest.mark.parametrize("admins", [[], ["someone_else"]])
async def test_no_admin_configured_means_no_command_is_obeyed(tmp_path, admins):
    clock = Clock()
    async with running(tmp_path) as engine:
        commands = Commands(Operations(engine), admins, clock=clock)
        assert await commands.handle(Chat(clock).say("/pause")) == []
        assert not engine.paused


async def test_check_says_what_an_alert_would_do_and_never_logs_it(tmp_path, caplog):
    """/check ALERT: the orders it would place and a limit's refusal, sending nothing; its
    argument, which may be a TradingView message with the webhook's secret, is never logged."""
    clock = Clock()
    async with running(tmp_path, {"count": COUNT}, max_order_volume=1.0) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        caplog.set_level(logging.INFO, logger="moonhook.telegram")
        sized = (await ask(commands, chat.say('/check {"secret": "hunter2-hunter2", "symbol": "EURUSD", '
                                              '"action": "buy", "risk": 1, "sl_pips": 20, "price": 1.1}'))).text
        plain = html_plain(sized)
        assert "would send: market buy 0.5 EURUSD price 1.1 sl 1.098" in plain, plain
        assert "plugins that would see it first: count (not run by a check" in plain and plain.endswith("nothing was sent (a dry run)")
        big = html_plain((await ask(commands, chat.say("/check buy EURUSD volume=5 price=1.1"))).text)
        assert "refused: over engine.max_order_volume: 5 lots asked, at most 1" in big
        assert html_plain((await ask(commands, chat.say("/check buy EURUSD sl=low"))).text).startswith(
            "Not an alert: sl: ")
        assert (await ask(commands, chat.say("/check"))).text.startswith("Usage: /check ALERT")
        assert engine.journal.recent(10) == [] and await engine.broker.positions() == []
        assert engine.store.get("count", "n") is None                          # the plugin was not run
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "/check (" in logged and "hunter2" not in logged and "EURUSD" not in logged


async def test_a_long_argument_gets_an_answer_that_fits_one_message(tmp_path):
    # The answer echoed the argument whole: past Telegram's 4096 characters it was refused, and the
    # admin got no answer at all.
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        assert "No plugin xxx" in (await ask(commands, chat.say("/enable " + "x" * 4080))).text
        assert "Not an alert" in (await ask(commands, chat.say("/check " + "z" * 4080))).text
