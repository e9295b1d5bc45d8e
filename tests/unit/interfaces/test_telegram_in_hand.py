"""A command moonhook stopped while obeying (killed mid-command), or after obeying it but before Telegram took
its answers: written down as in hand with the offset past its update, in a real SQLite file, marked obeyed once
obeyed, deleted once its answers are taken; one left at a start is told to its chat once, in words that say
which, through the Bot API stand-in (tests/support/botapi.py). The kills themselves are walked in
tests/e2e/test_walk_telegram_cut.py."""

from __future__ import annotations

import time
from dataclasses import replace
from functools import partial

import trio
import trio.testing

from engine.adapters.storage import MIGRATIONS, Database
from engine.adapters.storage.in_hand import CommandsInHand, InHand
from engine.adapters.storage.offsets import SeenUpdates, UpdateOffsets
from engine.domain.config.telegram import BotConfig, ChatConfig, TelegramConfig
from engine.interfaces.telegram.access import Access
from engine.interfaces.telegram.commands import Reply
from engine.interfaces.telegram.in_hand import noted, notice, unanswered

from support.botapi import bot_api_server, html_plain
from support.engine_support import HUBS, running
from support.older_journal import moonhook_of
from support.telegram_support import ADMIN, GROUP, STRANGER, Chat, Clock
from support.waits import HANG, until

TOKEN = "5150:in-hand-SECRET-part"
BOT = "5150"
HOOK = "hook-Secret_7"


def telegram(url: str) -> TelegramConfig:
    return TelegramConfig(api_url=url, bots=(BotConfig(TOKEN, (ChatConfig(ADMIN),)),), admins=(ADMIN,))


def test_a_command_is_in_hand_from_the_offsets_transaction_until_done_across_reopening(tmp_path):
    db = Database(tmp_path / "m.db")
    command = InHand(str(ADMIN), str(ADMIN), "/close EURUSD", 1_800_000_000.0)
    UpdateOffsets(db).set(BOT, 8, command)                 # update 7's offset past it, and its command
    UpdateOffsets(db).set(BOT, 9)                          # update 8: no command
    db.close()
    again = Database(tmp_path / "m.db")
    in_hand = CommandsInHand(again)
    (cut,) = in_hand.cut(now=1_800_000_100.0)
    assert (cut.bot, cut.update_id, cut.command) == (BOT, 7, command) and UpdateOffsets(again).get(BOT) == 9
    in_hand.forget(BOT, 7)
    assert in_hand.cut(now=1_800_000_100.0) == []
    again.close()


async def test_a_command_obeyed_is_marked_so_until_crossed_off_across_reopening(tmp_path, monkeypatch):
    with moonhook_of(monkeypatch, MIGRATIONS[:26]):   # written by schema 26, without the mark: being obeyed
        older = Database(tmp_path / "m.db")
        with older.transaction() as t:
            CommandsInHand.write(t, BOT, 6, InHand(str(ADMIN), str(ADMIN), "/pause", 1_800_000_000.0))
        older.close()
    db = Database(tmp_path / "m.db")
    command = InHand(str(ADMIN), str(ADMIN), "/close EURUSD", 1_800_000_001.0)
    UpdateOffsets(db).set(BOT, 8, command)
    await CommandsInHand(db).obeyed(BOT, 7)              # obeyed, its answers not yet taken by Telegram
    db.close()
    again = Database(tmp_path / "m.db")
    in_hand = CommandsInHand(again)
    assert [(c.update_id, c.obeyed) for c in in_hand.cut(now=1_800_000_100.0)] == [(6, False), (7, True)]
    in_hand.forget(BOT, 7)
    assert [c.update_id for c in in_hand.cut(now=1_800_000_100.0)] == [6]
    again.close()


async def test_a_webhook_update_is_in_hand_when_first_seen_only(tmp_path):
    db = Database(tmp_path / "m.db")
    seen, in_hand = SeenUpdates(db), CommandsInHand(db)
    command = InHand(str(ADMIN), str(ADMIN), "/pause", time.time())
    assert await seen.first_time(BOT, 40, command)
    await in_hand.done(BOT, 40)
    assert not await seen.first_time(BOT, 40, command)     # posted again, obeyed already: not in hand again
    assert in_hand.cut() == []
    db.close()


