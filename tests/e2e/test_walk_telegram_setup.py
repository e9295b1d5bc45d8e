"""Telegram, set up wrong: `api_url` copied as the Bot API's pages write its URLs, `https://api.telegram.org/bot`.
Every call is then answered 404 Not Found, for no fault of a message: the trader is told in the log what to fix,
and the notices wait, to be sent once moonhook.toml is fixed, as with a revoked token (401). They were dropped as
refused for good, as a message Telegram cannot parse is: fixed, the chat never heard of the trade."""

from __future__ import annotations

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import init, until

TOKEN = "5150:walk-bot-SECRET-part"
ADMIN = 4242
ENTRY = '{"secret": "SECRET", "action": "buy", "symbol": "EURUSD", "volume": 0.1, "price": 1.1, "sl": 1.09}'


def test_notices_wait_out_an_api_url_that_finds_no_bot_and_are_sent_once_it_is_fixed(user):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        config.append(telegram_table(f"{api.url}/bot", TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")
        run.settled(run.webhook(ENTRY)["id"])
        until(run.text, lambda text: "sendMessage: Not Found" in text, "the refused send logged")
        assert run.interrupt() == 0
        assert "no bot answers at telegram.api_url with the bot's token" in run.text(), run.text()
        assert "for good" not in run.text()

        config.replace(f'api_url = "{api.url}/bot"', f'api_url = "{api.url}"')
        run = user.start("run", config=config, cwd="bot")
        until(lambda: api.texts(TOKEN, ADMIN),
              lambda texts: any("opened buy 0.1 EURUSD" in t for t in texts), "the trade told once fixed")
        assert run.interrupt() == 0
    assert "SECRET" not in "".join(r.text() for r in user.runs)
