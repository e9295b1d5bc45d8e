"""A trader upgrades moonhook on the journal the older one left when it crashed: the new one
upgrades it and runs the alert in flight once. Going back to the older one on the journal a newer
one left, `moonhook run` says why it cannot start in one line, and leaves the file as it found it."""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from pathlib import Path

from engine.adapters.storage import MIGRATIONS, AlertJournal, Database
from engine.domain.alerts import parse_body

from support import crash_point
from support.e2e_support import init, outcome
from support.older_journal import moonhook_of

OLDER = 7   # a moonhook from before the dashboard's indexes, the plans, the exposure, the untold events...
TICKET = 7


def crashed_in_flight(monkeypatch, journal: Path) -> int:
    """The journal a moonhook of schema OLDER left when it died with an alert in flight: its
    entry filled by the paper broker (position TICKET), the ledger's row still as written
    before the send. The alert's id."""
    with moonhook_of(monkeypatch, MIGRATIONS[:OLDER]):
        database = Database(journal)
    now = time.time()
    alert = parse_body("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=inflight")
    alert_id = AlertJournal(database).record(alert, now=now).id
    cid, request = f"a{alert_id}-engine-open", {"kind": "market", "symbol": "EURUSD", "side": "buy", "volume": 0.1}
    with database.transaction() as db:
        db.execute("INSERT INTO orders (client_id, alert_id, plugin, kind, request, status, created_at) "
                   "VALUES (?, ?, 'engine', 'market', ?, 'unknown', ?)",
                   [cid, alert_id, json.dumps({**request, "client_id": cid}), now])
        db.execute("INSERT INTO paper_requests (client_id, result, time) VALUES (?, ?, ?)",
                   [cid, json.dumps({"ok": True, "ticket": TICKET, "price": 1.1, "volume": 0.1}), now])
        db.execute("INSERT INTO paper_positions (ticket, symbol, side, volume, price_open, plugin, alert_id, "
                   "opened_at, commission) VALUES (?, 'EURUSD', 'buy', 0.1, 1.1, 'engine', ?, ?, 0)",
                   [TICKET, alert_id, now])
    database.close()
    return alert_id


def test_an_older_moonhooks_journal_is_upgraded_and_its_alert_in_flight_run_once(user, monkeypatch):
    config, _ = init(user, "bot")
    journal = user.home / "bot" / "data" / "moonhook.db"
    alert_id = crashed_in_flight(monkeypatch, journal)
    run = user.start("run", config=config, cwd="bot")
    assert f"upgrading the journal from schema {OLDER} to {len(MIGRATIONS)}" in run.text()
    row = run.settled(alert_id)
    assert row["status"] == "done", row
    assert row["outcome"]["orders"][0]["ticket"] == TICKET   # found at the paper broker, not sent again
    assert [p["ticket"] for p in run.get("/api/positions")["positions"]] == [TICKET]
    assert run.interrupt() == 0
    with closing(sqlite3.connect(journal)) as db:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
        assert db.execute("SELECT status FROM orders").fetchall() == [("done",)]


def test_a_journal_a_newer_moonhook_left_is_refused_in_one_line_and_left_unchanged(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    assert run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=n1")["id"])["status"] == "done"
    assert run.interrupt() == 0
    journal = user.home / "bot" / "data" / "moonhook.db"
    with closing(sqlite3.connect(journal)) as db:                  # as a newer moonhook's migration leaves it
        db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    before = journal.read_bytes()

    refused = user.moonhook("run", cwd="bot")
    assert refused.returncode == 2, outcome(refused)
    assert refused.stderr.strip().splitlines()[-1] == (
        f"moonhook: data/moonhook.db: schema version {len(MIGRATIONS) + 1} is newer than this moonhook "
        f"({len(MIGRATIONS)}): run the moonhook that wrote it, or restore a backup taken before it; the file was "
        "not changed")
    assert "Traceback" not in refused.stderr
    assert journal.read_bytes() == before


def _dump(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as db:
        return list(db.iterdump())


def test_a_start_killed_in_the_upgrade_leaves_one_copy_which_the_next_start_keeps(user, monkeypatch):
    """The next start found the killed one's moonhook.schema-7.db and made moonhook.schema-7-2.db, the
    same journal copied again (and again at each start killed so). It is that journal's copy: kept, no second."""
    config, _ = init(user, "bot")
    journal = user.home / "bot" / "data" / "moonhook.db"
    alert_id = crashed_in_flight(monkeypatch, journal)
    before = _dump(journal)
    crash_point.install(user.home / "site")
    user.on_path(user.home / "site")
    user.env |= {"CRASH_POINT_AT": "1", "CRASH_POINT_BEFORE": "1"}   # killed before the upgrade's commit
    killed = user.moonhook("run", cwd="bot")
    assert killed.returncode == -9, outcome(killed)
    assert "upgrading the journal" in killed.stderr, outcome(killed)
    kept = journal.with_name(f"moonhook.schema-{OLDER}.db")
    assert _dump(kept) == before and _dump(journal) == before   # the upgrade rolled back, its copy made
    for key in ("CRASH_POINT_AT", "CRASH_POINT_BEFORE"):
        del user.env[key]

    run = user.start("run", config=config, cwd="bot")
    assert f"is kept as data/{kept.name} " in run.text(), run.text()
    assert run.settled(alert_id)["status"] == "done"
    assert run.interrupt() == 0
    assert sorted(p.name for p in journal.parent.glob("moonhook.schema-*")) == [kept.name]
    assert _dump(kept) == before
