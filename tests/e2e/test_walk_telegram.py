"""Telegram, walked as a trader: `moonhook init`, a bot and an admin added to moonhook.toml, `moonhook run`.
The trade is told in the admin's chat; a stranger is not obeyed; switching the guard off and closing
everything are asked first and done on the button; after Ctrl-C and a restart no command is obeyed twice.
With a webhook configured, Telegram's calls reach `moonhook run` and need the webhook's secret.
Telegram's servers are the stand-in (tests/support/botapi.py), served from a thread of the test."""

from __future__ import annotations

import time

import httpx

from support.botapi_thread import telegram_table, threaded_bot_api
from support.clock_shift import at_midday, utc_day
from support.e2e_support import init, until
from support.proxy import proxy_in
from support.waits import HANG

TOKEN = "5150:walk-bot-SECRET-part"
ADMIN, STRANGER = 4242, 777
ENTRY = '{"secret": "SECRET", "action": "buy", "symbol": "EURUSD", "volume": 0.1, "price": 1.1, "sl": 1.09}'


def test_a_trader_is_told_of_trades_and_commands_the_engine_from_telegram(user, monkeypatch):
    at_midday(user, monkeypatch, utc_day)  # /trades: the trades closed today, in the same day
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        def said() -> list[str]:  # the admin's chat as it shows now, edits applied, oldest first
            return api.texts(TOKEN, ADMIN, shown=True)

        def answer(text: str, what: str) -> str:
            return until(said, lambda texts: any(text in t for t in texts), what)

        def press(label: str) -> None:  # the admin presses ``label`` on the latest message showing buttons
            def pushed() -> None:
                (*_, asking) = [m for m in api.server.shown(TOKEN, ADMIN) if m.reply_markup]
                data = next(b["callback_data"] for b in asking.reply_markup["inline_keyboard"][0] if b["text"] == label)
                api.server.push_callback(TOKEN, ADMIN, data, message_id=asking.message_id)
            api.call(pushed)

        config, _ = init(user, "bot")
        config.append(telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")

        sent = run.webhook(ENTRY)
        assert run.settled(sent["id"])["status"] == "done"
        answer("opened buy 0.1 EURUSD", "the trade told in the admin's chat")
        menu = until(lambda: api.call(lambda: api.server.commands(TOKEN, f"chat:{ADMIN}")), bool,
                     "the bot's command menu in the admin's chat")
        assert [c for c, _ in menu] == ["status", "plugins", "enable", "disable", "pause", "resume", "positions",
                                        "orders", "trades", "close", "cancel", "check", "help"]
        assert api.call(lambda: api.server.commands(TOKEN)) is None            # strangers are offered none

        # A TradingView message pasted with its secret: what it would do, sent nowhere, logged nowhere.
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, f"/check {ENTRY.replace('0.1', '0.3')}"))
        answer("would send: market buy 0.3 EURUSD price 1.1 sl 1.09", "the answer to /check")
        assert len(run.get("/api/positions")["positions"]) == 1 and "SECRET" not in run.text()
        api.call(lambda: api.server.push_message(TOKEN, STRANGER, "/pause", username="mallory"))
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/status"))
        answer("running", "the answer to /status")
        assert run.get("/api/plugins")["pause"]["paused"] is False
        assert api.call(lambda: api.server.messages(TOKEN, STRANGER)) == []

        # demo is a guard: switching it off is asked first, and done on Confirm.
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/disable demo"))
        answer("Disable the guard demo?", "the question before disabling the guard")
        assert [p["enabled"] for p in run.get("/api/plugins")["plugins"]] == [True]
        press("Confirm disable")
        answer("Guard demo disabled", "the guard disabled")
        assert [p["enabled"] for p in run.get("/api/plugins")["plugins"]] == [False]
        bare = run.webhook(ENTRY.replace(', "sl": 1.09', ""))  # an entry without a stop, which demo refuses
        assert run.settled(bare["id"])["status"] == "done"

        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/close all"))
        answer("Close 2 positions?", "the question before closing")
        assert len(run.get("/api/positions")["positions"]) == 2
        press("Confirm close")
        answer("EURUSD: closed 2 positions", "the positions closed")
        assert run.get("/api/positions")["positions"] == []
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/trades"))
        answer("2 trades closed today (UTC)", "the day's trades")
        limit = run.webhook(ENTRY.replace('"buy"', '"buylimit"').replace('"price": 1.1, "sl": 1.09',
                                                                         '"price": 1.05, "sl": 1.04'))
        (order,) = run.settled(limit["id"])["outcome"]["orders"]
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/orders"))
        answer("EURUSD buy limit    0.1    1.05", "the pending order listed")
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/cancel all"))
        answer("Cancel 1 pending order?", "the question before cancelling")
        # Confirmed by the command sent again (dated past the question's second): the question loses its buttons.
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/cancel all", date=int(time.time()) + 1))
        answer(f"order {order['ticket']}: cancelled", "the order cancelled")
        answer("✔ Confirmed: /cancel all sent again; its answer follows.", "the question settled")
        assert api.call(lambda: [m.text for m in api.server.shown(TOKEN, ADMIN) if m.reply_markup]) == []
        assert run.get("/api/orders")["open"] == []
        assert run.interrupt() == 0

        run = user.start("run", config=config, cwd="bot")
        api.call(lambda: api.server.push_message(TOKEN, ADMIN, "/plugins"))
        answer("demo: disabled by telegram:4242", "the answer to /plugins after the restart")
        texts = said()
        assert sum("Disable the guard demo?" in t or "Guard demo disabled" in t for t in texts) == 1
        assert sum("Close 2 positions?" in t or "EURUSD: closed" in t for t in texts) == 1
        assert [p["enabled"] for p in run.get("/api/plugins")["plugins"]] == [False]
        assert run.interrupt() == 0
    assert "SECRET" not in "".join(r.text() for r in user.runs)  # the token's secret part is in no log line


