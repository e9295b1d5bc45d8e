"""The Bot API client (engine/adapters/notify/bot.py). Against the local stand-in
(tests/support/botapi.py) over real HTTP where Telegram's side is the point: what it accepts,
its refusals, its rate limit. On httpx.MockTransport for the client's own rules: the requests it
builds, the errors it raises from each kind of answer, the token kept out of errors and logs."""

import json
import logging

import httpx
import pytest
import trio

from engine.adapters.notify.limits import BotLimits, Limits
from engine.adapters.notify.bot import ME_RETRY, Bot, BotClient, RetryAfter, TelegramError, message_parts
from engine.domain.config.telegram import BotConfig

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


async def test_a_429_says_how_long_and_our_limits_keep_telegram_from_saying_it(mock_clock):
    # The burst goes out on the stand-in's clock (trio's) standing still: on real time a loaded machine spaced the
    # five sends past what 2 at once and 20 a second let through, and none was refused. Our limits run on it after.
    async with bot_api_server({TOKEN: "moonhook_bot"}, chat_burst=2, chat_per_second=20) as server, \
            httpx.AsyncClient() as http:
        bot = BotClient(http, TOKEN, server.url)
        with pytest.raises(RetryAfter) as e:
            for n in range(5):                                    # no limits of our own: a 429
                await bot.send_message(7, f"m{n}")
        assert e.value.seconds >= 1 and server.rate_limited(TOKEN) == 1
        mock_clock.jump(e.value.seconds)
        mock_clock.rate = 1.0                                     # real time from here: our limits pace the sends
        limits = BotLimits(Limits(per_chat=20, chat_burst=1))  # a burst under its own: slack for jitter
        for n in range(12):                                       # within the limits: none refused
            await limits.acquire(8)
            await bot.send_message(8, f"k{n}")
        assert [m.text for m in server.messages(TOKEN, 8)] == [f"k{n}" for n in range(12)]
        assert server.rate_limited(TOKEN) == 1


# -- the client's own rules, on httpx.MockTransport: Telegram answers exactly what each test says ----

API = "https://telegram.test/"
URL = f"https://telegram.test/bot{TOKEN}/sendMessage"


def answering(*answers: httpx.Response | Exception) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """An httpx client whose every request gets the next of ``answers`` (an exception is raised
    as the transport would raise it), and the list of the requests it was sent."""
    sent: list[httpx.Request] = []
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            answer.request = request
            raise answer
        return answer

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), sent


def refused(status: int, description: str, **fields) -> httpx.Response:
    return httpx.Response(status, json={"ok": False, "error_code": status, "description": description, **fields})


async def test_a_call_posts_its_params_as_json_to_the_bots_method_url_leaving_out_none():
    http, sent = answering(httpx.Response(200, json={"ok": True, "result": {"message_id": 9}}),
                           httpx.Response(200, json={"ok": True, "result": []}))
    async with http:
        bot = BotClient(http, TOKEN, API, timeout=10.0)
        assert await bot.send_message(42, "hi") == {"message_id": 9}
        assert await bot.call("getUpdates", http_timeout=35.0, offset=5, timeout=30, allowed_updates=None) == []
    first, second = sent
    assert (first.method, str(first.url), json.loads(first.content)) == ("POST", URL, {"chat_id": 42, "text": "hi"})
    assert first.headers["content-type"] == "application/json" and first.extensions["timeout"]["read"] == 10.0
    assert str(second.url).endswith("/getUpdates") and json.loads(second.content) == {"offset": 5, "timeout": 30}
    assert second.extensions["timeout"]["read"] == 35.0    # a long poll outwaits Telegram's own timeout


async def test_a_refusal_raises_telegrams_code_and_description_and_says_if_retrying_is_useless():
    http, _ = answering(refused(400, "Bad Request: chat not found"), refused(403, "Forbidden: bot was blocked"),
                        refused(500, "Internal Server Error"),
                        httpx.Response(200, json={"ok": False, "error_code": 404, "description": "Not Found"}),
                        httpx.Response(502, json={"ok": False}))
    async with http:
        bot = BotClient(http, TOKEN, API)
        errors = []
        for _ in range(5):
            with pytest.raises(TelegramError) as e:
                await bot.send_message(42, "hi")
            errors.append(e.value)
    assert [(str(e), e.code, e.permanent, e.maybe_done) for e in errors] == [
        ("sendMessage: Bad Request: chat not found", 400, True, False),
        ("sendMessage: Forbidden: bot was blocked", 403, True, False),
        ("sendMessage: Internal Server Error", 500, False, True),   # a 5xx may come after it was done
        ("sendMessage: Not Found", 404, False, False),   # the Bot API's error_code: no bot there (setup), no fault of it
        ("sendMessage: HTTP 502", 502, False, True)]


