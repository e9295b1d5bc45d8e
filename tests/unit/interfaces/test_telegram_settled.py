"""A question (/close, /cancel, the /disable of a guard, /resume with alerts held) confirmed by sending its
command again loses its buttons, as one confirmed by its button does: its message is edited to say how it was
settled (engine/interfaces/telegram/commands.py); and /positions SYMBOL, a symbol named as those commands name it
(positions.py). On a real engine (sandbox workers, SQLite, paper)."""

from __future__ import annotations

from engine.app import Operations
from engine.interfaces.telegram.commands import Commands, Reply

from support.botapi import html_plain
from support.engine_support import process, running
from support.telegram_support import ADMIN, Chat, Clock, ask

GUARD = "plugin = {guard = true}\nfunction on_alert(a) end"


async def confirmed(commands: Commands, update: dict) -> tuple[Reply, Reply]:
    """The repeat's two replies: its answer (a new message), then the edit of the question it settled."""
    answer, edit = await commands.handle(update)
    for reply in (answer, edit):
        html_plain(reply.text)   # raises where Telegram would refuse the HTML
    assert answer.edit_message_id is None and answer.reply_markup is None
    return answer, edit


async def test_a_close_confirmed_by_sending_it_again_takes_the_buttons_off_its_question(tmp_path):
    # The answer came as a new message, and the question kept its Confirm and Cancel buttons (a press
    # was answered "already done"), reading as a question still open.
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "buy USDJPY volume=0.1 price=150")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        question = await ask(commands, chat.say("/close all"))    # Telegram took it as message 55
        clock.now += 3
        answer, edit = await confirmed(commands, chat.say("/close ALL"))
        assert "EURUSD: closed" in answer.text and await engine.broker.positions() == []
        assert (edit.chat_id, edit.edit_message_id, edit.reply_markup, edit.callback_query_id) == (ADMIN, 55, None, None)
        shown = html_plain(edit.text)
        assert shown.startswith("Close 2 positions?\n") and "EURUSD" in shown and "Press Confirm" not in shown
        assert shown.endswith("\n✔ Confirmed: /close all sent again; its answer follows.")
        assert (await ask(commands, chat.press(question))).callback_text == "already done"


async def test_a_guard_disabled_and_a_resume_confirmed_again_settle_their_questions_too(tmp_path):
    clock = Clock()
    async with running(tmp_path, {"limit": GUARD}) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        await ask(commands, chat.say("/disable limit"))
        clock.now += 2
        answer, edit = await confirmed(commands, chat.say("/disable limit"))
        assert "Guard <b>limit</b> disabled" in answer.text and edit.edit_message_id == 55
        assert html_plain(edit.text) == ("Disable the guard limit? The entries it refuses will go through.\n"
                                         "✔ Confirmed: /disable limit sent again; its answer follows.")
        await ask(commands, chat.say("/pause"))
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await ask(commands, chat.say("/resume"))
        clock.now += 2
        answer, edit = await confirmed(commands, chat.say("/resume"))
        assert "Resumed" in answer.text and not engine.paused and edit.reply_markup is None
        assert html_plain(edit.text).startswith("Resume the engine? The alert received while paused will be skipped")
        assert html_plain(edit.text).endswith("\n✔ Confirmed: /resume sent again; its answer follows.")


async def test_a_resume_sent_again_with_other_alerts_held_asks_anew_and_says_so_on_the_question_it_replaces(tmp_path):
    # The first question kept its buttons, and a press of them was answered "already done": nothing was done.
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        await ask(commands, chat.say("/pause"))
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=held1")
        first = await ask(commands, chat.say("/resume"))
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=held2")
        clock.now += 2
        asked, edit = await commands.handle(chat.say("/resume"))
        assert "The 2 alerts" in html_plain(asked.text) and asked.reply_markup is not None and engine.paused
        assert edit.edit_message_id == 55 and edit.reply_markup is None
        assert html_plain(edit.text).endswith("\nNot resumed: other alerts are held than it showed; asked again below.")
        assert (await ask(commands, chat.press(first))).callback_text == "expired: send /resume again"
        assert engine.paused
        asked.on_sent({"message_id": 56, "date": int(clock.now)})   # the question asked anew is no twin to settle
        assert (await ask(commands, chat.press(asked, message_id=56))).callback_text == "done" and not engine.paused


