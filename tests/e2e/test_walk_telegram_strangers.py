"""Telegram, attacked: `moonhook run` taking its updates by webhook (Telegram's servers the stand-in,
tests/support/botapi.py), in the admin's private chat and a command group. Strangers in that group, the admin's
own words forwarded or edited, a command addressed to another bot, a bot or an anonymous admin writing as the
admin, a question's button pressed by a stranger or pressed again once answered, or after a restart: none of them
moves the engine; the admin's typed command does."""

from __future__ import annotations

import time

import httpx

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import init, until

TOKEN = "5150:walk-bot-part"
HOOK_SECRET = "hook-Secret_2-0123456789"
ADMIN, STRANGER, GROUP = 4242, 777, -1001234567890
ENTRY = '{"secret": "SECRET", "action": "buy", "symbol": "EURUSD", "volume": 0.1, "price": 1.1, "sl": 1.09}'


def test_only_the_admin_s_own_typed_commands_move_the_engine(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        config.append(telegram_table(api.url, TOKEN, ADMIN, more=f'command_chats = [{GROUP}]\n'
                                     'webhook_url = "https://moonhook.example.org"\n'
                                     f'webhook_secret = "{HOOK_SECRET}"\n'))
        run = user.start("run", config=config, cwd="bot")
        def post(update: dict) -> None:  # as Telegram calls the webhook, with its secret
            answer = httpx.post(f"http://127.0.0.1:{run.port}/telegram/5150", json=update, timeout=10,
                                headers={"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET})
            assert answer.status_code == 200, answer.text

        def message(text: str, sender: int = ADMIN, chat: int = GROUP, kind: str = "message", **more) -> dict:
            """The stand-in's update for a message to the bot, reshaped by ``more``."""
            update = api.call(lambda: api.server.push_message(TOKEN, chat, text, user_id=sender))
            return {"update_id": update["update_id"], kind: {**update["message"], **more}}

        def said(chat: int) -> list[str]:
            return api.call(lambda: [m.text for m in api.server.messages(TOKEN, chat)])

        def paused() -> bool:
            return run.get("/api/plugins")["pause"]["paused"]

        # Each of these is handled (answered 200) and moves nothing. The admin's typed /status after them is
        # answered in its turn: updates are handled in order, so anything they did is done by then.
        post(message("/pause", sender=STRANGER))
        # A stranger's words are logged, and cannot move the terminal's cursor to write over the log's lines.
        post(message("/pause \x1b[1A\x1b[2K\x9b2K\u2028moonhook: stopped\x07", sender=STRANGER))
        post(message("/pause", forward_origin={"type": "user", "date": 1, "sender_user": {"id": ADMIN}}))
        post(message("/pause", kind="edited_message", edit_date=int(time.time())))
        post(message("/pause@other_bot"))
        post(message("/pause", **{"from": {"id": ADMIN, "is_bot": True, "first_name": "bot"}}))
        post(message("/pause", sender_chat={"id": GROUP, "type": "supergroup"}))
        post(message("/pause", sender=STRANGER, chat=STRANGER))
        post(message("/status@MoonHook_Bot"))
        until(lambda: said(GROUP), lambda texts: any("running" in t for t in texts), "the admin's /status")
        assert not paused()
        assert said(STRANGER) == []
        assert "ignored: not an admin" in run.text()
        assert [c for c in run.text() if not (c.isprintable() or c == "\n")] == []
        assert [t for t in said(GROUP) if "forwarded" in t] == [
            "A forwarded command is not obeyed: type it, or tap it in the menu."]
        # the anonymous admin is told why, not left to believe the engine paused; the stranger, the bot: nothing
        assert [t for t in said(GROUP) if "anonymous" in t] == [
            "Sent anonymously: who sent it cannot be told, so it is not obeyed. Turn off Remain anonymous in your "
            "admin rights to command here, or write to me privately."]

        # A question's button: pressed by a stranger, nothing; by the admin, done; again, already done.
        run.webhook(ENTRY)
        until(lambda: run.get("/api/positions")["positions"], bool, "the position opened")
        post(message("/close all"))
        asking = until(lambda: api.call(lambda: [m for m in api.server.messages(TOKEN, GROUP) if m.reply_markup]),
                       bool, "the question before closing")[-1]
        confirm = asking.reply_markup["inline_keyboard"][0][0]["callback_data"]

        def press(sender: int) -> None:
            post(api.call(lambda: api.server.push_callback(TOKEN, GROUP, confirm, user_id=sender,
                                                           message_id=asking.message_id)))

        def answered() -> list[str]:
            return api.call(lambda: [a.get("text") for a in api.server.answered])

        press(STRANGER)
        assert run.get("/api/positions")["positions"] != [] and answered() == []
        press(ADMIN)
        until(lambda: run.get("/api/positions")["positions"], lambda p: p == [], "the position closed")
        run.webhook(ENTRY.replace("0.1", "0.2"))
        until(lambda: run.get("/api/positions")["positions"], bool, "another position opened")
        press(ADMIN)
        until(answered, lambda texts: texts[-1:] == ["already done"], "the second press answered")
        assert [p["volume"] for p in run.get("/api/positions")["positions"]] == [0.2]

        # After a restart the question is gone: its button is only told it expired.
        assert run.interrupt() == 0
        run = user.start("run", config=config, cwd="bot")
        press(ADMIN)
        until(answered, lambda texts: texts[-1:] == ["expired: send /close again"], "the press after the restart")
        assert [p["volume"] for p in run.get("/api/positions")["positions"]] == [0.2]
        assert not paused()
