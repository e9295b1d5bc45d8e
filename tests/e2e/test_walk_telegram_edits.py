"""Telegram, a command edited: the trader fixes a typo by editing the message, as Telegram's apps invite. An edit
is not obeyed (it may be of a command obeyed already, or sent days ago), but the trader is told so, as a forwarded
command is: silence read as "it is being done". The stand-in gives edits only to a bot that asks for them, as
Telegram does."""

from __future__ import annotations

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import init, until

TOKEN = "5150:walk-bot-part"
ADMIN, STRANGER = 4242, 777


def test_an_edited_command_is_not_obeyed_and_the_admin_is_told_so(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        config.append(telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")

        def said(chat: int = ADMIN) -> list[str]:
            return api.texts(TOKEN, chat)

        typo = api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/pasue news at 14:30"))
        until(said, lambda texts: any("Unknown command /pasue" in t for t in texts), "the typo answered")
        stranger = api.call(lambda: api.server.push_message(TOKEN, STRANGER, "/status"))
        api.call(lambda: api.server.push_edit(TOKEN, stranger, "/pause"))
        api.call(lambda: api.server.push_edit(TOKEN, typo, "/pause news at 14:30"))
        texts = until(said, lambda texts: any("edit" in t for t in texts), "the edit answered")
        assert texts[-1] == ("An edited command is not obeyed: send /pause news at 14:30 as a new message "
                             "(an edit may be of a command done already)."), texts
        assert run.get("/api/plugins")["pause"]["paused"] is False
        assert said(STRANGER) == []

        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/pause news at 14:30"))
        until(lambda: run.get("/api/plugins")["pause"], lambda p: p["paused"], "the typed /pause obeyed")
        assert run.get("/api/plugins")["pause"]["reason"] == "news at 14:30"
        assert run.interrupt() == 0
