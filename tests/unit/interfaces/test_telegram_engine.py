"""Telegram wired into a running engine: trades told to the chats, admin commands answered,
nothing lost across an outage and a restart, the alert path untouched while Telegram hangs,
and updates by webhook through the real web server. The Bot API is the local stand-in."""

from __future__ import annotations

import logging
import time

import httpx
import trio

from engine.adapters.notify.bot import BotClient
from engine.domain.config import ServerConfig
from engine.domain.config.telegram import BotConfig, ChatConfig, TelegramConfig
from engine.domain.orders import OrderRequest, OrderResult

from support.botapi import bot_api_server, html_plain
from support.engine_support import HUBS, process, running, submit
from support.fakes import FakeBroker
from support.telegram_support import notices
from support.waits import HANG, until
from support.web_support import serving

TOKEN = "5150:engine-bot-SECRET-part"
ADMIN, WATCHER, STRANGER = 42, 43, 666


def telegram(url: str, **options) -> TelegramConfig:
    chats = (ChatConfig(ADMIN), ChatConfig(WATCHER, frozenset({"trades"})))
    return TelegramConfig(api_url=url, bots=(BotConfig(TOKEN, chats),), admins=(ADMIN,), **options)


def texts(server, chat: int) -> list[str]:
    return [html_plain(m.text) for m in server.messages(TOKEN, chat)]


