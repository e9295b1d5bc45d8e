"""The dashboard's login as a browser meets it on `moonhook run` (docs/dashboard.md, "Session"):
log in with the API token, read the API with the cookie alone, a change refused without the
CSRF token and accepted with it, logout, and the old cookie refused from then on."""

from __future__ import annotations

import httpx

from support.e2e_support import IDLE_CONNECTIONS, init

COOKIE = "moonhook_session"


def test_log_in_read_change_with_csrf_log_out(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    token = config.values["server"]["api_token"]
    # A browser: no Authorization header, only what the cookie jar holds.
    with httpx.Client(base_url=f"http://127.0.0.1:{run.port}", timeout=10.0, limits=IDLE_CONNECTIONS) as browser:
        assert browser.get("/api/plugins").status_code == 401
        wrong = browser.post("/login", json={"token": token + "x"})
        assert wrong.status_code == 401 and COOKIE not in browser.cookies

        login = browser.post("/login", data={"token": token})  # the login form's field
        assert login.status_code == 204 and COOKIE in browser.cookies
        sid = browser.cookies[COOKIE]
        plugins = browser.get("/api/plugins")
        assert plugins.status_code == 200 and [p["name"] for p in plugins.json()["plugins"]] == ["demo"]
        csrf = browser.get("/api/session").json()["csrf"]

        forged = browser.post("/api/pause", json={"reason": "forged"})
        assert forged.status_code == 403 and forged.json() == {"error": "missing or wrong X-CSRF-Token"}
        assert run.get("/api/plugins")["pause"]["paused"] is False
        paused = browser.post("/api/pause", json={"reason": "from the dashboard"}, headers={"X-CSRF-Token": csrf})
        assert paused.status_code == 200 and run.get("/api/plugins")["pause"]["paused"] is True

        assert browser.post("/logout").status_code == 204 and COOKIE not in browser.cookies
        old = browser.get("/api/plugins", headers={"Cookie": f"{COOKIE}={sid}"})
        assert old.status_code == 401
    assert token not in run.text() and sid not in run.text() and csrf not in run.text()
    assert run.interrupt() == 0
