"""Two bots, walked as an admin who commands moonhook through both: `moonhook run` with two `[[telegram.bots]]` and
the Bot API stand-in (tests/support/botapi.py), the admin in a private chat with each. A private chat's message ids
are each bot's own count, so the admin's first message to the second bot has the id of their first to the first
bot: it was taken for that message seen again through a second bot, and ignored without an answer."""

from __future__ import annotations

from support.botapi_thread import threaded_bot_api
from support.e2e_support import init, until

ONE, TWO = "5150:first-bot-SECRET", "6160:second-bot-SECRET"
ADMIN, DESK = 4242, 5353


def test_the_admin_s_commands_through_either_bot_are_each_obeyed(user):
    with threaded_bot_api({ONE: "moonhook_bot", TWO: "moonhook_desk_bot"}) as api:
        config, _ = init(user, "bot")
        config.append(f'[telegram]\napi_url = "{api.url}"\nadmins = [{ADMIN}]\n'
                      f'[[telegram.bots]]\ntoken = "{ONE}"\nchats = [{ADMIN}]\n'
                      f'[[telegram.bots]]\ntoken = "{TWO}"\nchats = [{DESK}]')
        run = user.start("run", config=config, cwd="bot")

        def said(token: str) -> list[str]:
            return api.call(lambda: [m.text for m in api.server.messages(token, ADMIN)])

        first = api.call(lambda: api.server.push_message(ONE, ADMIN, "/status"))
        until(lambda: said(ONE), lambda texts: any("running" in t for t in texts), "/status answered by the first bot")
        second = api.call(lambda: api.server.push_message(TWO, ADMIN, "/pause"))
        assert first["message"]["message_id"] == second["message"]["message_id"]   # each bot's own count
        until(lambda: run.get("/api/plugins")["pause"]["paused"], bool, "paused through the second bot")
        until(lambda: said(TWO), lambda texts: any("Paused" in t for t in texts), "the second bot's answer")
        assert run.interrupt() == 0
    assert "SECRET" not in "".join(r.text() for r in user.runs)