def test_what_is_noted_is_an_admins_command_as_the_log_shows_it_never_a_secret():
    access, clock = Access([ADMIN], [GROUP]), Clock()
    admin, stranger = Chat(clock), Chat(clock, STRANGER)
    check = noted(admin.say(f"/check buy EURUSD secret={HOOK} volume=0.1"), access, [HOOK])
    assert check is not None and check.command == "/check (42 characters)" and check.chat == str(ADMIN)
    said = noted(admin.say(f"/enable {HOOK}"), access, [HOOK])
    assert said is not None and said.command == "/enable ***" and said.received_at == int(clock.now)
    assert noted(admin.say("/close " + "x" * 200), access, []).command.endswith("…")   # 64 characters at most
    assert noted(stranger.say("/pause"), access, []) is None                            # a stranger is never told
    assert noted(admin.say("hello"), access, []) is None
    assert noted({"update_id": 3}, access, []) is None and noted([], access, []) is None


def test_the_notice_says_the_command_when_it_came_and_where_to_look():
    received = time.mktime((2026, 12, 7, 12, 1, 3, 0, 0, 0)) - time.timezone
    said = html_plain(notice(InHand(str(ADMIN), str(ADMIN), "/close EURUSD", received), now=received + 60))
    assert said == ("⚠ moonhook stopped while obeying /close EURUSD (received 12:01:03 UTC); it may or may not "
                    "have been done: /positions shows what is open; send it again if needed."), said
    later = html_plain(notice(InHand(str(ADMIN), None, "the button Confirm cancel", received), now=received + 86_400))
    assert "(received 2026-12-07 12:01:03 UTC)" in later and "/orders shows what is pending" in later, later
    assert "send the command again" in later


def test_the_word_of_a_command_obeyed_but_unanswered_says_it_was_done_and_where_to_look():
    received = time.mktime((2026, 12, 7, 10, 1, 3, 0, 0, 0)) - time.timezone
    said = html_plain(unanswered(InHand(str(ADMIN), str(ADMIN), "/pause", received), now=received + 60))
    assert said == ("ℹ moonhook finished /pause (received 10:01:03 UTC), then stopped before its answer was "
                    "confirmed sent: /status shows whether moonhook is paused."), said
    button = html_plain(unanswered(InHand(str(ADMIN), None, "the button Confirm close", received), now=received))
    assert "finished the button Confirm close" in button and "/positions shows what is open" in button, button
    assert not [s for s in (said, button) if "may or may not" in s or "again" in s]


