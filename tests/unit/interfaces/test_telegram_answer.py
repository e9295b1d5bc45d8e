"""A command's answer sent within telegram.command_max_age (engine/interfaces/telegram/answer.py), over real
HTTP to the Bot API stand-in (tests/support/botapi.py): 429s and 5xx waited out until the deadline, then
dropped with a line in the log, never silently; one that may have arrived is sent again marked so."""

from __future__ import annotations

import logging

import httpx
import trio

from engine.adapters.notify.bot import Bot
from engine.adapters.notify.courier import RESENT
from engine.domain.config.telegram import BotConfig, ChatConfig
from engine.interfaces.telegram.answer import send_answer
from engine.interfaces.telegram.commands import Reply

from support.botapi import bot_api_server
from support.waits import until

TOKEN = "5150:answer-SECRET"
ADMIN = 4242


async def test_an_answer_telegram_keeps_refusing_with_429_is_dropped_at_its_deadline_and_logged(caplog):
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, httpx.AsyncClient() as http:
        bot = Bot(BotConfig(TOKEN, (ChatConfig(ADMIN),)), http, server.url)
        server.flood(3600, retry_after=1)
        with caplog.at_level(logging.WARNING, "moonhook.telegram"):
            sent = await send_answer(bot, Reply(ADMIN, "closed EURUSD"), trio.current_time() + 2.5)
        assert sent is False and server.messages() == [] and server.rate_limited(TOKEN) >= 1
        assert "within telegram.command_max_age" in caplog.text and "closed EURUSD" in caplog.text


async def test_an_answer_still_waiting_when_moonhook_stops_is_said_dropped_in_the_log(caplog):
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, httpx.AsyncClient() as http:
        bot = Bot(BotConfig(TOKEN, (ChatConfig(ADMIN),)), http, server.url)
        server.flood(3600, retry_after=3600)
        with caplog.at_level(logging.WARNING, "moonhook.telegram"):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(send_answer, bot, Reply(ADMIN, "closed EURUSD"), trio.current_time() + 7200)
                # The bot's pause is the 429 read by the sender (the server counting it is not: on a loaded machine
                # the stop came before the answer was read, and nothing had failed yet); an hour's, so it lasts.
                await until(lambda: bot.limits.paused)
                nursery.cancel_scope.cancel()
        assert "moonhook stops" in caplog.text and "closed EURUSD" in caplog.text


async def test_an_answer_refused_for_good_is_dropped_at_once_and_logged(caplog):
    async with bot_api_server({TOKEN: "moonhook_bot"}, missing={ADMIN}) as server, httpx.AsyncClient() as http:
        bot = Bot(BotConfig(TOKEN, (ChatConfig(ADMIN),)), http, server.url)
        with caplog.at_level(logging.WARNING, "moonhook.telegram"):
            assert await send_answer(bot, Reply(ADMIN, "closed EURUSD"), trio.current_time() + 3600) is False
        assert len(server.calls("sendMessage")) == 1 and "chat not found" in caplog.text


async def test_an_answer_answered_502_is_sent_again_marked_as_it_may_have_arrived():
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, httpx.AsyncClient() as http:
        bot = Bot(BotConfig(TOKEN, (ChatConfig(ADMIN),)), http, server.url)
        server.fail(502, delivered=True)
        async with trio.open_nursery() as nursery:
            nursery.start_soon(send_answer, bot, Reply(ADMIN, "closed EURUSD"), trio.current_time() + 3600)
            await until(lambda: 502 in [r.status for r in server.calls("sendMessage")])
            server.recover()
        assert [m.text for m in server.messages()] == ["closed EURUSD", RESENT + "closed EURUSD"]
