"""Telegram, the bot's token pasted into a command by mistake (the trader's clipboard held it from @BotFather, as
the setup asks): it reaches no log line, nor the pause's reason that /status, the API and the dashboard show, as
the webhook's secret and the API token do not. The bot's own word on a command (in hand) already wrote it ***."""

from __future__ import annotations

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import init, until

TOKEN = "5150:walk-bot-SECRET-part"
ADMIN = 4242


def test_the_bot_s_token_pasted_into_a_command_is_written_stars(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        config.append(telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")

        def said() -> list[str]:
            return api.texts(TOKEN, ADMIN)

        api.call(lambda: api.server.push_message(TOKEN, ADMIN, f"/pause new bot {TOKEN}"))
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, f"/pasue {TOKEN}"))
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/status"))
        texts = until(said, lambda texts: any("uptime" in t for t in texts), "the answer to /status")
        assert run.get("/api/plugins")["pause"]["reason"] == "new bot ***"
        assert any("paused by telegram:4242: new bot ***" in t for t in texts), texts
        assert run.interrupt() == 0
    assert "SECRET" not in run.text()
    assert "SECRET" not in "".join(texts)
