"""Who may command moonhook from Telegram (engine/notify/access.py, engine/notify/confirm.py): an admin is a
person, checked by the sender's user id, in their private chat or a group listed in ``command_chats``; a /close
is confirmed once, by the admin who asked, and only by what was sent after the question. On a real engine (real
sandbox workers, SQLite, the paper broker); updates are shaped as Telegram sends them."""

from __future__ import annotations

import logging
import time
from functools import partial

import httpx
import trio

from engine.app import Operations
from engine.interfaces.telegram.commands import Commands
from engine.domain.config.telegram import BotConfig, ChatConfig, TelegramConfig
from engine.adapters.notify.bot import BotClient
from engine.interfaces.telegram.updates import poll_updates, send_reply
from engine.adapters.storage.offsets import UpdateOffsets

from support.botapi import bot_api_server
from support.engine_support import process, running
from support.telegram_support import ADMIN, GROUP, ME, STRANGER, Chat, Clock, ask
from support.waits import HANG, until

SECOND_ADMIN = 4343
OTHER_GROUP = -1009999999999
TOKEN, BOT = "123456:SECRET-part-of-the-token", "123456"


def closes(engine) -> list[dict]:
    return [o for o in engine.ledger.recent() if o["kind"] == "close"]


async def test_the_engine_takes_commands_from_the_admins_in_a_listed_group_and_no_one_else(tmp_path):
    bots = (BotConfig(TOKEN, (ChatConfig(ADMIN, frozenset({"errors"})),)),)
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        config = TelegramConfig(api_url=server.url, bots=bots, admins=(ADMIN,), command_chats=(GROUP,))
        async with running(tmp_path, telegram=config) as engine:
            server.push_message(TOKEN, GROUP, "/pause", user_id=STRANGER, username="mallory")
            server.push_message(TOKEN, GROUP, "/status", user_id=ADMIN)
            await until(lambda: server.messages(TOKEN, GROUP))
            assert "running" in server.messages(TOKEN, GROUP)[0].text and not engine.paused
            server.push_message(TOKEN, GROUP, "/pause", user_id=ADMIN)
            await until(lambda: len(server.messages(TOKEN, GROUP)) == 2)
            assert engine.paused and server.messages(TOKEN, GROUP)[1].text.startswith("⏸")
            server.push_message(TOKEN, GROUP, "/resume", user_id=STRANGER)
            server.push_message(TOKEN, ADMIN, "/status")            # the admin's private chat, after it
            await until(lambda: any("paused" in m.text for m in server.messages(TOKEN, ADMIN)))
            assert engine.paused and len(server.messages(TOKEN, GROUP)) == 2   # the members get no answer


async def test_the_engine_obeys_a_command_addressed_to_its_bot_and_not_one_addressed_to_another(tmp_path):
    # A group where moonhook's bot reads every message (privacy mode off): /pause@other_bot is not for it.
    bots = (BotConfig(TOKEN, (ChatConfig(ADMIN, frozenset({"errors"})),)),)
    async with bot_api_server({TOKEN: ME}) as server:
        config = TelegramConfig(api_url=server.url, bots=bots, admins=(ADMIN,), command_chats=(GROUP,))
        async with running(tmp_path, telegram=config) as engine:
            server.push_message(TOKEN, GROUP, "/pause@other_bot", user_id=ADMIN)
            server.push_message(TOKEN, GROUP, "/status", user_id=ADMIN)         # handled after it, in order
            await until(lambda: server.messages(TOKEN, GROUP))
            assert not engine.paused and len(server.messages(TOKEN, GROUP)) == 1
            assert "running" in server.messages(TOKEN, GROUP)[0].text
            server.push_message(TOKEN, GROUP, f"/pause@{ME.upper()}", user_id=ADMIN)   # ours, in any case
            await until(lambda: len(server.messages(TOKEN, GROUP)) == 2)
            assert engine.paused and server.messages(TOKEN, GROUP)[1].text.startswith("⏸")
            assert len(server.calls("getMe", TOKEN)) == 1                          # learnt once, kept