def with_webhook(user, api):
    """The bot folder's config, its bot's updates coming by the webhook route with its secret."""
    config, _ = init(user, "bot")
    config.append(telegram_table(api.url, TOKEN, ADMIN, more='webhook_url = "https://moonhook.example.org"\n'
                                                            'webhook_secret = "hook-Secret_1-0123456789"\n'))
    return config


def telegram_calls(run, n: int, text: str, secret: str = "hook-Secret_1-0123456789", date: int | None = None) -> httpx.Response:
    """Update ``n``, the admin's ``text``, posted to the run's webhook route as Telegram would: no API token."""
    update = {"update_id": n, "message": {"message_id": n, "date": int(time.time()) if date is None else date,
                                          "text": text, "chat": {"id": ADMIN, "type": "private"},
                                          "from": {"id": ADMIN, "is_bot": False, "first_name": "trader"}}}
    return httpx.post(f"http://127.0.0.1:{run.port}/telegram/5150", json=update, timeout=HANG,
                      headers={"X-Telegram-Bot-Api-Secret-Token": secret})


def test_commands_reach_moonhook_run_by_telegrams_webhook_when_one_is_configured(user):
    # Telegram calling moonhook: `moonhook run` sets the webhook with its secret, refuses an update
    # without that secret, and obeys the admin's command that carries it; nothing polls meanwhile.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = with_webhook(user, api)
        run = user.start("run", config=config, cwd="bot")
        hook = until(lambda: api.call(lambda: api.server.webhook(TOKEN)), bool, "the webhook set at Telegram")
        assert hook["url"] == "https://moonhook.example.org/telegram/5150" and hook["secret_token"] == "hook-Secret_1-0123456789"

        assert telegram_calls(run, 1, "/pause", "guess").status_code == 401
        sent = telegram_calls(run, 2, "/pause")
        assert sent.status_code == 200
        until(lambda: run.get("/api/plugins")["pause"]["paused"], bool, "the engine paused by the admin")
        assert run.get("/api/plugins")["pause"]["by"] == f"telegram:{ADMIN}"
        assert api.call(lambda: api.server.calls("getUpdates", TOKEN)) == []
        assert run.interrupt() == 0
    assert "hook-Secret_1-0123456789" not in "".join(r.text() for r in user.runs)


