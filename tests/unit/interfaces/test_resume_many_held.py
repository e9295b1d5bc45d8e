"""A resume's question names the held alerts by their ids as runs (``pause.held_ids``): the
Plugins page sends back the string ``GET /api/plugins`` gave it. Past 100,000 held alerts (a
weekend's pause under a busy webhook) that string was refused (400, "more than 100000 ids"),
so neither Resume of the page could ever resume; the runs are now compared as runs, never
expanded, however many ids they name."""

from __future__ import annotations

from support.engine_support import running
from support.web_support import AUTH, BUY, SECRET, serving

MANY = 100_000   # copies of the held alert: more than a run could name before


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
