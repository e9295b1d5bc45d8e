"""The Bot API client against the local stand-in (tests/support/botapi.py), over real HTTP."""

import httpx
import pytest
import trio

from engine.adapters.notify.limits import BotLimits, Limits
from engine.adapters.notify.bot import BotClient, RetryAfter, TelegramError, message_parts

from support.botapi import bot_api_server, html_plain, markdown_v2_plain

TOKEN = "123456:SECRET-part-of-the-token"


async def test_messages_go_out_escaped_and_split_as_telegram_accepts_them():
    async with bot_api_server({TOKEN: "moonhook_bot"}, chat_per_second=100, chat_burst=100) as server, \
            httpx.AsyncClient() as http:
        bot = BotClient(http, TOKEN, server.url)
        text = "EURUSD -1.5% (stop hit) [trend_up] done! a|b {x} #1 > 0 = ok ~ `q` \\ *"
        for mode in ("MarkdownV2", "HTML", None):
            for part in message_parts(text, mode):
                await bot.send_message(42, part, parse_mode=mode)
        shown = [markdown_v2_plain(m.text) if m.parse_mode == "MarkdownV2" else
                 html_plain(m.text) if m.parse_mode == "HTML" else m.text for m in server.messages(TOKEN, 42)]
        assert shown == [text] * 3                         # what the trader reads is what was meant
        long = "\n".join(f"{i}. fill at 1.0{i:03d}" for i in range(700))
        parts = message_parts(long, "MarkdownV2")
        for part in parts:
            await bot.send_message(-100777, part, parse_mode="MarkdownV2")
        assert len(parts) > 1 and len(server.messages(TOKEN, -100777)) == len(parts)


async def test_refusals_name_the_method_and_never_the_token():
    async with bot_api_server({TOKEN: "moonhook_bot"}, blocked=(13,)) as server, httpx.AsyncClient() as http:
        wrong = BotClient(http, "999:WRONG-token", server.url)
        with pytest.raises(TelegramError) as e:
            await wrong.send_message(42, "hi")
        assert e.value.code == 401 and "sendMessage: Unauthorized" in str(e.value) and "WRONG" not in str(e.value)
        bot = BotClient(http, TOKEN, server.url)
        with pytest.raises(TelegramError, match="blocked") as e:
            await bot.send_message(13, "hi")
        assert e.value.code == 403
        with pytest.raises(TelegramError, match="can't parse entities") as e:
            await bot.send_message(42, "1.5!", parse_mode="MarkdownV2")   # not escaped
        assert e.value.code == 400
        server.stop()                                                     # an outage
        with pytest.raises(TelegramError, match="Telegram unreachable") as e:
            await bot.send_message(42, "hi")
        assert e.value.code is None and "SECRET" not in str(e.value) and bot.name == "bot 123456"


async def test_a_429_says_how_long_and_our_limits_keep_telegram_from_saying_it():
    async with bot_api_server({TOKEN: "moonhook_bot"}, chat_burst=2, chat_per_second=20) as server, \
            httpx.AsyncClient() as http:
        bot = BotClient(http, TOKEN, server.url)
        with pytest.raises(RetryAfter) as e:
            for n in range(5):                                    # no limits of our own: a 429
                await bot.send_message(7, f"m{n}")
        assert e.value.seconds >= 1 and server.rate_limited(TOKEN) == 1
        await trio.sleep(e.value.seconds)
        limits = BotLimits(Limits(per_chat=20, chat_burst=1))  # a burst under its own: slack for jitter
        for n in range(12):                                       # within the limits: none refused
            await limits.acquire(8)
            await bot.send_message(8, f"k{n}")
        assert [m.text for m in server.messages(TOKEN, 8)] == [f"k{n}" for n in range(12)]
        assert server.rate_limited(TOKEN) == 1