async def test_a_group_member_who_is_not_an_admin_is_not_obeyed(tmp_path, caplog):
    clock = Clock()
    async with running(tmp_path, {"count": "function on_alert(a) end"}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands = Commands(Operations(engine), [ADMIN], command_chats=[GROUP], clock=clock)
        member = Chat(clock, GROUP, user="mallory", user_id=STRANGER)
        admin = Chat(clock, GROUP, user="trader", user_id=ADMIN)
        caplog.set_level(logging.WARNING, logger="moonhook.telegram")
        for text in ("/pause", "/disable count", "/close all", "/status", "/positions"):
            assert await commands.handle(member.say(text)) == [], text    # silence: nothing about the state
        assert not engine.paused and engine.plugins.get("count").enabled
        question = await ask(commands, admin.say("/close all"))
        assert await commands.handle(member.press(question)) == []        # Confirm, pressed by a member
        clock.now += 3
        assert await commands.handle(member.say("/close all")) == []      # the repeat, by a member
        assert len(await engine.broker.positions()) == 1 and closes(engine) == []
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any("/pause" in w and str(STRANGER) in w and "mallory" in w and "not an admin" in w for w in warnings)
        assert any("button close" in w and str(STRANGER) in w for w in warnings)
        done = await ask(commands, admin.press(question))                  # the admin who asked
        assert done.callback_text == "done" and await engine.broker.positions() == []


async def test_an_admin_is_obeyed_in_their_private_chat_and_in_listed_groups_only(tmp_path, caplog):
    clock = Clock()
    async with running(tmp_path) as engine:
        commands = Commands(Operations(engine), [ADMIN], command_chats=[GROUP], clock=clock)
        caplog.set_level(logging.WARNING, logger="moonhook.telegram")
        elsewhere = await ask(commands, Chat(clock, OTHER_GROUP, user_id=ADMIN).say("/pause"))
        assert "not taken in this chat" in elsewhere.text and not engine.paused
        assert any("not taken in chat" in r.getMessage() and str(OTHER_GROUP) in r.getMessage()
                   for r in caplog.records)
        assert (await ask(commands, Chat(clock, GROUP, user_id=ADMIN).say("/pause"))).text.startswith("⏸")
        assert (await ask(commands, Chat(clock).say("/resume"))).text.startswith("▶️")   # their private chat
        only_private = Commands(Operations(engine), [ADMIN], clock=clock)               # no group listed: none taken
        assert "not taken" in (await ask(only_private, Chat(clock, GROUP, user_id=ADMIN).say("/pause"))).text
        assert not engine.paused
        # A group listed among the admins (as chats were, before) grants nobody anything.
        as_before = Commands(Operations(engine), [GROUP], clock=clock)
        assert await as_before.handle(Chat(clock, GROUP, user_id=ADMIN).say("/pause")) == []
        assert await as_before.handle(Chat(clock, GROUP, user_id=STRANGER).say("/pause")) == []
        assert not engine.paused


async def test_a_message_on_behalf_of_a_chat_or_by_a_bot_is_not_obeyed(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        commands = Commands(Operations(engine), [ADMIN], command_chats=[GROUP], clock=clock)
        anonymous = Chat(clock, GROUP, user_id=ADMIN).say("/pause")        # an anonymous group admin
        anonymous["message"]["sender_chat"] = {"id": GROUP, "type": "supergroup"}
        # told why, in the command chat, not left to believe it paused (it was silence): anyone sending so is
        # one of the group's admins, and hears only what they could have read in moonhook's docs
        assert "Sent anonymously" in (await ask(commands, anonymous)).text
        elsewhere = Chat(clock, -1009, user_id=ADMIN).say("/pause")          # in a group where commands are not taken
        elsewhere["message"]["sender_chat"] = {"id": -1009, "type": "supergroup"}
        channel = Chat(clock, GROUP, user_id=ADMIN).say("/pause")            # a channel writing in the group
        channel["message"]["sender_chat"] = {"id": -1007, "type": "channel"}
        assert await commands.handle(elsewhere) == [] and await commands.handle(channel) == []
        bot = Chat(clock, GROUP, user_id=ADMIN).say("/pause")
        bot["message"]["from"]["is_bot"] = True
        assert await commands.handle(bot) == []
        nobody = Chat(clock, GROUP, user_id=ADMIN).say("/pause")             # a group message names its sender
        del nobody["message"]["from"]
        assert await commands.handle(nobody) == []
        assert not engine.paused
        private = Chat(clock).say("/pause")        # a private chat is its person: the chat's id is theirs
        del private["message"]["from"]
        assert (await ask(commands, private)).text.startswith("⏸")


def forwarded(update: dict, origin: dict) -> dict:
    """``update``, its message forwarded by its sender from ``origin`` (as Telegram marks a forward)."""
    update["message"]["forward_origin"] = {"date": update["message"]["date"] - 86400, **origin}
    return update


async def test_a_forwarded_command_is_not_obeyed_nor_confirms_a_close(tmp_path):
    # A forward carries words someone else wrote, or the admin wrote at another time: Telegram dates it
    # when forwarded, so it is neither too old to run nor older than the question it would confirm.
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands, admin = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        stranger = {"type": "user", "sender_user": {"id": STRANGER, "is_bot": False, "first_name": "mallory"}}
        refused = await ask(commands, forwarded(admin.say("/pause"), stranger))
        assert "forwarded" in refused.text and not engine.paused
        question = await ask(commands, admin.say("/close all"))
        clock.now += 3
        own = {"type": "user", "sender_user": {"id": ADMIN, "is_bot": False, "first_name": "trader"}}
        assert "forwarded" in (await ask(commands, forwarded(admin.say("/close all"), own))).text
        channel = {"type": "channel", "chat": {"id": -100777, "type": "channel"}, "message_id": 9}
        assert "forwarded" in (await ask(commands, forwarded(admin.say("/close all"), channel))).text
        assert len(await engine.broker.positions()) == 1 and closes(engine) == []
        assert (await ask(commands, admin.press(question))).callback_text == "done"   # the question still stands
        assert await engine.broker.positions() == []


async def test_only_the_admin_who_asked_confirms_a_close(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands = Commands(Operations(engine), [ADMIN, SECOND_ADMIN], command_chats=[GROUP], clock=clock)
        first, second = Chat(clock, GROUP, user_id=ADMIN), Chat(clock, GROUP, user_id=SECOND_ADMIN)
        question = await ask(commands, first.say("/close all"))
        other = await ask(commands, second.press(question))
        assert other.callback_text == "asked by another admin" and other.text == ""
        clock.now += 3
        own = await ask(commands, second.say("/close all"))     # not a confirmation of the first's: a question
        assert own.reply_markup is not None and len(await engine.broker.positions()) == 1
        assert (await ask(commands, first.press(question))).callback_text == "done"
        assert await engine.broker.positions() == [] and len(closes(engine)) == 1


async def test_copies_of_a_close_queued_while_down_do_not_confirm_each_other(tmp_path):
    # Sent 20 s and 19 s before the engine read them (it was down; both younger than max_age): the second
    # predates the question the first one asked, and the engine's start, so it confirms nothing.
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "buy USDJPY volume=0.1 price=150")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        first, copy = chat.say("/close all", age=20), chat.say("/close all", age=19)
        assert (await ask(commands, first)).reply_markup is not None
        again = await ask(commands, copy)
        assert again.reply_markup is not None and "Close 2 positions?" in again.text   # asked, not done
        assert len(await engine.broker.positions()) == 2 and closes(engine) == []
        clock.now += 2
        done = await ask(commands, chat.say("/close all"))          # sent after the question: confirms
        assert "EURUSD: closed" in done.text and await engine.broker.positions() == []


async def test_a_question_telegram_did_not_take_is_not_confirmed_by_the_command_sent_again(tmp_path):
    # The question's sendMessage was cut by an outage: the admin saw no answer and sent /close all again,
    # as one does with what seemed lost. That repeat closed every position, the question never seen.
    bots = (BotConfig(TOKEN, (ChatConfig(ADMIN, frozenset({"errors"})),)),)
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        config = TelegramConfig(api_url=server.url, bots=bots, admins=(ADMIN,))
        async with running(tmp_path, telegram=config) as engine:
            await process(engine, "buy EURUSD volume=0.1 price=1.1")
            server.hang()
            server.push_message(TOKEN, ADMIN, "/close all")
            await until(lambda: any(r.status is None for r in server.calls("sendMessage")))  # the question, held
            asked = time.time()
            server.stop()                                    # cut: its answer never comes
            server.release()
            await server.start()
            await until(lambda: int(time.time()) > asked)    # the repeat is dated after the question
            server.push_message(TOKEN, ADMIN, "/close all")
            await until(lambda: server.messages(TOKEN, ADMIN))
            (shown,) = server.messages(TOKEN, ADMIN)
            assert "Close 1 position?" in shown.text and shown.reply_markup is not None   # asked anew
            assert len(await engine.broker.positions()) == 1 and closes(engine) == []
            server.push_callback(TOKEN, ADMIN, shown.reply_markup["inline_keyboard"][0][0]["callback_data"])
            await until(lambda: closes(engine))
            assert await engine.broker.positions() == []


async def test_a_repeat_counts_from_telegrams_date_of_the_question(tmp_path):
    # The engine's clock is 30 s behind Telegram's: by it, a copy sent while moonhook was down looks
    # younger than the question. Telegram's date for the question message (sendMessage's answer) decides.
    async with running(tmp_path) as engine, bot_api_server({TOKEN: "moonhook_bot"}) as server, \
            httpx.AsyncClient() as http:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        bot = BotClient(http, TOKEN, server.url)
        commands, handled = Commands(Operations(engine), [ADMIN], clock=lambda: time.time() - 30), []

        async def handle(update, noted):
            for reply in await commands.handle(update):
                await send_reply(bot, reply)
            handled.append(update["update_id"])

        now = int(time.time())
        server.push_message(TOKEN, ADMIN, "/close EURUSD", date=now - 10)   # queued while down
        server.push_message(TOKEN, ADMIN, "/close EURUSD", date=now - 9)
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(poll_updates, bot, UpdateOffsets(engine.database), BOT, handle,
                                        timeout=1, backoff=0.02, max_backoff=0.05))
            with trio.fail_after(HANG):
                while len(handled) < 2:
                    await trio.sleep(0.005)
            questions = server.messages(TOKEN, ADMIN)
            assert [m.reply_markup is not None for m in questions] == [True, True]
            assert len(await engine.broker.positions()) == 1 and closes(engine) == []
            server.push_message(TOKEN, ADMIN, "/close EURUSD", date=int(time.time()) + 1)   # after it
            with trio.fail_after(HANG):
                while len(handled) < 3:
                    await trio.sleep(0.005)
            assert "EURUSD: closed 1 position" in server.messages(TOKEN, ADMIN)[-1].text
            assert await engine.broker.positions() == [] and len(closes(engine)) == 1
            nursery.cancel_scope.cancel()


async def test_two_presses_at_once_close_once(tmp_path):
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "buy GBPUSD volume=0.1 price=1.3")
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        replies = []

        async def dispatch(update):
            replies.extend(await commands.handle(update))

        async def at_once(*updates):
            replies.clear()
            async with trio.open_nursery() as nursery:
                for update in updates:
                    nursery.start_soon(dispatch, update)

        question = await ask(commands, chat.say("/close all"))
        await at_once(chat.press(question), chat.press(question))           # two taps, handled together
        assert sorted(r.callback_text for r in replies) == ["already done", "done"]
        assert await engine.broker.positions() == []
        assert sorted(o["request"]["symbol"] for o in closes(engine)) == ["EURUSD", "GBPUSD"]   # each once

        await process(engine, "buy USDJPY volume=0.1 price=150")
        question = await ask(commands, chat.say("/close all"))
        clock.now += 2
        await at_once(chat.press(question), chat.say("/close all"))         # a tap and a repeat together
        assert await engine.broker.positions() == []
        assert [o["request"]["symbol"] for o in closes(engine)].count("USDJPY") == 1


