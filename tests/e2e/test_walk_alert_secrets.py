"""An alert that carries a secret beyond its `secret` field: a template from another bot with a `passphrase`, a
`password` or a `token`, the webhook's secret pasted into another field (a comment, the id a text alert opens
with, a word too many). moonhook keeps the alert's fields minus the secrets: a field named after a credential is
never kept, and the webhook's secret or the API token found in any other field is kept as `***`. So none reaches
the journal, an answer, the log, the dashboard's views or the order's comment at the broker."""

from __future__ import annotations

import json
import sqlite3

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import init, until
from support.older_journal import without_after

TOKEN = "5150:walk-bot-SECRET-part"
ADMIN = 4242


def test_an_alerts_secrets_are_kept_nowhere_and_its_other_fields_are(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    server = config.values["server"]
    secret, token = server["secret"], server["api_token"]
    entry = {"secret": secret, "passphrase": secret, "Password": "my-Broker-Password-9k", "token": token,
             "action": "buy", "symbol": "EURUSD", "volume": 0.1, "price": 1.1, "sl": 1.09,
             "comment": f"from {secret}", "strategy": {"api_key": "nested-Api-Key-4Fq", "name": "breakout"}}
    first = run.settled(run.client.post("/webhook", json=entry).json()["id"])
    assert first["status"] == "done", first
    # A PineConnector-style text alert, the secret where the licence id was: not kept, nor taken as its id.
    second = run.settled(run.webhook(f"{secret},buy,EURUSD,volume=0.1,price=1.1,sl=1.09")["id"])
    extra = run.client.post(f"/webhook/{secret}", content=f"buy EURUSD {secret}")
    checked = run.client.post("/api/alerts/check", json={**entry, "secret": None})

    assert first["alert"]["comment"] == "from ***" and first["alert"]["strategy"] == {"name": "breakout"}
    assert not {"passphrase", "Password", "token", "secret"} & set(first["alert"]), first["alert"]
    assert "id" not in second["alert"], second["alert"]
    assert extra.status_code == 400 and extra.json() == {"error": "unexpected words '***' after the command"}
    assert checked.status_code == 200 and checked.json()["alert"]["comment"] == "from ***", checked.text
    views = [run.client.get(path).text for path in ("/api/alerts", f"/api/alerts/{first['id']}",
                                                    f"/api/alerts/{second['id']}", "/api/orders", "/api/positions")]
    assert run.interrupt() == 0
    with sqlite3.connect(user.home / "bot" / "data" / "moonhook.db") as db:
        journal = "\n".join(str(row) for table in ("alerts", "orders")
                            for row in db.execute(f"SELECT * FROM {table}"))
    places = {"the journal": journal, "the log": run.text(), "the views": "\n".join(views),
              "the answers": extra.text + checked.text}
    leaked = [(what, where) for what in (secret, token, "my-Broker-Password-9k", "nested-Api-Key-4Fq")
              for where, text in places.items() if what in text]
    assert leaked == [], leaked


def test_alerts_opening_with_the_secret_as_a_pineconnector_licence_id_are_each_executed(user):
    # The secret where PineConnector's licence id goes was each alert's id, kept as '***': every alert so
    # sent had one fixed id, and the exit sent a minute after the entry was dropped as its duplicate,
    # the long left open. An id that is wholly a secret is none of the alert's own.
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    secret = config.values["server"]["secret"]
    entry = run.settled(run.webhook(f"{secret},buy,EURUSD,volume=0.1,price=1.1,sl=1.09")["id"])
    exit_ = run.settled(run.webhook(f"{secret},closelong,EURUSD,price=1.1")["id"])
    again = run.webhook(f"{secret},closelong,EURUSD,price=1.1")   # the same content: a repeat, as without an id
    assert (entry["status"], exit_["status"], again["status"]) == ("done", "done", "duplicate"), (entry, exit_)
    assert "id" not in entry["alert"] and run.get("/api/positions")["positions"] == []
    json_id = run.settled(run.client.post("/webhook", json={"secret": secret, "id": secret, "action": "buy",
                                                            "symbol": "EURUSD", "volume": 0.1, "price": 1.1,
                                                            "sl": 1.09}).json()["id"])
    assert json_id["status"] == "done" and "id" not in json_id["alert"], json_id
    assert run.interrupt() == 0

def test_an_alert_journaled_with_a_passphrase_by_an_earlier_version_loses_it_at_the_upgrade(user):
    # Until schema 25, a `passphrase` or `password` field was journaled as it came: the upgrade takes it off the
    # file, and no view shows it.
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    alert = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=old")["id"])
    assert run.interrupt() == 0
    with sqlite3.connect(user.home / "bot" / "data" / "moonhook.db") as db:
        db.execute("UPDATE alerts SET alert = json_set(alert, '$.passphrase', 'old-Passphrase-77', "
                   "'$.strategy', json('{\"Token\": \"old-Token-88\", \"name\": \"breakout\"}')) WHERE id = ?",
                   [alert["id"]])
        without_after(db, 24)
        db.execute("PRAGMA user_version = 24")   # as the version before left it
    again = user.start("run", config=config, cwd="bot")
    shown = again.get(f"/api/alerts/{alert['id']}")["alert"]
    listed = again.client.get("/api/alerts").text
    assert again.interrupt() == 0
    assert shown["id"] == "old" and shown["strategy"] == {"name": "breakout"} and "passphrase" not in shown, shown
    assert "old-Passphrase-77" not in listed and "old-Token-88" not in listed, listed
    assert b"old-Passphrase-77" not in (user.home / "bot" / "data" / "moonhook.db").read_bytes()


def test_a_telegram_command_typed_wrong_with_a_secret_in_it_is_logged_without_it(user):
    # /check's alert is never logged, but a command typed wrong (/chek) or given the wrong argument was logged as
    # typed, up to 64 characters: the webhook's whole secret fits in them.
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, _ = init(user, "bot")
        config.append(telegram_table(api.url, TOKEN, ADMIN))
        run = user.start("run", config=config, cwd="bot")
        secret, token = config.values["server"]["secret"], config.values["server"]["api_token"]
        for text in (f'/chek {{"secret": "{secret}", "action": "buy"}}', f"/status {token}"):
            api.call(lambda: api.server.push_message(TOKEN, ADMIN, text))
        until(run.text, lambda log: "): /chek " in log and "): /status " in log, "the commands logged")
        chats = api.call(lambda: [m.text for m in api.server.messages(TOKEN, ADMIN)])
        assert run.interrupt() == 0
    assert secret not in run.text() and token not in run.text(), run.text()
    assert '/chek {"secret": "***"' in run.text() and "/status ***" in run.text()
    assert not [t for t in chats if secret in t or token in t], chats


def test_a_replay_of_tradingviews_alert_log_keeps_the_secrets_of_its_bodies_out_of_its_reports(user):
    # TradingView's alert log holds each message as sent, the secret in it: `moonhook replay` read them without the
    # secrets the webhook hides, and quoted one in its refusal of a row (`unexpected words '<secret>'`), in the text,
    # the JSON and the HTML page a trader shares; and the secret as a licence id made every such alert one repeat.
    config, _ = init(user, "bot")
    secret, token = config.values["server"]["secret"], config.values["server"]["api_token"]
    t0 = 1715558400
    rows = [{"time": t0, "body": f"{secret},buy,EURUSD,volume=0.1,price=1.1,sl=1.09"},
            {"time": t0 + 60, "body": f"{secret},closelong,EURUSD,price=1.1"},
            {"time": t0 + 120, "body": f"buy EURUSD volume=0.1 price=1.1 sl=1.09 {secret}"},
            {"time": t0 + 180, "alert": {"action": "fly", "symbol": "EURUSD", "note": token}},
            {"time": t0 + 240, "alert": {"action": "buy", "symbol": "EURUSD", "volume": 1, "sl": 1.09,
                                         "comment": f"from {secret}", "secret": secret}}]
    (user.home / "bot" / "alerts.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    said = {}
    for form in ([], ["--json"], ["--report", "report.html"]):
        done = user.moonhook("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", *form, cwd="bot")
        assert done.returncode == 0, done.stderr
        said[" ".join(form) or "text"] = done.stdout + done.stderr
    said["page"] = (user.home / "bot" / "report.html").read_text()
    strict = user.moonhook("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", "--strict", cwd="bot")
    said["--strict"] = strict.stdout + strict.stderr
    leaked = [(what, where) for what in ("secret", "token") for where, text in said.items()
              if {"secret": secret, "token": token}[what] in text]
    assert leaked == [], leaked
    assert "unexpected words '***' after the command" in said["text"], said["text"]
    assert "a repeat of" not in said["text"], said["text"]   # the exit is no repeat of the entry, as live


def test_a_replay_refusing_an_alert_log_without_its_header_names_the_first_row_without_the_secret(user):
    # A log with no header row had its first row quoted as the header it lacks, the alert's body with the secret in it.
    config, _ = init(user, "bot")
    secret = config.values["server"]["secret"]
    (user.home / "bot" / "alerts.csv").write_text(f'2024-05-13T00:00:00Z,"{secret},buy,EURUSD,volume=0.1"\n')
    done = user.moonhook("replay", "--scripts", "scripts", "--alerts", "alerts.csv", cwd="bot")
    assert done.returncode == 2 and "the header has 2024-05-13T00:00:00Z, ***,buy,EURUSD" in done.stderr, done.stderr
    assert secret not in done.stdout + done.stderr
