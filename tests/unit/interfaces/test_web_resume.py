"""Pause and resume over real HTTP (Hypercorn on port 0, httpx, a real engine): the alerts held
while paused, skipped or run at the resume, and the resume checked against the held alerts its
question showed (``held_ids``, their ids as runs: ``pause.held_ids`` of ``GET /api/plugins``)."""

from __future__ import annotations

from support.engine_support import running
from support.web_support import AUTH, BUY, SECRET, serving

MANY = 100_000   # copies of a held alert: more than a run could name before


async def test_pause_journals_without_executing_and_resume_runs_the_missed(tmp_path):
    def buy(volume):
        return f'{{"symbol": "EURUSD", "action": "buy", "volume": {volume}, "price": 1.1}}'

    async with running(tmp_path) as engine, serving(engine) as client:
        paused = await client.post("/api/pause", headers=AUTH)
        health = (await client.get("/health", headers=AUTH)).json()
        first = (await client.post(f"/webhook/{SECRET}", content=buy(0.1))).json()
        await engine.drain()
        first_row = engine.journal.get(first["id"])
        positions_paused = await engine.broker.positions()
        skipped = await client.post("/api/resume", headers=AUTH)
        still = engine.journal.get(first["id"])["status"]
        await client.post("/api/pause", headers=AUTH)
        second = (await client.post(f"/webhook/{SECRET}", content=buy(0.2))).json()
        by_query = await client.post("/api/resume?execute_missed=true", headers=AUTH)
        await engine.drain()
        await client.post("/api/pause", headers=AUTH)
        third = (await client.post(f"/webhook/{SECRET}", content=buy(0.3))).json()
        by_body = await client.post("/api/resume", headers=AUTH, json={"execute_missed": True})
        await engine.drain()
        statuses = [engine.journal.get(a["id"])["status"] for a in (first, second, third)]
        positions = await engine.broker.positions()
    assert paused.status_code == 200 and paused.json() == {"paused": True}
    assert health["status"] == "degraded" and health["paused"] is True
    assert first["status"] == "accepted" and first_row["status"] == "paused" and positions_paused == []
    assert skipped.json()["queued"] == 0 and still == "skipped"   # for good: a later resume does not run it
    assert by_query.json() == {"paused": False, "execute_missed": True, "queued": 1}
    assert by_body.json()["queued"] == 1
    assert statuses == ["skipped", "done", "done"]
    assert sorted(p["volume"] for p in positions) == [0.2, 0.3]


async def test_a_mistyped_execute_missed_is_refused_and_the_held_alerts_wait(tmp_path):
    """``execute_missed=ture`` once read as no: the engine resumed and skipped the held alerts
    for good, where the trader asked to run them. Now a 400 naming it, and nothing resumed."""
    async with running(tmp_path) as engine, serving(engine) as client:
        await client.post("/api/pause", headers=AUTH)
        held = (await client.post(f"/webhook/{SECRET}", content=BUY)).json()
        await engine.drain()
        typo = await client.post("/api/resume?execute_missed=ture", headers=AUTH)
        odd = await client.post("/api/resume", headers=AUTH, json={"execute_missed": "maybe"})
        still = (await client.get("/health", headers=AUTH)).json()["paused"]
        status = engine.journal.get(held["id"])["status"]
        ran = await client.post("/api/resume", headers=AUTH, json={"execute_missed": "yes"})
        await engine.drain()
        done = engine.journal.get(held["id"])["status"]
    assert [typo.status_code, odd.status_code] == [400, 400]
    assert typo.json()["error"].startswith("execute_missed:") and odd.json()["error"].startswith("execute_missed:")
    assert still is True and status == "paused"
    assert ran.json() == {"paused": False, "execute_missed": True, "queued": 1} and done == "done"


async def test_a_resume_asked_with_fewer_held_alerts_than_are_held_now_leaves_the_engine_paused(tmp_path):
    """The Plugins page asked "the alert received while paused will be skipped"; a second one
    came before the click, and Resume skipped both, the second unshown. The ids shown go with
    the resume (``held_ids``): others held now is a 409 saying which, nothing skipped or run."""
    async with running(tmp_path) as engine, serving(engine) as client:
        await client.post("/api/pause", headers=AUTH)
        first = (await client.post(f"/webhook/{SECRET}", content=BUY)).json()
        await engine.drain()
        pause = (await client.get("/api/plugins", headers=AUTH)).json()["pause"]
        second = (await client.post(f"/webhook/{SECRET}", content=BUY.replace("0.1", "0.2"))).json()
        await engine.drain()
        stale = await client.post(f"/api/resume?held_ids={pause['held_ids']}", headers=AUTH)
        stale_run = await client.post(f"/api/resume?execute_missed=true&held_ids={pause['held_ids']}", headers=AUTH)
        still = (await client.get("/health", headers=AUTH)).json()["paused"]
        statuses = [engine.journal.get(a["id"])["status"] for a in (first, second)]
        bad = [await client.post(f"/api/resume?{q}", headers=AUTH) for q in ("held_ids=x", "held=-1", "held=2",
                                                                              "held=0&held_ids=1")]
        asked_again = await client.post(f"/api/resume?held_ids={stale.json()['held_ids']}", headers=AUTH)
        skipped = [engine.journal.get(a["id"])["status"] for a in (first, second)]
    assert pause["held"] == 1 and pause["held_ids"] == str(first["id"])
    assert stale.status_code == 409 and stale_run.status_code == 409
    assert stale.json() == {"error": f"the alerts held from the pause changed since they were shown: alert "
                                     f"{second['id']} held since; 2 held now: asked again",
                            "held": 2, "held_ids": f"{first['id']}-{second['id']}"}
    assert still is True and statuses == ["paused", "paused"]
    assert [r.status_code for r in bad] == [400] * 4, [r.json() for r in bad]
    assert [r.json()["error"].split(":")[0] for r in bad] == ["held_ids", "held", "held", "held"]
    assert asked_again.json() == {"paused": False, "execute_missed": False, "queued": 0}
    assert skipped == ["skipped", "skipped"]


