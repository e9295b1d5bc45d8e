"""The secrets, walked: `moonhook run` on MetaTrader 5 (the stand-in, with a login and a password), with a Telegram
bot whose updates come by webhook, the dashboard logged in and the webhook fed by both of TradingView's forms.
Every secret is used, wrongly too (a bad guess, a failed delivery, a password the terminal refuses); afterwards
none of them is in the log, in any file under the data folder (the journal and its WAL, the stores, a backup), in
an answer of the API or the dashboard, or in a message the bot sent."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import init, mt5_user, until
from support.mt5_standin import Terminal

TOKEN = "5150:bot-token-SECRET-part-q8Zr"
HOOK_SECRET = "telegram-hook-Secret-x7Q"
PASSWORD = "mt5-Password-Secret-w4K"
WRONG_PASSWORD = "mt5-Wrong-Password-t2M"
ADMIN = 4242
# With a passphrase too, as a template copied from another bot has it: the alert is kept without it.
ENTRY = ('{"secret": "SECRET", "passphrase": "SECRET", "action": "buy", "symbol": "EURUSD", "volume": 0.1, '
         '"sl": 1.07, "id": "walk-s1"}')
BAD = '{"secret": "SECRET", "action": "buy", "symbol": "EURUSD", "volume": "lots"}'


def written(home: Path) -> dict[str, bytes]:
    """Every file moonhook wrote under ``home``: the logs, the data folder, backups; not moonhook.toml (where the
    trader keeps the secrets), the stand-in terminal's file (the broker's side) or the installed stand-in."""
    kept = {"moonhook.toml", "terminal.db", "terminal.db-wal", "terminal.db-shm"}
    return {str(p.relative_to(home)): p.read_bytes() for p in home.rglob("*")
            if p.is_file() and p.name not in kept and "site-packages" not in p.parts}


def test_no_secret_reaches_a_log_a_file_an_answer_or_a_chat(user, tmp_path):
    terminal = Terminal(tmp_path / "terminal.db", login=5005001, password=PASSWORD)
    terminal.set_price("EURUSD", 1.08490, 1.08500)
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config = mt5_user(user, tmp_path / "terminal.db")
        config.append(f'login = 5005001\npassword = "{PASSWORD}"\nserver = "Standin-Demo"\n'
                      + telegram_table(api.url, TOKEN, ADMIN, more='webhook_url = "https://moonhook.example.org"\n'
                                       f'webhook_secret = "{HOOK_SECRET}"\n'))
        server = config.values["server"]
        secrets = {"the webhook secret": server["secret"], "the API token": server["api_token"],
                   "the bot token": TOKEN, "the bot token's secret part": TOKEN.split(":")[1],
                   "Telegram's webhook secret": HOOK_SECRET, "the MT5 password": PASSWORD,
                   "the refused MT5 password": WRONG_PASSWORD}
        run = user.start("run", config=config, cwd="bot")
        base = f"http://127.0.0.1:{run.port}"
        answers: list[str] = []

        def keep(answer: httpx.Response) -> httpx.Response:
            answers.append(f"{answer.status_code} {answer.headers} {answer.text}")  # the answer alone
            return answer

        # TradingView's two forms, a bad alert with the secret in it, and strangers' guesses.
        done = run.settled(run.webhook(ENTRY)["id"])
        assert done["status"] == "done", done
        opened = len(api.call(lambda: api.server.calls("sendMessage", TOKEN)))
        api.call(api.server.fail)  # the close's notice fails once, and is sent again
        keep(run.client.post(f"/webhook/{server['secret']}", content=b"close EURUSD id=walk-s2"))
        until(lambda: len(api.call(lambda: api.server.calls("sendMessage", TOKEN))), lambda n: n > opened,
              "a delivery refused by Telegram")
        api.call(api.server.recover)
        assert keep(run.client.post("/webhook", content=BAD.replace("SECRET", server["secret"]))).status_code == 400
        assert keep(run.client.post(f"/webhook/{server['secret']}", content=b"buy EURUSD lots=x")).status_code == 400
        assert keep(httpx.post(f"{base}/webhook/{server['secret']}x", content=b"buy EURUSD")).status_code == 401
        assert keep(httpx.post(f"{base}/webhook", content=ENTRY.replace("SECRET", "guess" * 4))).status_code == 401

        # Telegram's calls: one without its secret, then the admin's commands, /check pasting an alert with the
        # webhook's secret in it.
        def update(n: int, text: str, age: int = 0) -> dict:
            return {"update_id": n, "message": {"message_id": n, "date": int(time.time()) - age, "text": text,
                                                "chat": {"id": ADMIN, "type": "private"},
                                                "from": {"id": ADMIN, "is_bot": False, "first_name": "trader"}}}

        def telegram(n: int, text: str, secret: str = HOOK_SECRET, age: int = 0) -> httpx.Response:
            return keep(httpx.post(f"{base}/telegram/5150", json=update(n, text, age), timeout=10,
                                   headers={"X-Telegram-Bot-Api-Secret-Token": secret}))

        assert telegram(1, "/status", "guess-" + HOOK_SECRET[:8]).status_code == 401
        assert telegram(2, f"/check {ENTRY.replace('SECRET', server['secret'])}").status_code == 200
        assert telegram(3, f"/check {BAD.replace('SECRET', server['secret'])}").status_code == 200
        # Sent while moonhook was not listening, so refused as too old: the refusal does not quote it.
        assert telegram(4, f"/check {ENTRY.replace('SECRET', server['secret'])}", age=3600).status_code == 200
        assert telegram(5, "/status").status_code == 200
        until(lambda: api.call(lambda: [m.text for m in api.server.messages(TOKEN, ADMIN)]),
              lambda texts: any("running" in t for t in texts), "the answer to /status")

        # The dashboard: a wrong login, the login, its page and files, every view it reads.
        dashboard = httpx.Client(base_url=base, timeout=10)
        assert keep(dashboard.post("/login", json={"token": "guess" * 4})).status_code == 401
        assert keep(dashboard.post("/login", json={"token": server["api_token"]})).status_code == 204
        page = keep(dashboard.get("/")).text
        for src in [part.split('"')[0] for part in page.split('src="')[1:] + page.split('href="')[1:]]:
            if src.startswith("/static/"):
                keep(dashboard.get(src))
        for path in ("/api/session", "/api/overview", "/api/plugins", "/api/alerts", f"/api/alerts/{done['id']}",
                     "/api/orders", "/api/positions", "/api/account", "/api/trades", "/api/scripts",
                     "/api/scripts/demo.lua", "/api/shadow", "/health", "/metrics"):
            keep(dashboard.get(path))
            keep(run.client.get(path))
        with run.client.stream("GET", "/api/events") as events:  # the stream opens; what it sends is kept
            first = next(events.iter_bytes())
            answers.append(first.decode())
        backup = user.moonhook("backup", "backups/walk.db", cwd="bot")
        assert backup.returncode == 0, backup.stderr
        status = user.moonhook("status", cwd="bot")
        answers.append(status.stdout + status.stderr)
        assert run.interrupt() == 0

        # Again, with a password the terminal refuses: the login fails, and says so without it.
        config.replace(f'password = "{PASSWORD}"', f'password = "{WRONG_PASSWORD}"')
        again = user.start("run", config=config, cwd="bot")
        health = until(lambda: again.get("/health"), lambda h: h.get("broker_state"), "the refused login")
        assert health["broker_connected"] is False, health
        answers.append(str(health))
        assert again.interrupt() == 0
        chats = api.call(lambda: [f"{m.chat_id} {m.text} {m.reply_markup}" for m in api.server.messages()])

    assert any("would send: market buy 0.1 EURUSD" in c for c in chats), chats  # /check was answered
    assert any("while moonhook was not listening" in c for c in chats), chats  # the old one refused
    assert any("the body looks like" in a or "lots" in a for a in answers), answers
    places = {**written(user.home), "the answers": "\n".join(answers).encode(), "the chats": "\n".join(chats).encode()}
    found = [(what, where) for what, secret in secrets.items() for where, data in places.items()
             if secret.encode() in data]
    assert found == [], found


def test_a_reason_holding_a_secret_is_kept_and_told_without_it(user):
    """A pause's or switch's reason holding the API token or the webhook's secret (pasted there, or a
    script's variables mixed up) was kept as given: logged ("moonhook paused by api: ..."), journaled
    with the switch, told to the admins and shown by /api/plugins. It is written `***`, as an alert's
    fields are."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    server = config.values["server"]
    secrets = (server["api_token"], server["secret"])
    reason = f"lunch {secrets[0]} and {secrets[1]}"
    assert run.client.post("/api/pause", json={"reason": reason}).status_code == 200
    assert run.client.post("/api/plugins/demo/disable", json={"reason": reason}).status_code == 200
    plugins = run.get("/api/plugins")
    assert plugins["pause"]["reason"] == plugins["plugins"][0]["switched"]["reason"] == "lunch *** and ***"
    assert run.interrupt() == 0
    assert "paused by api: lunch *** and ***" in run.text()
    for name, data in written(user.home).items():
        assert not any(secret.encode() in data for secret in secrets), name