async def test_trades_reach_the_chats_and_an_admin_commands_while_a_stranger_is_ignored(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, \
            running(tmp_path, telegram=telegram(server.url)) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await until(lambda: any("opened buy 0.1 EURUSD" in t for t in texts(server, WATCHER)))
        await until(lambda: any("opened buy 0.1 EURUSD" in t for t in texts(server, ADMIN)))

        server.push_message(TOKEN, STRANGER, "/pause")
        server.push_message(TOKEN, ADMIN, "/status")
        await until(lambda: any("running" in t.lower() for t in texts(server, ADMIN)[1:]))
        assert not engine.paused and server.messages(TOKEN, STRANGER) == []
        server.push_message(TOKEN, ADMIN, "/pause")
        await until(lambda: engine.paused)
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=later")
        assert row["status"] == "paused"
    assert any(str(STRANGER) in r.getMessage() for r in caplog.records if r.levelno == logging.WARNING)
    # the token's secret part is in every URL the client calls, and in no log line
    assert not any("SECRET" in r.getMessage() for r in caplog.records)


async def test_an_outage_and_a_restart_lose_nothing_and_send_nothing_twice(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="moonhook.telegram")

    def tried(chat: int) -> bool:
        return any(f"chat {chat} tries again" in r.getMessage() for r in caplog.records)

    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        server.stop()
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            await process(engine, "buy EURUSD volume=0.1 price=1.1 id=one")
            await process(engine, "closeall id=two")
            await until(lambda: engine.database.db.execute(
                "SELECT count(*) FROM telegram_deliveries").fetchone()[0] >= 4)
            await until(lambda: tried(ADMIN) and tried(WATCHER))  # the courier has tried, and failed to connect
        await server.start()
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            await until(lambda: any("closed" in t for t in texts(server, WATCHER)))
            await process(engine, "buy GBPUSD volume=0.2 price=1.3 id=three")
            await until(lambda: any("GBPUSD" in t for t in texts(server, WATCHER)))
            # A later message through the same chat: messages are routed in the outbox's order and
            # a chat's go out in order, so a second sending of any before it is out by then.
            await process(engine, "buy USDJPY volume=0.1 price=150 id=four")
            await until(lambda: any("USDJPY" in t for t in texts(server, WATCHER)))
        told = notices(texts(server, WATCHER))  # the restart sends both EURUSD notices in one message
        assert [t.split(" @ ")[0] for t in told if "EURUSD" in t] == ["opened buy 0.1 EURUSD",
                                                                    "position 1001 buy 0.1 EURUSD closed by close"]
        assert sum("GBPUSD" in t for t in told) == 1


async def test_turning_telegram_on_sends_no_backlog_from_before(tmp_path):
    """Without [telegram] the outbox still records what would have been told, but nothing
    delivers it: turned on weeks later, Telegram must not bring all that old news."""
    async with running(tmp_path) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=before")
        await until(lambda: engine.database.db.execute(
            "SELECT count(*) FROM outbox WHERE text LIKE 'opened%'").fetchone()[0] == 1)
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            await process(engine, "buy GBPUSD volume=0.2 price=1.3 id=after")
            # The outbox is routed in its order and a chat's messages go out in order: had the
            # older message been routed, it would have reached the chat before this one.
            await until(lambda: any("GBPUSD" in t for t in texts(server, WATCHER)))
        told = texts(server, WATCHER)
    assert not any("EURUSD" in t for t in told), told


async def test_alerts_are_processed_as_usual_while_telegram_hangs(tmp_path):
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        server.hang()
        async with running(tmp_path, telegram=telegram(server.url), dedup_window=0) as engine:
            for n in range(20):
                side = "buy" if n % 2 else "sell"
                await submit(engine, f"{side} EURUSD volume=0.1 price=1.1 id=h{n}")
            # 20 alerts take well under a second; 30 s leave a busy machine room, and alerts that
            # waited on the hung Telegram (until it is released, or a send's timeout each) would not.
            with trio.fail_after(HANG):
                await engine.drain()  # every alert done ...
            hung = [r for r in server.calls("sendMessage") if r.status is None]
            assert hung and server.sent == []  # ... while every send is still waiting on Telegram
            assert all(r["status"] == "done" for r in engine.journal.recent(20))
            server.release()


async def test_updates_by_webhook_through_the_web_server(tmp_path):
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        config = telegram(server.url, webhook_url="https://moonhook.example.org", webhook_secret="hook-Secret_1")
        async with running(tmp_path, telegram=config) as engine, \
                serving(engine, ServerConfig(host="127.0.0.1", port=0, secret="s")) as client:
            await until(lambda: server.webhook(TOKEN) is not None)
            hook = server.webhook(TOKEN)
            assert hook["url"] == "https://moonhook.example.org/telegram/5150"
            assert hook["secret_token"] == "hook-Secret_1"
            assert hook["allowed_updates"] == ["message", "edited_message", "callback_query"]
            update = {"update_id": 1, "message": {"message_id": 1, "date": int(time.time()),
                                                  "chat": {"id": ADMIN, "type": "private"}, "text": "/help"}}
            wrong = await client.post("/telegram/5150", json=update,
                                      headers={"X-Telegram-Bot-Api-Secret-Token": "guess"})
            assert wrong.status_code == 401 and server.messages(TOKEN, ADMIN) == []
            ok = await client.post("/telegram/5150", json=update,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": "hook-Secret_1"})
            assert ok.status_code == 200
            await until(lambda: any("/status" in t for t in texts(server, ADMIN)))
            unknown = await client.post("/telegram/999", json=update,
                                        headers={"X-Telegram-Bot-Api-Secret-Token": "hook-Secret_1"})
            assert unknown.status_code == 404
            for body in (b"[" * 5_000, b'{"update_id": "\xff"}'):  # past the parser's depth; not UTF-8
                unreadable = await client.post("/telegram/5150", content=body,
                                               headers={"X-Telegram-Bot-Api-Secret-Token": "hook-Secret_1"})
                assert unreadable.status_code == 400, unreadable.text  # not a 500 and a traceback
            assert server.calls("getUpdates") == []  # no polling beside a webhook


async def test_without_telegram_no_client_runs_and_the_route_is_absent(tmp_path):
    async with running(tmp_path) as engine, serving(engine, ServerConfig(host="127.0.0.1", port=0, secret="s")) as c:
        assert not engine.notifier.delivered  # no courier
        assert (await c.post("/telegram/5150", json={})).status_code == 404


async def test_the_answer_to_a_cancel_of_many_orders_is_shown_and_shows_what_was_not_done(tmp_path):
    # 200 orders a line each outgrow Telegram's 4096 characters: the answer was refused, the question
    # stayed on screen with its buttons, and the order the broker refused was told nowhere.
    orders = [{"ticket": 5000 + n, "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": 0.01,
               "price": 1.0, "plugin": "grid"} for n in range(200)]

    def answer(request: OrderRequest) -> OrderResult:
        return OrderResult.refused("market closed") if request.ticket == 5150 else broker.filled(request)
    broker = FakeBroker(orders=orders, answer=answer)
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, \
            running(tmp_path, telegram=telegram(server.url), use_broker=broker):
        server.push_message(TOKEN, ADMIN, "/cancel all")
        await until(lambda: any(m.reply_markup for m in server.shown(TOKEN, ADMIN)))
        question = next(m for m in server.shown(TOKEN, ADMIN) if m.reply_markup)
        server.push_callback(TOKEN, ADMIN, question.reply_markup["inline_keyboard"][0][0]["callback_data"])
        await until(lambda: any(r.status is not None for r in server.calls("editMessageText")))
        assert [r.status for r in server.calls("editMessageText")] == [200]     # not "message is too long"
        (answered,) = [m for m in server.shown(TOKEN, ADMIN) if m.message_id == question.message_id]
        shown = html_plain(answered.text).splitlines()
        assert shown[:2] == ["/cancel all", "order 5150: NOT cancelled: market closed"], shown[:3]
        assert shown[-1].startswith("… and ") and shown[-1].endswith("more: /orders shows what is pending")
        assert len(shown) - 3 + int(shown[-1].split()[2]) == 199      # every other order counted
        assert len([r for r in broker.executed if r.kind == "close"]) == 200


async def test_an_answer_still_queued_at_the_stop_is_sent_before_the_hub_stops(tmp_path):
    # Answers go off the command path (telegram/answer.py): a stop right after a command, its answer held
    # by a 429's pause, lets the answer go within the stop's timeout rather than cancel it unsent.
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server:
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            hub = HUBS[engine]
            (bot,) = hub.bots.values()
            bot.limits.pause(3.0)   # Telegram asked to wait: the answer is still queued when the stop begins
            await hub._handle(bot, {"update_id": 1, "message": {"message_id": 1, "date": int(time.time()),
                                                                "chat": {"id": ADMIN, "type": "private"},
                                                                "from": {"id": ADMIN}, "text": "/pause"}}, None)
            assert engine.paused and texts(server, ADMIN) == []
            await hub.stop(timeout=HANG)
        assert any(t.startswith("⏸ Paused") for t in texts(server, ADMIN)), texts(server, ADMIN)


async def test_the_webhook_held_alarm_is_sent_off_the_poll_so_a_slow_telegram_holds_no_command(tmp_path):
    # The poll awaited hub.alarm's sends, each tried for up to command_max_age (120 s): the webhook deleted
    # meanwhile, the next getUpdates waited behind the alarm's hung send, and the commands with it.
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, httpx.AsyncClient() as http:
        held = BotClient(http, TOKEN, server.url)
        await held.call("setWebhook", url="https://another.example.org/telegram/5150")
        server.hang()
        async with running(tmp_path, telegram=telegram(server.url)) as engine:
            await until(lambda: any(r.status == 409 for r in server.calls("getUpdates")))   # the alarm is due
            await held.call("deleteWebhook")
            server.push_message(TOKEN, ADMIN, "/pause")
            await until(lambda: engine.paused)   # obeyed while Telegram holds every send
            assert server.sent == []
            server.release()
            await until(lambda: any("no command reaches this moonhook" in t for t in texts(server, ADMIN)))


BLANK = """
function on_alert(a)
  if a.comment == 'say' then notify.send(' \\n\\t ') end
  if a.comment == 'no' then return false, '   ' end
end"""


async def test_a_notice_of_whitespace_only_is_never_sent_and_what_made_it_is_told(tmp_path, caplog):
    # Telegram refuses a message of whitespace only (400 "message text is empty"): a script's notify.send('  ')
    # went out as 'blank: ' with nothing to say, a rejection's reason of spaces as 'rejected by blank: ', and a
    # notice of spaces was dropped as refused, counted against the chat in /health as if the chat refused it.
    caplog.set_level(logging.WARNING)
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, \
            running(tmp_path, {"blank": BLANK}, telegram=telegram(server.url)) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1 comment=say")
        await process(engine, "buy EURUSD volume=0.1 price=1.1 comment=no id=two")
        engine.notifier.send("admin", " \n\t ")
        engine.notifier.send("admin", "after the blank")
        await until(lambda: any("after the blank" in t for t in texts(server, ADMIN)))
        said = "\n".join(texts(server, ADMIN))
        assert "notify.send: expects a non-empty string, got only whitespace" in said
        assert "rejected by blank: no reason given" in said
        assert all(html_plain(r.params["text"]).strip() for r in server.calls("sendMessage"))
        assert engine.notifier.telegram()["telegram_refused"] == []
    assert any("a notice of whitespace only is not sent" in r.getMessage() and "[admin]" in r.getMessage()
               for r in caplog.records)