async def test_a_question_asked_twice_by_a_double_tap_is_settled_on_both_messages(tmp_path):
    # '/close all' sent twice in one second asks twice (neither confirms the other); the one confirmed lost
    # its buttons and the other kept them, a question still open on the screen though settled.
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "buy EURUSD volume=0.2 price=1.1 id=two")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        first, second = [await commands.handle(chat.say("/close all")) for _ in range(2)]
        first[0].on_sent({"message_id": 61, "date": int(clock.now)})
        second[0].on_sent({"message_id": 62, "date": int(clock.now)})
        clock.now += 2
        answer, *edits = await commands.handle(chat.say("/close all"))
        assert "EURUSD: closed 2 positions" in answer.text
        assert [(e.edit_message_id, e.reply_markup) for e in edits] == [(61, None), (62, None)]
        assert html_plain(edits[1].text).endswith("\nAsked twice: settled once, on the other question.")
        assert (await ask(commands, chat.press(second[0], message_id=62))).callback_text == "expired: send /close all again"
        # A press settles the other too: Cancel on one, and both say so.
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=three")
        first, second = [await commands.handle(chat.say("/close EURUSD")) for _ in range(2)]
        first[0].on_sent({"message_id": 63, "date": int(clock.now)})
        second[0].on_sent({"message_id": 64, "date": int(clock.now)})
        pressed, other = await commands.handle(chat.press(second[0], button=1, message_id=64))
        assert pressed.edit_message_id == 64 and pressed.callback_text == "cancelled"
        assert other.edit_message_id == 63 and other.callback_query_id is None and other.reply_markup is None
        assert (await ask(commands, chat.press(first[0], message_id=63))).callback_text == "expired: send /close EURUSD again"
        assert len(await engine.broker.positions()) == 1


async def test_a_question_telegram_did_not_take_is_asked_anew_and_nothing_is_edited(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        [lost] = await commands.handle(chat.say("/close EURUSD"))   # its sendMessage never answered
        clock.now += 2
        again = await ask(commands, chat.say("/close EURUSD"))
        assert lost.reply_markup is not None and again.reply_markup is not None and again.edit_message_id is None


async def test_positions_of_a_symbol_shows_that_symbols_only_as_close_names_it(tmp_path):
    # '/positions EURUSD' listed every symbol's positions, its symbol ignored.
    clock = Clock()
    async with running(tmp_path, symbol_map={"EU": "EURUSD"}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "sell GBPUSD volume=0.2 price=1.3")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        for said in ("/positions eurusd", "/positions EU", "/positions FX:EURUSD"):   # as /close names it
            shown = html_plain((await ask(commands, chat.say(said))).text)
            assert shown.startswith("1 open position on EURUSD, profit ") and "GBPUSD" not in shown, said
        assert "2 open positions, profit" in html_plain((await ask(commands, chat.say("/positions"))).text)
        assert (await ask(commands, chat.say("/positions usdjpy"))).text == "No open position on USDJPY."
        unknown = html_plain((await ask(commands, chat.say("/positions EURUSDX"))).text)
        assert unknown == "No open position on EURUSDX: unknown symbol EURUSDX at the broker."
        refused = html_plain((await ask(commands, chat.say("/positions <EUR/USD>"))).text)
        assert refused == "<EUR/USD> is not a symbol. Usage: /positions, or /positions SYMBOL."


async def test_an_expired_question_says_the_whole_command_to_send_again(tmp_path):
    # It said "Send /close again": tapped, or typed as said, /close alone is answered with its usage.
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock, confirm_seconds=30), Chat(clock)
        question = await ask(commands, chat.say("/close eurusd"))
        clock.now += 31
        expired = await ask(commands, chat.press(question))
        assert expired.callback_text == "expired: send /close EURUSD again"
        assert expired.text == ("⌛ Not confirmed within 30 s: nothing closed. Send <code>/close EURUSD</code> "
                                "again.")
        first, second = [await commands.handle(chat.say("/close all")) for _ in range(2)]
        await ask(commands, chat.press(first[0]))   # done: its twin expired with it
        assert (await ask(commands, chat.press(second[0]))).callback_text == "expired: send /close all again"
        assert len(await engine.broker.positions()) == 0


async def test_a_question_asked_before_a_restart_loses_its_buttons_when_pressed(tmp_path):
    # Each press was answered "expired" and the buttons stayed, a question looking open until the chat was cleared.
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        chat = Chat(clock)
        question = await ask(Commands(Operations(engine), [ADMIN], clock=clock), chat.say("/close all"))
        restarted = Commands(Operations(engine), [ADMIN], clock=clock)   # a new run: its questions are gone
        pressed = await ask(restarted, chat.press(question, message_id=70))
        assert pressed.callback_text == "expired: send /close again"
        assert (pressed.edit_message_id, pressed.reply_markup) == (70, None)
        assert html_plain(pressed.text) == ("⌛ Expired: asked before moonhook restarted, or over an hour ago. Nothing "
                                            "was done; send the command again if you still mean it.")
        assert len(await engine.broker.positions()) == 1
