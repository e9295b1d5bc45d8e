"""The dashboard's views through `moonhook run` as a user starts it: each /api route the page
reads answers with the bearer token, and a script saved through the API is loaded by the
running engine (whose file watcher sees the same save) before the answer comes."""

from __future__ import annotations

import hashlib

from support.clock_shift import at_midday, utc_day
from support.e2e_support import init

BETTER = """plugin = {priority = 10}
function on_alert(a)
  if a.side ~= nil and a.sl == nil then return false, "a stop, please" end
end
"""
BROKEN = "plugin = {}\nfunction on_alert(a)\n  return 1 +\nend\n"


def test_every_view_of_the_dashboard_answers_through_moonhook_run(user, monkeypatch):
    at_midday(user, monkeypatch, utc_day)  # the overview's today: the alerts and the trade in one day
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    accepted = run.webhook("buy EURUSD risk=1 sl=1.0800 tp=1.0950 price=1.0850")
    refused = run.webhook("buy EURUSD volume=0.1 price=1.0850")  # demo.lua wants a stop
    assert run.settled(accepted["id"])["status"] == "done"
    assert run.settled(refused["id"])["status"] == "rejected"

    overview = run.get("/api/overview")
    assert overview["today"]["alerts"] == 2 and overview["today"]["rejections"] == 1
    assert overview["today"]["orders"] == 1 and sum(p["count"] for p in overview["latency"]) == 1
    assert overview["broker"]["name"] == "paper" and len(overview["positions"]) == 1

    assert [a["id"] for a in run.get("/api/alerts?status=rejected&plugin=demo")["alerts"]] == [refused["id"]]
    detail = run.get(f"/api/alerts/{accepted['id']}")
    assert detail["decisions"] == [{"plugin": "demo", "result": "pass"}]
    assert detail["orders"][0]["status"] == "done" and detail["timings"]["to_broker_ms"] is not None

    scripts = run.get("/api/scripts")
    assert scripts["editable"] is True and [s["name"] for s in scripts["scripts"]] == ["demo.lua"]
    assert "on_alert" in run.get("/api/scripts/demo.lua")["text"]
    assert run.get("/api/examples")["examples"][0]["name"] == "demo.lua"
    closing = run.webhook("close EURUSD price=1.0900")
    assert run.settled(closing["id"])["status"] == "done"
    trades = run.get("/api/trades")
    (trade,) = trades["trades"]
    assert trade["plugin"] == "engine" and trade["profit"] > 0 and trades["by_plugin"]["engine"]["trades"] == 1
    assert trades["equity"][-1]["profit"] == trade["net"]
    today = run.get("/api/overview")["today"]
    assert (today["trades_closed"], today["net"]) == (1, trade["net"])   # the dashboard's Today panel
    check = run.client.post("/api/scripts/demo.lua/check", content=BROKEN)
    assert check.status_code == 200 and check.json()["findings"][0]["line"] == 4

    opened = run.get("/api/scripts/demo.lua")["version"]
    saved = run.client.put("/api/scripts/demo.lua", content=BETTER, headers={"If-Match": f'"{opened}"'})
    now = hashlib.sha256(BETTER.encode()).hexdigest()
    assert saved.status_code == 200 and saved.json() == {"loaded": True, "plugin": "demo", "enabled": True,
                                                         "version": now, "serving_version": now[:12]}
    failed = run.client.put("/api/scripts/demo.lua", content=BROKEN)
    assert failed.status_code == 200 and failed.json()["loaded"] is False and failed.json()["line"] == 4
    assert run.client.put("/api/scripts/..%2Fescape.lua", content=BETTER).status_code in (400, 404)
    assert (user.home / "bot" / "scripts" / "demo.lua").read_text() == BROKEN
    assert run.interrupt() == 0
