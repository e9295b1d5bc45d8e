"""A trader updates moonhook after months: today's `moonhook run` starts on the data folder an
earlier moonhook left (tests/fixtures/upgrade/, each made by that version's own code,
support/upgrade_fixtures.py). The journal is upgraded; the positions, the pending order, the
account, the closed trade, the alerts and the plugin's store are as the older one answered;
nothing is traded again at the start; the next alert trades, and the plugin counts on from its store.
The notices the older one could not deliver (Telegram out of reach) are told once, on the stand-in."""

from __future__ import annotations

import json
import re
from collections import Counter
import shutil
import sqlite3
from contextlib import closing
from pathlib import Path

import pytest

from engine.adapters.storage import MIGRATIONS, Database
from engine.adapters.storage.store import PluginStore

from support import die_at_start
from support.botapi_thread import threaded_bot_api
from support.e2e_support import Config, outcome, until
from support.telegram_support import notices
from support.upgrade_fixtures import ADMIN, FIXTURES, TOKEN, UNREACHABLE, VERSIONS

POSITION = ("ticket", "symbol", "side", "volume", "price_open", "sl", "tp", "plugin", "opened_at")
PENDING = ("ticket", "symbol", "side", "type", "volume", "price", "sl", "tp", "plugin")
SWITCHES = 7   # the first schema that kept the pause and the plugins' switches across a restart
AFTER = "buy EURUSD volume=0.1 price=1.085 sl=1.07"
LEDGER = ("client_id", "alert_id", "plugin", "kind", "status", "request", "result", "created_at", "done_at")
BOOKS = ("orders", "paper_deals", "paper_requests", "paper_orders", "alerts")


def counts(journal: Path) -> dict[str, int]:
    with closing(sqlite3.connect(journal)) as db:
        return {table: db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0] for table in BOOKS}


def older(user, schema: int, api_url: str) -> tuple[Config, dict, Path]:
    """The fixture's folder copied into the user's home as "bot", on any free port, Telegram's
    servers at ``api_url``; what the older moonhook answered; the journal."""
    shutil.copytree(FIXTURES / f"schema-{schema}", user.home / "bot")
    config = Config(user.home / "bot" / "moonhook.toml")
    config.replace("port = 8080", "port = 0")
    unreachable = UNREACHABLE.format("")
    (line,) = [line for line in config.path.read_text().splitlines() if line.startswith(f'api_url = "{unreachable}')]
    config.replace(line, f'api_url = "{api_url}"')
    answers = json.loads((user.home / "bot" / "answers.json").read_text(encoding="utf-8"))
    return config, answers, user.home / "bot" / "data" / "moonhook.db"