def test_a_command_telegram_posts_again_to_the_webhook_after_a_restart_is_not_obeyed_again(user):
    # Telegram posts an update again when its answer was slow or lost (moonhook stopped while handling it):
    # the /pause a restart ago, come again after the admin's /resume, must not pause the engine again.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = with_webhook(user, api)
        sent_at = int(time.time())

        def telegram_posts(run, n: int, text: str) -> None:
            answer = telegram_calls(run, n, text, date=sent_at)
            assert answer.status_code == 200, answer.text   # answered once obeyed

        def answers() -> list[str]:
            return api.texts(TOKEN, ADMIN)

        run = user.start("run", config=config, cwd="bot")
        telegram_posts(run, 700, "/pause")
        assert run.get("/api/plugins")["pause"]["paused"] is True
        telegram_posts(run, 700, "/pause")          # again in the same run
        assert run.interrupt() == 0

        run = user.start("run", config=config, cwd="bot")
        assert run.get("/api/plugins")["pause"]["paused"] is True   # kept across the restart
        telegram_posts(run, 701, "/resume")
        assert run.get("/api/plugins")["pause"]["paused"] is False
        telegram_posts(run, 700, "/pause")          # Telegram's redelivery, its answer to the last run lost
        assert run.get("/api/plugins")["pause"]["paused"] is False
        # not answered again either: a chat's answers go in order, so one to it would show before /status's
        telegram_posts(run, 702, "/status")
        shown = until(answers, lambda texts: any("running" in t.lower() for t in texts[-1:]), "the answer to /status")
        assert sum(t.startswith("⏸ Paused") for t in shown) == 1, shown
        assert run.interrupt() == 0


def test_the_monitor_tells_the_admin_of_a_slow_alert_and_of_memory_past_its_limit(user):
    # [monitor] as `moonhook init` writes it, its limits lowered until the engine crosses them.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        config.replace("latency_alert_ms = 1000.0", "latency_alert_ms = 0.001")
        config.replace("memory_alert_mb = 500.0", "memory_alert_mb = 1.0")
        config.append(telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")
        sent = run.webhook(ENTRY)
        assert run.settled(sent["id"])["status"] == "done"

        def said() -> list[str]:
            return api.texts(TOKEN, ADMIN, shown=True)
        texts = until(said, lambda texts: any("took" in t for t in texts) and any("memory" in t for t in texts),
                      "the monitor's two notices in the admin's chat")
        assert any(f"alert {sent['id']} took " in t and "(monitor.latency_alert_ms is 0.001)" in t for t in texts), texts
        assert any("MB resident, over monitor.memory_alert_mb (1 MB)" in t for t in texts), texts
        assert run.interrupt() == 0


def test_a_bot_api_on_this_machine_is_called_directly_past_a_proxy_set_in_the_environment(user):
    # A Bot API server run on this machine (telegram-bot-api, over plain HTTP) was called through HTTP_PROXY:
    # the proxy got every URL, the bot's token in each, and the bot never reached its server.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api, proxy_in(user.env) as heard:
        config, _ = init(user, "bot")
        config.append(telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")
        run.settled(run.webhook(ENTRY)["id"])
        until(lambda: api.call(lambda: [m.text for m in api.server.messages(TOKEN, ADMIN)]),
              lambda texts: any("opened buy 0.1 EURUSD" in t for t in texts), "the trade told in the admin's chat")
        assert run.interrupt() == 0
    assert heard == []
