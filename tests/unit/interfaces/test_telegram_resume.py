"""Telegram's /resume (engine/interfaces/telegram/resume.py) says what the dashboard's Resume says: how many
alerts wait from the pause, that a plain resume skips them for good, and offers running them instead
(``POST /api/resume?execute_missed=true``'s facade call). On a real engine (sandbox workers, SQLite, paper)."""

from __future__ import annotations

from engine.app import Operations
from engine.interfaces.telegram.commands import Commands

from support.botapi import html_plain
from support.engine_support import process, running, told
from support.telegram_support import ADMIN, Chat, Clock, ask


def buttons(reply) -> list[str]:
    return [b["text"] for row in reply.reply_markup["inline_keyboard"] for b in row]


async def held_two(engine, commands: Commands, chat: Chat) -> list[dict]:
    """Paused from Telegram, with two alerts journaled meanwhile."""
    assert "Paused" in (await ask(commands, chat.say("/pause"))).text
    return [await process(engine, f"buy EURUSD volume=0.1 price=1.1 id=held{n}") for n in (1, 2)]


async def test_resume_says_how_many_alerts_it_would_skip_and_runs_them_when_asked(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        held = await held_two(engine, commands, chat)
        question = await ask(commands, chat.say("/resume"))
        assert html_plain(question.text).startswith(
            "Resume the engine? The 2 alerts received while paused will be skipped: journaled, never executed.")
        assert buttons(question) == ["Resume", "Resume and run them", "Keep paused"]
        assert engine.paused                                  # nothing happens before the answer
        done = await ask(commands, chat.press(question, button=1))
        assert done.callback_text == "done" and not engine.paused
        assert html_plain(done.text).startswith("▶️ Resumed: the 2 alerts received while paused are queued")
        await engine.drain()
        assert [engine.journal.get(row["id"])["status"] for row in held] == ["done", "done"]
        assert len(await engine.broker.positions()) == 2
        assert (await ask(commands, chat.press(question))).callback_text == "already done"


async def test_resume_skips_the_held_alerts_only_once_confirmed_and_keep_paused_keeps_them(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        held = await held_two(engine, commands, chat)
        kept = await ask(commands, chat.press(await ask(commands, chat.say("/resume")), button=2))
        assert kept.callback_text == "cancelled" and html_plain(kept.text) == "Cancelled: moonhook stays paused."
        assert engine.paused
        await ask(commands, chat.say("/resume"))
        clock.now += 2   # the repeat, dated after the question Telegram took, confirms a plain resume
        assert html_plain((await ask(commands, chat.say("/resume"))).text).startswith("▶️ Resumed")
        assert not engine.paused
        assert [engine.journal.get(row["id"])["status"] for row in held] == ["skipped", "skipped"]
        assert await engine.broker.positions() == []


async def test_resume_with_nothing_held_resumes_at_once(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        await ask(commands, chat.say("/pause"))
        resumed = await ask(commands, chat.say("/resume"))
        assert resumed.reply_markup is None and html_plain(resumed.text).startswith("▶️ Resumed")
        assert not engine.paused
        assert "Not paused" in (await ask(commands, chat.say("/resume"))).text


async def test_a_second_resume_from_another_place_tells_the_admins_nothing(tmp_path):
    # Resumed from Telegram, then from a dashboard whose Resume was still shown: the admins were told
    # "moonhook resumed by api" as well, naming one who resumed nothing
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        await ask(commands, chat.say("/pause"))
        await ask(commands, chat.say("/resume"))
        assert await Operations(engine).resume(False, by="api") == 0
        admin = [text for kind, text in await told(engine) if kind == "admin" and "resumed" in text]
    assert admin == [f"moonhook resumed by telegram:{ADMIN}"]


async def test_an_alert_held_after_the_question_is_asked_about_before_any_is_skipped(tmp_path):
    # The question said 2 alerts would be skipped; a third came before the answer, and Resume
    # skipped all 3, one the trader was never shown. As /close acts on what it showed, it asks again.
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        held = await held_two(engine, commands, chat)
        question = await ask(commands, chat.say("/resume"))
        held.append(await process(engine, "buy EURUSD volume=0.1 price=1.1 id=held3"))
        again = await ask(commands, chat.press(question, message_id=57))
        assert engine.paused and again.edit_message_id == 57 and buttons(again)[:2] == ["Resume", "Resume and run them"]
        assert html_plain(again.text).startswith("Resume the engine? The 3 alerts received while paused will be")
        held.append(await process(engine, "buy EURUSD volume=0.1 price=1.1 id=held4"))
        clock.now += 2   # the command sent again, after the question: asks again too
        four = await ask(commands, chat.say("/resume"))
        assert "The 4 alerts" in html_plain(four.text) and engine.paused
        done = await ask(commands, chat.press(four, button=1))
        assert html_plain(done.text).startswith("▶️ Resumed: the 4 alerts received while paused are queued")
        await engine.drain()
        assert [engine.journal.get(row["id"])["status"] for row in held] == ["done"] * 4


async def test_status_says_who_paused_and_how_many_alerts_wait_as_the_plugins_page_does(tmp_path):
    """/status said only "paused": not by whom, nor that alerts were held, which the dashboard
    shows beside its Resume; an admin reading it could resume unaware of what it skips."""
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        running_now = html_plain((await ask(commands, chat.say("/status"))).text)
        await held_two(engine, commands, chat)
        paused = html_plain((await ask(commands, chat.say("/status"))).text)
    assert running_now.startswith("moonhook ▶️ running\n")
    assert paused.startswith(f"moonhook ⏸ paused by telegram:{ADMIN} (alerts journaled, not executed; 2 held, which "
                             "/resume asks about)\n"), paused


async def test_an_alert_held_in_place_of_the_one_asked_about_is_not_skipped_unshown(tmp_path):
    # The question said the alert held would be skipped; another admin ran it and paused again, and a
    # new alert was held: still one held, as the question said, and Resume skipped the new one, unshown.
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        assert "Paused" in (await ask(commands, chat.say("/pause"))).text
        shown = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=shown")
        question = await ask(commands, chat.say("/resume"))
        assert await Operations(engine).resume(True, by="api") == 1   # the other admin's
        await engine.drain()
        Operations(engine).pause()
        unshown = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=unshown")
        again = await ask(commands, chat.press(question, message_id=58))
        assert again.callback_text == "the alerts held changed since: asked again" and again.edit_message_id == 58
        assert html_plain(again.text).startswith("Resume the engine? The alert received while paused will be")
        assert engine.paused and engine.journal.get(unshown["id"])["status"] == "paused"
        assert engine.journal.get(shown["id"])["status"] == "done"
        done = await ask(commands, chat.press(again))
        assert html_plain(done.text).startswith("▶️ Resumed: new alerts are executed.") and not engine.paused
        assert engine.journal.get(unshown["id"])["status"] == "skipped"


async def test_the_admins_are_told_the_resume_and_its_held_alerts_in_the_singular_too(tmp_path):
    # "moonhook resumed by telegram:4242; 1 missed alerts skipped": the notice counted in the plural always
    clock = Clock()
    async with running(tmp_path) as engine:
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        await ask(commands, chat.say("/pause"))
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=one")
        await ask(commands, chat.press(await ask(commands, chat.say("/resume"))))   # Resume: skips it
        await held_two(engine, commands, chat)
        await ask(commands, chat.press(await ask(commands, chat.say("/resume")), button=1))   # and run them
        await engine.drain()
        admin = [text for kind, text in await told(engine) if kind == "admin" and "resumed" in text]
    assert admin == [f"moonhook resumed by telegram:{ADMIN}; 1 missed alert skipped",
                     f"moonhook resumed by telegram:{ADMIN}; 2 missed alerts queued"]