async def test_a_command_left_in_hand_is_told_to_its_chat_once_and_one_obeyed_leaves_none(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    db = Database(data / "moonhook.db")    # as the run killed while obeying /close left it
    with db.transaction() as t:           # its offset aside: the stand-in numbers its updates from 1
        CommandsInHand.write(t, BOT, 12, InHand(str(ADMIN), str(ADMIN), "/close EURUSD", time.time() - 30))
    db.close()
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        def told() -> list[str]:
            return [t for t in (html_plain(m.text) for m in server.messages(TOKEN, ADMIN)) if "stopped while" in t]

        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            await until(lambda: len(told()) == 1)
            await until(lambda: CommandsInHand(engine.database).cut() == [])   # deleted once Telegram took it
            server.push_message(TOKEN, ADMIN, "/pause")
            await until(lambda: engine.paused)
            await until(lambda: [m for m in server.messages(TOKEN, ADMIN) if "Paused" in m.text])
            await until(lambda: CommandsInHand(engine.database).cut() == [])   # obeyed, its answer taken
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            server.push_message(TOKEN, ADMIN, "/status")
            await until(lambda: [m for m in server.messages(TOKEN, ADMIN) if "paused" in m.text.lower()
                                 and "moonhook" in m.text and "stopped while" not in m.text])
        (text,) = told()                                                  # once, not at the restart again
    assert "/close EURUSD" in text and "/positions shows what is open" in text


async def test_a_webhook_command_cut_while_obeyed_stays_in_hand_and_one_obeyed_does_not(tmp_path):
    # The webhook's order is polling's: the update's id stored first (posted again, it is not obeyed twice), so a
    # command cut there was lost silently too. Cut here by cancelling its handling, as a stop does.
    clock = Clock()
    admin = Chat(clock)
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, running(tmp_path, telegram=replace(
            telegram(server.url), webhook_url="https://moonhook.example.org", webhook_secret=HOOK)) as engine:
        hub = HUBS[engine]
        assert await hub.dispatch(BOT, admin.say("/pause", age=-100))       # the chat's clock is behind: now
        assert engine.paused
        await until(lambda: CommandsInHand(engine.database).cut() == [])    # once Telegram took its answer
        entered = trio.Event()

        async def obeying(update, username=None):
            entered.set()
            await trio.sleep_forever()

        hub.commands.handle = obeying
        cut = admin.say(f"/enable {TOKEN} {HOOK}", age=-100)        # the bot's token, the webhook's secret
        async with trio.open_nursery() as nursery:
            nursery.start_soon(hub.dispatch, BOT, cut)
            await entered.wait()
            nursery.cancel_scope.cancel()
        (left,) = CommandsInHand(engine.database).cut()
        assert (left.update_id, left.command.command) == (cut["update_id"], "/enable *** ***")   # never kept
        obeyed = []

        async def counting(update, username=None):
            obeyed.append(update)
            return []

        hub.commands.handle = counting
        assert await hub.dispatch(BOT, cut)          # posted again (no answer came): not obeyed, still in hand
        assert obeyed == [] and len(CommandsInHand(engine.database).cut()) == 1


def _held(server, text: str) -> list:
    """The sendMessage requests holding ``text`` that the stand-in has, and has not answered (``hang``)."""
    return [r for r in server.calls("sendMessage", TOKEN) if r.status is None and text in str(r.params.get("text"))]


async def test_a_command_obeyed_stays_in_hand_until_telegram_took_the_last_of_its_answers(tmp_path):
    # Crossed off as soon as obeyed, its answers only queued: a kill before Telegram took them, and the admin
    # heard nothing at all. Two answers here, the first a button's answer alone (no text, no sendMessage).
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            hub = HUBS[engine]

            async def obeys(update, username=None):
                return [Reply(ADMIN, "", callback_query_id="pressed", callback_text="Done"), Reply(ADMIN, "two")]

            hub.commands.handle = obeys
            server.hang()                                    # sendMessage held, unanswered
            server.push_message(TOKEN, ADMIN, "/pause")
            await until(lambda: _held(server, "two"))         # the first answer taken: the second on its way
            (left,) = CommandsInHand(engine.database).cut()
            assert left.obeyed and left.command.command == "/pause"
            server.release()
            await until(lambda: CommandsInHand(engine.database).cut() == [])     # the last taken: crossed off
            assert [m.text for m in server.messages(TOKEN, ADMIN)][-1] == "two"

            server.refuse("refused")                         # an answer Telegram refuses for good
            hub.commands.handle = lambda update, username=None: _answers(Reply(ADMIN, "refused"))
            server.push_message(TOKEN, ADMIN, "/resume")
            await until(lambda: [r for r in server.calls("sendMessage", TOKEN) if r.status == 400])
            await until(lambda: CommandsInHand(engine.database).cut() == [])     # given up, logged: no more said
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            server.push_message(TOKEN, ADMIN, "/status")      # the run's first command: answered after any word
            await until(lambda: "moonhook" in server.messages(TOKEN, ADMIN)[-1].text)
    assert not [m for m in server.messages(TOKEN, ADMIN) if "stopped" in m.text]


async def _answers(*replies: Reply) -> list[Reply]:
    return list(replies)


async def test_an_answer_still_held_when_the_stop_gives_up_is_told_done_at_the_next_start_once(tmp_path):
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            server.hang()
            server.push_message(TOKEN, ADMIN, "/pause")
            await until(lambda: _held(server, "Paused"))
            assert engine.paused and [c.obeyed for c in CommandsInHand(engine.database).cut()] == [True]
        # the stop waited its timeout for the answer, then cancelled it: still in hand, obeyed
        server.stop()                                        # the held sendMessage cut, never carried out
        server.release()
        await server.start()

        def told() -> list[str]:
            return [t for t in (html_plain(m.text) for m in server.messages(TOKEN, ADMIN)) if "finished" in t]

        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            await until(lambda: told() and CommandsInHand(engine.database).cut() == [])
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            server.push_message(TOKEN, ADMIN, "/status")
            await until(lambda: "moonhook" in server.messages(TOKEN, ADMIN)[-1].text)
    (text,) = told()
    assert text.startswith("ℹ moonhook finished /pause (received ") and "Paused" not in str(server.sent), text
    assert "then stopped before its answer was confirmed sent: /status shows whether moonhook is paused." in text


async def test_a_stop_lets_a_held_answer_go_and_then_crosses_its_command_off(tmp_path):
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            hub = HUBS[engine]
            server.hang()
            server.push_message(TOKEN, ADMIN, "/pause")
            await until(lambda: _held(server, "Paused"))
            async with trio.open_nursery() as nursery:
                nursery.start_soon(partial(hub.stop, timeout=HANG))
                await trio.testing.wait_all_tasks_blocked()   # the stop waits for the answer
                assert len(CommandsInHand(engine.database).cut()) == 1
                server.release()
            assert CommandsInHand(engine.database).cut() == []
    assert [m for m in server.messages(TOKEN, ADMIN) if html_plain(m.text).startswith("⏸ Paused")]