async def test_a_command_to_another_bot_neither_runs_nor_confirms_ours(tmp_path):
    # In a group where our bot sees every message: another bot's /pause is not ours, nor is the repeat that
    # confirms another bot's /close question.
    clock = Clock()
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        commands = Commands(Operations(engine), [ADMIN], command_chats=[GROUP], clock=clock)
        group = Chat(clock, GROUP, user_id=ADMIN)

        async def to(update, me=ME):
            return await commands.handle(update, bot_username=me)

        assert await to(group.say("/pause@demo_bot")) == [] and not engine.paused
        question = await to(group.say("/close all"))
        assert question[0].reply_markup is not None
        question[0].on_sent({"date": int(clock.now)})                      # Telegram took the question
        clock.now += 3
        assert await to(group.say("/close@demo_bot all")) == []           # the other bot's: confirms nothing
        assert len(await engine.broker.positions()) == 1 and closes(engine) == []
        assert await to(group.say("/close@Moonhook_Bot all"), me=None) == []   # ours, but our name is unknown
        assert await to(group.say("/pause@moonhook_bot"), me=None) == [] and not engine.paused
        done = await to(group.say("/close@MOONHOOK_BOT all"))              # ours: confirms
        assert "EURUSD: closed" in done[0].text and await engine.broker.positions() == []
        assert (await to(group.say("/pause"), me=None))[0].text.startswith("⏸")   # no suffix: ours
