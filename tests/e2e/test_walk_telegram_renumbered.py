"""Telegram numbering its updates anew, walked as an admin who commands moonhook rarely: after a week without
updates Telegram numbers the next ones from a random id (the Bot API's Update.update_id), perhaps below the offset
`moonhook run` stored, and answers an offset "in the future" from its queue's head, confirming nothing (the
stand-in, tests/support/botapi.py, as telegram-bot-api's queue). Those commands were skipped as seen already, and
came back on every poll: none obeyed again, getUpdates called in a loop. With a webhook, they were refused as below
the polled offset."""

from __future__ import annotations

import time

import httpx

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import init, until
from support.waits import HANG

TOKEN = "5150:renumbered-SECRET-part"
HOOK_SECRET = "hook-Secret_3-0123456789"
ADMIN = 4242


def test_a_command_telegram_numbered_anew_after_a_quiet_week_is_obeyed_once(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        config.append(telegram_table(api.url, TOKEN, ADMIN))

        def paused(run) -> bool:
            return run.get("/api/plugins")["pause"]["paused"]

        api.call(lambda: api.server.renumber(TOKEN, 5_000_000))
        run = user.start("run", config=config, cwd="bot")
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/pause"))
        until(lambda: paused(run), bool, "the engine paused by the admin")
        assert run.interrupt() == 0

        api.call(lambda: api.server.renumber(TOKEN, 1_000))      # a week without updates
        polls = len(api.call(lambda: api.server.calls("getUpdates")))
        run = user.start("run", config=config, cwd="bot")
        assert paused(run)
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/resume"))
        until(lambda: paused(run), lambda now: not now, "the engine resumed by the admin's /resume")
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/pause"))
        until(lambda: paused(run), bool, "paused again: the next command obeyed too")
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/status"))
        until(lambda: api.call(lambda: [m.text for m in api.server.messages(TOKEN, ADMIN)]),
              lambda texts: "paused" in texts[-1].lower(), "the answer to /status")
        # each obeyed once, and confirmed: getUpdates waits for the next, not called in a loop (it was, thousands)
        assert len(api.call(lambda: api.server.calls("getUpdates"))) - polls < 50
        assert run.interrupt() == 0

        # Another quiet week, and the updates come by a webhook now: not refused as below the polled offset.
        config.replace('[telegram]', '[telegram]\nwebhook_url = "https://moonhook.example.org"\n'
                                     f'webhook_secret = "{HOOK_SECRET}"')
        run = user.start("run", config=config, cwd="bot")
        def telegram_posts(update_id: int, text: str) -> None:
            update = {"update_id": update_id, "message": {
                "message_id": update_id, "date": int(time.time()), "text": text,
                "chat": {"id": ADMIN, "type": "private"},
                "from": {"id": ADMIN, "is_bot": False, "first_name": "trader"}}}
            answer = httpx.post(f"http://127.0.0.1:{run.port}/telegram/5150", json=update, timeout=HANG,
                                headers={"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET})
            assert answer.status_code == 200, answer.text

        telegram_posts(7, "/resume")
        telegram_posts(7, "/resume")        # posted again, its answer lost: obeyed once
        assert not paused(run)
        telegram_posts(8, "/status")        # answered after /resume's answers: a chat's answers go in order
        texts = until(lambda: api.call(lambda: [m.text for m in api.server.messages(TOKEN, ADMIN)]),
                      lambda texts: "running" in texts[-1].lower(), "the answer to /status by the webhook")
        assert sum("Resumed" in t for t in texts) == 2, texts
        assert run.interrupt() == 0
    logs = "".join(r.text() for r in user.runs)
    assert "SECRET" not in logs and HOOK_SECRET not in logs and "numbered its updates anew" in logs
