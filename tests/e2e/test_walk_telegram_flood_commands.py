"""An admin's command during a Telegram flood, walked with `moonhook run` and the Bot API stand-in
(tests/support/botapi.py): a command is obeyed when it arrives, never queued behind an earlier command's
answer that is still waiting out Telegram's 429s. Commands were handled one at a time, each awaiting its
answers (up to telegram.command_max_age, the 429's pause waited first), so a /pause sent behind a /status
and a /positions waited that long and was then refused as older than command_max_age: an admin's pause
lost to our own wait."""

from __future__ import annotations

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import init, until

TOKEN = "5150:flood-commands-SECRET"
ADMIN = 4242
MAX_AGE, RETRY_AFTER = 30, 45   # Telegram asks to come back later than a command may wait


def test_a_pause_sent_behind_answers_waiting_out_a_flood_is_obeyed_at_once(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        config.append(telegram_table(api.url, TOKEN, ADMIN, more=f'command_max_age = {MAX_AGE}\n'))
        run = user.start("run", config=config, cwd="bot")
        until(lambda: api.call(lambda: api.server.commands(TOKEN, f"chat:{ADMIN}")), bool, "the bot started")
        api.call(lambda: api.server.flood(3600, retry_after=RETRY_AFTER))
        for command in ("/status", "/positions", "/pause"):
            api.call(lambda: api.server.push_message(TOKEN, ADMIN, command))
        until(lambda: (run.get("/health")["paused"], run.text()), lambda seen: seen[0] or "refused: sent" in seen[1],
              "the /pause obeyed or refused")
        assert "refused: sent" not in run.text() and run.get("/health")["paused"] is True
        api.call(api.server.recover)
        assert run.interrupt() == 0
