"""Who acted, as the history keeps it (docs/dashboard.md, "Session"): an action of the logged-in
page is the dashboard's, one made with the API token the API's, on a real `moonhook run` read
with httpx as a browser (the session cookie and its CSRF token) and as a script (the token)."""

from __future__ import annotations

import httpx

from support.e2e_support import IDLE_CONNECTIONS, init


def test_the_dashboard_acts_as_the_dashboard_and_a_script_with_the_token_as_the_api(user):
    """Both were recorded "by api": the page said "Paused by api" of the trader's own click, and
    a trader could not tell a script holding the token from themselves."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    (bought,) = run.settled(run.webhook("buy GBPUSD volume=0.2 price=1.27 sl=1.26")["id"])["outcome"]["orders"]
    limit = run.settled(run.webhook("buylimit GBPUSD volume=0.1 price=1.20 sl=1.19")["id"])
    (pending,) = limit["outcome"]["orders"]
    token = config.values["server"]["api_token"]
    with httpx.Client(base_url=f"http://127.0.0.1:{run.port}", timeout=10.0, limits=IDLE_CONNECTIONS) as browser:
        assert browser.post("/login", data={"token": token}).status_code == 204
        page = {"X-CSRF-Token": browser.get("/api/session").json()["csrf"]}
        assert browser.post("/api/pause", json={"reason": "NFP"}, headers=page).status_code == 200
        pause = run.get("/api/plugins")["pause"]
        assert (pause["paused"], pause["by"], pause["reason"]) == (True, "dashboard", "NFP")
        assert browser.post("/api/plugins/demo/disable", headers=page).status_code == 200
        (demo,) = run.get("/api/plugins")["plugins"]
        assert (demo["disabled_by"], demo["switched"]["by"]) == ("dashboard", "dashboard")
        assert browser.post("/api/plugins/demo/enable", headers=page).status_code == 200
        assert browser.post("/api/resume", headers=page).status_code == 200
        assert run.get("/api/plugins")["pause"]["by"] == "dashboard"
        assert browser.post(f"/api/positions/{bought['ticket']}/close", headers=page).json()["ok"] is True
        assert browser.post(f"/api/orders/{pending['ticket']}/cancel", headers=page).json()["ok"] is True
    assert run.client.post("/api/pause").status_code == 200       # a script, with the token
    assert run.get("/api/plugins")["pause"]["by"] == "api"
    assert run.client.post("/api/plugins/demo/disable").status_code == 200
    assert run.get("/api/plugins")["plugins"][0]["disabled_by"] == "api"
    closes = [(o["plugin"], o["status"]) for o in run.get("/api/orders")["recent"] if o["kind"] == "close"]
    assert closes == [("dashboard", "done")] * 2    # the close and the cancel, as the ledger keeps them
    text = run.text()
    assert "paused by dashboard" in text and "plugin demo disabled (dashboard)" in text, text
    assert "paused by api" in text and "plugin demo disabled (api)" in text
    assert run.interrupt() == 0