async def test_a_429_is_retry_after_for_as_long_as_telegram_says_else_a_second():
    http, _ = answering(refused(429, "Too Many Requests: retry after 7", parameters={"retry_after": 7}),
                        refused(429, "Too Many Requests"),
                        refused(429, "Too Many Requests", parameters={"retry_after": "soon"}))
    async with http:
        bot = BotClient(http, TOKEN, API)
        waits = []
        for _ in range(3):
            with pytest.raises(RetryAfter) as e:
                await bot.send_message(42, "hi")
            assert e.value.code == 429 and not e.value.permanent
            waits.append(e.value.seconds)
    assert waits == [7.0, 1.0, 1.0]


async def test_an_answer_that_is_not_the_bot_apis_says_whether_the_request_may_have_been_carried_out():
    http, _ = answering(httpx.Response(502, text="<html>Bad Gateway</html>"),
                        httpx.Response(404, text="<html>Not Found</html>"))
    async with http:
        bot = BotClient(http, TOKEN, API)
        with pytest.raises(TelegramError) as gateway:
            await bot.send_message(42, "hi")
        with pytest.raises(TelegramError) as missing:
            await bot.send_message(42, "hi")
    assert (str(gateway.value), gateway.value.code) == ("sendMessage: HTTP 502 without a Bot API answer", 502)
    assert gateway.value.maybe_done and not missing.value.maybe_done   # a 5xx may have been done, a 404 was not


async def test_unreachable_says_whether_the_request_went_out_and_no_error_shows_the_token():
    http, _ = answering(httpx.ConnectError(f"cannot connect to {URL}"),
                        httpx.ReadTimeout(f"no answer from {URL}"),
                        refused(401, f"Unauthorized: {TOKEN} is not a bot " + "x" * 400))
    async with http:
        bot = BotClient(http, TOKEN, API)
        errors = []
        for _ in range(3):
            with pytest.raises(TelegramError) as e:
                await bot.send_message(42, "hi")
            errors.append(e.value)
    never, maybe, echoed = errors
    assert (never.code, never.maybe_done, maybe.code, maybe.maybe_done) == (None, False, None, True)
    assert str(never).startswith("sendMessage: Telegram unreachable (ConnectError: cannot connect to")
    assert str(echoed).startswith("sendMessage: Unauthorized: *** is not a bot") and len(str(echoed)) <= 313
    assert not [e for e in errors if "SECRET" in str(e) or TOKEN in str(e)]


async def test_the_http_log_shows_the_bots_id_and_never_its_token(caplog):
    caplog.set_level(logging.INFO, logger="httpx")
    http, _ = answering(httpx.Response(200, json={"ok": True, "result": True}))
    async with http:
        await BotClient(http, TOKEN, API).call("deleteWebhook")
    assert "/bot123456:***/deleteWebhook" in caplog.text and "SECRET" not in caplog.text


async def test_the_bots_username_is_learnt_once_and_a_failed_getme_is_logged_once_and_tried_later(
        autojump_clock, caplog):
    caplog.set_level(logging.DEBUG, logger="moonhook.telegram")
    me = httpx.Response(200, json={"ok": True, "result": {"id": 123456, "is_bot": True, "first_name": "moonhook",
                                                          "username": "moonhook_bot"}})
    http, sent = answering(refused(500, f"Internal Server Error {TOKEN}"), httpx.ConnectError("down"), me)
    async with http:
        bot = Bot(BotConfig(TOKEN), http, API)
        assert await bot.username() is None and await bot.username() is None   # the second waits: no getMe
        assert len(sent) == 1
        await trio.sleep(ME_RETRY)
        assert await bot.username() is None and len(sent) == 2
        await trio.sleep(ME_RETRY)
        assert await bot.username() == "moonhook_bot" and await bot.username() == "moonhook_bot"
    assert [str(r.url).rsplit("/", 1)[1] for r in sent] == ["getMe"] * 3        # learnt, then kept
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "bot 123456: its username is unknown" in warnings[0]   # said once
    assert "SECRET" not in caplog.text
