"""Receiving Telegram updates: long polling against the local Bot API stand-in (tests/support/botapi.py) over real HTTP,
the offsets kept in a real SQLite file, the webhook route, and admin commands end to end on a real engine."""

from __future__ import annotations

import logging
from functools import partial

import httpx
import trio
from quart_trio import QuartTrio
from werkzeug.datastructures import Headers

from engine.app import Operations
from engine.interfaces.telegram.commands import Commands
from engine.adapters.notify.bot import BotClient
from engine.interfaces.telegram.updates import WEBHOOK_HELD, poll_updates, send_reply
from engine.adapters.storage import Database
from engine.adapters.storage.offsets import SeenUpdates, UpdateOffsets
from engine.interfaces.telegram.webhook import telegram_blueprint

from support.engine_support import process, running
from support.botapi import bot_api_server
from support.waits import until

TOKEN = "123456:SECRET-part-of-the-token"
BOT = "123456"
ADMIN, STRANGER = 4242, 777
FAST = {"timeout": 1, "backoff": 0.02, "max_backoff": 0.05}


def test_offsets_are_upserted_and_survive_reopening(tmp_path):
    db = Database(tmp_path / "m.db")
    offsets = UpdateOffsets(db)
    assert offsets.get(BOT) is None
    offsets.set(BOT, 5)
    offsets.set(BOT, 9)
    offsets.set("777", 2)
    db.close()
    again = Database(tmp_path / "m.db")
    assert UpdateOffsets(again).get(BOT) == 9 and UpdateOffsets(again).get("777") == 2
    again.close()


async def test_a_webhook_update_is_taken_once_across_reopening_never_below_the_polled_offset(tmp_path, monkeypatch):
    db = Database(tmp_path / "m.db")
    seen = SeenUpdates(db)
    assert [await seen.first_time(BOT, n) for n in (25, 11, 25)] == [True, True, False]   # out of order: each once
    assert await seen.first_time("777", 25)                                               # another bot's
    UpdateOffsets(db).set(BOT, 20)              # polled up to 19 before the webhook was set
    assert not await seen.first_time(BOT, 19) and await seen.first_time(BOT, 20)
    db.close()
    reopened = Database(tmp_path / "m.db")
    again = SeenUpdates(reopened)
    assert not await again.first_time(BOT, 25)
    monkeypatch.setattr(SeenUpdates, "KEPT", -1.0)    # a day later: forgotten, as Telegram has forgotten it
    assert await again.first_time(BOT, 30) and await again.first_time(BOT, 25)
    reopened.close()


async def test_a_webhook_update_numbered_anew_far_below_the_polled_offset_is_taken(tmp_path):
    # Polling stored 5001; a week later, the webhook set, Telegram numbers its updates from a random id: all of
    # them were refused as "below the polled offset", the admin's commands never obeyed. Those polling may have
    # left unconfirmed are of its last getUpdates (100 at most): only those are refused.
    db = Database(tmp_path / "m.db")
    seen = SeenUpdates(db)
    UpdateOffsets(db).set(BOT, 5_001)
    assert not await seen.first_time(BOT, 5_000) and not await seen.first_time(BOT, 4_901)
    assert await seen.first_time(BOT, 1_000) and await seen.first_time(BOT, 4_900)
    assert not await seen.first_time(BOT, 1_000)
    db.close()