def only(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    return [{k: row.get(k) for k in keys} for row in sorted(rows, key=lambda r: r["ticket"])]


@pytest.mark.parametrize("schema", sorted(VERSIONS))
def test_todays_moonhook_runs_on_the_data_an_earlier_one_left(user, schema):
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        config, then, journal = older(user, schema, api.url)
        with closing(sqlite3.connect(journal)) as db:
            untold = [text for (text,) in db.execute("SELECT text FROM telegram_deliveries WHERE sent_at IS NULL")]
        told_now = upgraded(user, config, then, journal)

        def told() -> list[str]:   # a notice told late says when it happened first: "(at 05:32 UTC) opened ..."
            texts = notices(api.texts(TOKEN, ADMIN))
            return [re.sub(r"^\(at [^)]*\) ", "", text) for text in texts]
        expected = Counter(untold + told_now)
        shown = until(told, lambda texts: Counter(texts) & expected == expected, "the older notices told")
        assert Counter(t for t in shown if t in expected) == expected   # each once, none lost
    assert user.runs[0].interrupt() == 0

    database = Database(journal)
    try:
        assert database.schema_version == len(MIGRATIONS)
        store = PluginStore(database)
        assert store.get("keeper", "seen") == 6   # the five alerts before the upgrade, and this one
        assert store.get("keeper", "last") == {"symbol": "EURUSD", "side": "buy"}
    finally:
        database.close()


def upgraded(user, config: Config, then: dict, journal: Path) -> list[str]:
    """Today's `moonhook run` started on the older data; its answers held to the older one's, and
    one alert sent. The notices of what it did, that it tells (some)."""
    schema = then["schema"]
    before = counts(journal)
    run = user.start("run", config=config, cwd="bot")
    assert f"upgrading the journal from schema {schema} to {len(MIGRATIONS)}" in run.text()

    account, older_account = run.get("/api/account")["account"], then["/api/account"]["account"]
    assert {k: account[k] for k in older_account} == older_account
    assert only(run.get("/api/positions")["positions"], POSITION) == only(then["/api/positions"]["positions"],
                                                                            POSITION)
    orders = run.get("/api/orders")
    assert only(orders["open"], PENDING) == only(then["/api/orders"]["open"], PENDING)
    assert [{k: o[k] for k in LEDGER} for o in orders["recent"]] == [
        {k: o[k] for k in LEDGER} for o in then["/api/orders"]["recent"]]
    # Alerts a resume left 'paused' before schema 15 are skipped at the upgrade, never run; the one
    # held by the pause in force at the stop stays held, where the pause was kept (schema 7 on).
    kept = schema >= SWITCHES
    held = [i for i, old in then["alerts"].items() if old["status"] == "paused"][-1:] if kept else []
    for alert_id, old in then["alerts"].items():
        row = run.get(f"/api/alerts/{alert_id}")
        assert row["status"] == ("paused" if alert_id in held else "skipped" if old["status"] == "paused"
                                 else old["status"]), row
        assert [o.get("ticket") for o in (row["outcome"] or {}).get("orders", [])] == [
            o.get("ticket") for o in (old["outcome"] or {}).get("orders", [])]
    assert run.get("/health")["paused"] is kept
    (idle,) = [p for p in run.get("/api/plugins")["plugins"] if p["name"] == "idle"]
    assert idle["enabled"] is not kept and idle["state"] == ("disabled" if kept else "active"), idle
    trades = run.get("/api/trades")
    profit = then["/api/account"]["account"]["balance"] - 10_000
    assert [(t["symbol"], round(t["profit"], 2)) for t in trades["trades"]] == [("USDJPY", round(profit, 2))], trades
    assert trades["equity"][-1]["balance"] == then["/api/account"]["account"]["balance"], trades["equity"]
    if "/api/trades" in then:   # the older one had the Trades page: the same trades, curve and net by plugin
        for key in ("trades", "equity", "by_plugin", "closed"):
            assert trades[key] == then["/api/trades"][key], key
    assert counts(journal) == before   # nothing traded again at the start

    told = ["opened buy 0.1 EURUSD @ 1.085 (market, engine)"]
    if kept:   # resumed without the alert held: it is skipped, not run days late
        assert run.client.post("/api/resume").status_code == 200
        assert run.get(f"/api/alerts/{held[0]}")["status"] == "skipped"
        told.append("moonhook resumed by api; 1 missed alert skipped")
    # The price falls through the pending buy limit (1.09), and through the older EURUSD entry's stop
    # (1.09): the limit fills and the stop closes, beside the new entry.
    row = run.settled(run.webhook(f"{AFTER} id=after-the-upgrade")["id"])
    assert row["status"] == "done", row
    (order,) = row["outcome"]["orders"]
    (pending,) = then["/api/orders"]["open"]
    stopped = {p["ticket"] for p in then["/api/positions"]["positions"] if p["symbol"] == "EURUSD"}
    still = {p["ticket"] for p in then["/api/positions"]["positions"]} - stopped
    positions = until(lambda: run.get("/api/positions")["positions"], lambda ps: len(ps) == len(still) + 2,
                      "the limit filled and the stop hit")
    assert {p["ticket"] for p in positions} == still | {order["ticket"], pending["ticket"]}
    assert {t["position"] for t in run.get("/api/trades")["trades"] if t["symbol"] == "EURUSD"} == stopped
    assert run.get("/api/orders")["open"] == []
    return told


def test_an_upgrade_that_fails_names_its_migration_and_leaves_the_file_as_it_was(user):
    config, _, journal = older(user, 6, "http://127.0.0.1:9")
    with closing(sqlite3.connect(journal)) as db:   # in the way of migration 9's table
        db.execute("CREATE TABLE plans (note TEXT)")
    before = journal.read_bytes()

    refused = user.moonhook("run", cwd="bot")
    assert refused.returncode == 2, outcome(refused)
    assert refused.stderr.strip().splitlines()[-1] == (
        f"moonhook: data/moonhook.db: its upgrade from schema 6 to {len(MIGRATIONS)} failed in migration 9 (table "
        "plans already exists); the file was left as it was, at schema 6 (the moonhook that wrote it still opens it): "
        "correct that and start again")
    assert journal.read_bytes() == before
    assert not journal.with_name("moonhook.schema-6.db").exists()   # not upgraded: the file is the way back


@pytest.mark.parametrize("schema", sorted(VERSIONS))
def test_a_start_that_fails_after_the_upgrade_leaves_the_older_file_beside_it(user, schema):
    """The journal upgraded, then the start fails (every sandbox worker killed as it starts): the
    file as the older moonhook left it is beside it, named by its schema, whole, and the log says where."""
    older(user, schema, "http://127.0.0.1:9")
    journal = user.home / "bot" / "data" / "moonhook.db"
    with closing(sqlite3.connect(journal)) as db:
        before = list(db.iterdump())
    die_at_start.install(user.home / "site", times=1000)
    user.on_path(user.home / "site")
    refused = user.moonhook("run", cwd="bot")
    assert refused.returncode == 2 and "could not start" in refused.stderr.splitlines()[-1], outcome(refused)
    assert f"the file as it was is kept as data/moonhook.schema-{schema}.db" in refused.stderr, outcome(refused)
    with closing(sqlite3.connect(journal.with_name(f"moonhook.schema-{schema}.db"))) as kept:
        assert kept.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert list(kept.iterdump()) == before
        assert kept.execute("PRAGMA user_version").fetchone()[0] == schema
    with closing(sqlite3.connect(journal)) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


@pytest.mark.parametrize("schema", sorted(VERSIONS))
def test_the_config_an_earlier_moonhook_wrote_is_read_as_it_is(user, schema):
    """Every key an earlier `moonhook init` wrote is read today: none renamed or dropped under it
    (one would stop `check` and `run`, named), none warned about."""
    older(user, schema, "http://127.0.0.1:9")
    checked = user.moonhook("check", cwd="bot")
    assert checked.returncode == 0, outcome(checked)
    assert "moonhook.toml" not in checked.stdout + checked.stderr, outcome(checked)