async def test_an_alert_held_in_place_of_the_one_shown_is_refused_though_the_count_matches(tmp_path):
    """The page showed one alert held; another admin ran it and paused again, and a new alert was
    held. ``held=1`` matched and the Resume skipped the new alert, never shown; its ids do not."""
    async with running(tmp_path) as engine, serving(engine) as client:
        await client.post("/api/pause", headers=AUTH)
        shown = (await client.post(f"/webhook/{SECRET}", content=BUY)).json()
        await engine.drain()
        pause = (await client.get("/api/plugins", headers=AUTH)).json()["pause"]
        assert (await client.post("/api/resume?execute_missed=true", headers=AUTH)).json()["queued"] == 1
        await engine.drain()
        await client.post("/api/pause", headers=AUTH)
        unshown = (await client.post(f"/webhook/{SECRET}", content=BUY.replace("0.1", "0.2"))).json()
        await engine.drain()
        count = await client.post(f"/api/resume?held={pause['held']}", headers=AUTH)
        ids = await client.post(f"/api/resume?held_ids={pause['held_ids']}", headers=AUTH)
        none_shown = await client.post("/api/resume?held=0", headers=AUTH)   # an older page's "none held"
        status = engine.journal.get(unshown["id"])["status"]
        still = (await client.get("/health", headers=AUTH)).json()["paused"]
    assert count.status_code == 400 and "held_ids" in count.json()["error"]
    assert ids.status_code == 409 and ids.json()["held_ids"] == str(unshown["id"])
    assert f"alert {shown['id']} no longer held" in ids.json()["error"]
    assert none_shown.status_code == 409 and none_shown.json()["held"] == 1
    assert status == "paused" and still is True


# Past 100,000 held alerts (a weekend's pause under a busy webhook) the page's held_ids was refused
# (400, "more than 100000 ids"), so neither Resume of the Plugins page could ever resume; the runs
# are now compared as runs, never expanded, however many ids they name.
def _hold_copies(engine, alert_id: int, copies: int) -> None:
    """``copies`` more alerts held from the pause, copies of ``alert_id`` (as that many webhooks would)."""
    columns = [c for c in engine.database.db["alerts"].columns_dict if c != "id"]
    with engine.database.transaction() as db:
        db.execute(f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
                   f"INSERT INTO alerts ({', '.join(columns)}) SELECT {', '.join(columns)} FROM alerts, n "
                   f"WHERE alerts.id = ?", [copies, alert_id])


async def test_the_ids_the_plugins_page_was_given_are_taken_back_past_100000_held_alerts(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        await client.post("/api/pause", headers=AUTH)
        first = (await client.post(f"/webhook/{SECRET}", content=BUY)).json()
        await engine.drain()
        _hold_copies(engine, first["id"], MANY)
        pause = (await client.get("/api/plugins", headers=AUTH)).json()["pause"]
        later = (await client.post(f"/webhook/{SECRET}", content=BUY.replace("0.1", "0.2"))).json()
        await engine.drain()
        asked = await client.post(f"/api/resume?held_ids={pause['held_ids']}", headers=AUTH)
        wild = await client.post("/api/resume?held_ids=1-9999999999", headers=AUTH)   # answered, not expanded
        still = (await client.get("/health", headers=AUTH)).json()["paused"]
    last = first["id"] + MANY
    assert pause["held"] == MANY + 1 and pause["held_ids"] == f"{first['id']}-{last}"
    assert asked.status_code == 409, asked.json()
    assert asked.json()["error"] == ("the alerts held from the pause changed since they were shown: alert "
                                     f"{later['id']} held since; {MANY + 2} held now: asked again")
    assert asked.json()["held_ids"] == f"{first['id']}-{later['id']}"
    assert wild.status_code == 409 and "no longer held" in wild.json()["error"], wild.json()
    assert still is True