async def test_an_update_handled_before_a_restart_is_not_handled_again(tmp_path, caplog):
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, httpx.AsyncClient() as http:
        bot = BotClient(http, TOKEN, server.url)
        db = Database(tmp_path / "m.db")
        first = server.push_message(TOKEN, ADMIN, "/close all")
        seen = []
        async with trio.open_nursery() as nursery:
            async def dies(update, noted):  # the engine dies while obeying it: no later getUpdates confirms it
                seen.append(update["update_id"])
                nursery.cancel_scope.cancel()
                await trio.sleep_forever()
            nursery.start_soon(partial(poll_updates, bot, UpdateOffsets(db), BOT, dies, **FAST))
        assert seen == [first["update_id"]]
        db.close()

        db = Database(tmp_path / "m.db")                        # the restart
        bad = server.push_message(TOKEN, ADMIN, "/boom")
        last = server.push_message(TOKEN, ADMIN, "/status")
        seen = []
        async with trio.open_nursery() as nursery:
            async def handle(update, noted):
                seen.append(update["update_id"])
                if update["message"]["text"] == "/boom":
                    raise RuntimeError("a handler bug")
            await nursery.start(partial(poll_updates, bot, UpdateOffsets(db), BOT, handle, **FAST))
            await until(lambda: last["update_id"] in seen)
            nursery.cancel_scope.cancel()
        assert seen == [bad["update_id"], last["update_id"]]     # not the first again; a failing handler skipped
        assert UpdateOffsets(db).get(BOT) == last["update_id"] + 1
        assert any("could not be handled" in r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
        db.close()


async def test_updates_telegram_numbered_anew_below_the_stored_offset_are_taken(tmp_path, caplog):
    # After a week without updates Telegram numbers them anew from a random id, perhaps below the offset stored
    # (or the Bot API server changed); it answers them from its queue's head, confirming none. Skipped as "below
    # the offset", they came back at once on every poll: commands never obeyed again, getUpdates called in a loop.
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, httpx.AsyncClient() as http:
        bot = BotClient(http, TOKEN, server.url)
        db = Database(tmp_path / "m.db")
        server.renumber(TOKEN, 5_000)
        handled = []

        async def handle(update, noted):
            handled.append(update["message"]["text"])

        async with trio.open_nursery() as nursery:
            await nursery.start(partial(poll_updates, bot, UpdateOffsets(db), BOT, handle, **FAST))
            server.push_message(TOKEN, ADMIN, "/pause")
            await until(lambda: handled == ["/pause"])
            nursery.cancel_scope.cancel()
        assert UpdateOffsets(db).get(BOT) == 5_001

        server.renumber(TOKEN, 1_000)               # a week later
        async with trio.open_nursery() as nursery:
            await nursery.start(partial(poll_updates, bot, UpdateOffsets(db), BOT, handle, **FAST))
            server.push_message(TOKEN, ADMIN, "/resume")
            server.push_message(TOKEN, ADMIN, "/status")
            await until(lambda: handled == ["/pause", "/resume", "/status"])
            await until(lambda: server.calls("getUpdates")[-1].status is None)   # confirmed: the poll waits
            nursery.cancel_scope.cancel()
        assert UpdateOffsets(db).get(BOT) == 1_002
        # Its own words only: the journal's "a new journal" line names the test's folder, "..._numbered0".
        assert [r.getMessage() for r in caplog.records if "numbered its updates anew" in r.getMessage()] == [
            "bot 123456: update 1000 is below the offset 5001: Telegram numbered its updates anew (none for a "
            "week, or another Bot API server); taken as new"]
        db.close()


async def test_failures_and_an_outage_do_not_end_the_loop(tmp_path, caplog):
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, httpx.AsyncClient() as http:
        bot = BotClient(http, TOKEN, server.url)
        db = Database(tmp_path / "m.db")
        handled = []

        async def handle(update, noted):
            handled.append(update["message"]["text"])

        async with trio.open_nursery() as nursery:
            server.fail(500)
            await nursery.start(partial(poll_updates, bot, UpdateOffsets(db), BOT, handle, **FAST))
            await until(lambda: len([r for r in server.calls("getUpdates") if r.status == 500]) >= 3)
            server.recover()
            server.push_message(TOKEN, ADMIN, "/one")
            await until(lambda: handled == ["/one"])
            server.stop()                                       # the port refuses connections
            await until(lambda: any("unreachable" in r.getMessage() for r in caplog.records))
            await server.start()
            server.push_message(TOKEN, ADMIN, "/two")
            await until(lambda: handled == ["/one", "/two"])
            nursery.cancel_scope.cancel()
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert len([w for w in warnings if "Internal Server Error" in w]) == 1   # once per streak
        assert "SECRET" not in caplog.text
        db.close()


async def test_a_conflict_is_logged_once_per_streak_and_a_revoked_token_backs_off(tmp_path, caplog):
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, httpx.AsyncClient() as http:
        bot = BotClient(http, TOKEN, server.url)
        db = Database(tmp_path / "m.db")
        handled = []

        async def handle(update, noted):
            handled.append(update["update_id"])

        def polling() -> int:
            return len([r for r in server.calls("getUpdates", TOKEN) if r.status is None])

        def conflicts() -> list[str]:
            return [r.getMessage() for r in caplog.records
                    if r.levelno == logging.WARNING and "Conflict" in r.getMessage()]

        async with trio.open_nursery() as nursery:
            await nursery.start(partial(poll_updates, bot, UpdateOffsets(db), BOT, handle, **{**FAST, "timeout": 5}))
            for n in (1, 2):                                    # two 409s in a row: one streak
                await until(lambda: polling() == 1)
                await bot.call("getUpdates")                    # another poller terminates ours
                await until(lambda: len(server.calls("getUpdates", TOKEN)) - len(
                    [r for r in server.calls("getUpdates", TOKEN) if r.status != 409]) == n)
            await until(lambda: polling() == 1)                  # polling again: past the 409's log line
            assert len(conflicts()) == 1
            update = server.push_message(TOKEN, ADMIN, "/status")   # a success ends the streak
            await until(lambda: handled == [update["update_id"]])
            await until(lambda: polling() == 1)
            await bot.call("getUpdates")
            await until(lambda: len(conflicts()) == 2)

            revoked = BotClient(http, "999:WRONG-token", server.url)
            nursery.start_soon(partial(poll_updates, revoked, UpdateOffsets(db), "999", handle, **FAST))
            await until(lambda: len(server.calls("getUpdates", "999:WRONG-token")) >= 3)
            nursery.cancel_scope.cancel()
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert any("revoked" in e and "bot 999" in e for e in errors) and "WRONG" not in caplog.text
        db.close()


async def test_a_webhook_held_for_the_bot_is_told_once_and_left_to_whoever_set_it(tmp_path):
    # Telegram answers getUpdates 409 while it holds a webhook: no command comes, and only the log
    # said so. It may be another moonhook's, serving this bot: deleting it would take that one's
    # commands (a /close acted on by the wrong engine), so the admins are told what to do instead.
    async with bot_api_server({TOKEN: "moonhook_bot"}) as server, httpx.AsyncClient() as http:
        bot = BotClient(http, TOKEN, server.url)
        await bot.call("setWebhook", url="https://moonhook.example.org/telegram/123456", secret_token="s")
        db, told = Database(tmp_path / "m.db"), []

        async def deaf(text):
            told.append(text)

        async with trio.open_nursery() as nursery:
            await nursery.start(partial(poll_updates, bot, UpdateOffsets(db), BOT, lambda u: trio.sleep(0),
                                        deaf=deaf, **FAST))
            await until(lambda: len([c for c in server.calls("getUpdates") if c.status == 409]) >= 3)
            nursery.cancel_scope.cancel()
        assert told == [WEBHOOK_HELD] and server.webhook(TOKEN)["url"] == "https://moonhook.example.org/telegram/123456"
        db.close()


async def test_admin_commands_end_to_end_through_the_bot_api(tmp_path):
    async with running(tmp_path) as engine, bot_api_server({TOKEN: "moonhook_bot"}) as server, \
            httpx.AsyncClient() as http:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        bot = BotClient(http, TOKEN, server.url)
        commands, handled = Commands(Operations(engine), [ADMIN]), []

        async def handle(update, noted):
            for reply in await commands.handle(update):
                await send_reply(bot, reply)
            handled.append(update["update_id"])

        async with trio.open_nursery() as nursery:
            await nursery.start(partial(poll_updates, bot, UpdateOffsets(engine.database), BOT, handle, **FAST))
            server.push_message(TOKEN, STRANGER, "/close EURUSD")
            server.push_message(TOKEN, ADMIN, "/close EURUSD")
            await until(lambda: len(handled) == 2)
            assert server.messages(TOKEN, STRANGER) == []             # a stranger gets no answer
            question = server.messages(TOKEN, ADMIN)[-1]
            confirm = question.reply_markup["inline_keyboard"][0][0]["callback_data"]
            assert len(await engine.broker.positions()) == 1
            server.push_callback(TOKEN, ADMIN, confirm)
            await until(lambda: len(handled) == 3)
            assert await engine.broker.positions() == []
            outcome = server.edits[-1]
            assert outcome.message_id == question.message_id and "EURUSD: closed 1 position" in outcome.text
            assert outcome.reply_markup is None and server.answered[-1]["text"] == "done"
            server.push_callback(TOKEN, ADMIN, confirm)                # a second press
            await until(lambda: len(handled) == 4)
            assert server.answered[-1]["text"] == "already done" and len(server.edits) == 1
            assert len([o for o in engine.ledger.recent() if o["kind"] == "close"]) == 1
            server.push_message(TOKEN, ADMIN, "/status")
            await until(lambda: len(handled) == 5)
            assert "running" in server.messages(TOKEN, ADMIN)[-1].text
            nursery.cancel_scope.cancel()


async def test_the_webhook_route_checks_the_secret_and_the_body(caplog):
    secret = "whs_Secret-123"
    got = []

    async def dispatch(bot_id: str, update: dict) -> bool:
        if bot_id != BOT:
            return False
        got.append(update)
        return True

    app = QuartTrio(__name__)
    app.register_blueprint(telegram_blueprint(dispatch, secret))
    client = app.test_client()
    update = {"update_id": 7, "message": {"chat": {"id": ADMIN}, "text": "/status", "date": 1}}
    header = "X-Telegram-Bot-Api-Secret-Token"
    assert (await client.post(f"/telegram/{BOT}", json=update)).status_code == 401
    assert (await client.post(f"/telegram/{BOT}", json=update, headers={header: "whs-guess"})).status_code == 401
    ok = {header: secret}
    for twice in ([secret, "whs-guess"], ["whs-guess", secret]):   # which one counted hung on their order
        headers = Headers([(header, value) for value in twice])
        assert (await client.post(f"/telegram/{BOT}", json=update, headers=headers)).status_code == 401
    assert (await client.post(f"/telegram/{BOT}", data=b"not json", headers=ok)).status_code == 400
    assert (await client.post(f"/telegram/{BOT}", json=[update], headers=ok)).status_code == 400
    assert (await client.post("/telegram/999", json=update, headers=ok)).status_code == 404
    assert got == []
    answer = await client.post(f"/telegram/{BOT}", json=update, headers=ok)
    assert answer.status_code == 200 and await answer.get_json() == {"ok": True} and got == [update]
    assert secret not in caplog.text and "whs-guess" not in caplog.text
    assert any("refused" in r.getMessage() for r in caplog.records)
