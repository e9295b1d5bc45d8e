"""The dashboard's login as a browser meets it on `moonhook run` (docs/dashboard.md, "Session"):
log in with the API token, read the API with the cookie alone, a change refused without the
CSRF token and accepted with it, logout (with it too), and the old cookie refused from then on."""

from __future__ import annotations

import httpx

from support.e2e_support import IDLE_CONNECTIONS, init

PREFIX = "moonhook_session_"  # and the port


def test_log_in_read_change_with_csrf_log_out(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    token = config.values["server"]["api_token"]
    cookie = f"{PREFIX}{run.port}"
    # A browser: no Authorization header, only what the cookie jar holds.
    with httpx.Client(base_url=f"http://127.0.0.1:{run.port}", timeout=10.0, limits=IDLE_CONNECTIONS) as browser:
        assert browser.get("/api/plugins").status_code == 401
        wrong = browser.post("/login", json={"token": token + "x"})
        assert wrong.status_code == 401 and cookie not in browser.cookies

        login = browser.post("/login", data={"token": token})  # the login form's field
        assert login.status_code == 204 and cookie in browser.cookies
        sid = browser.cookies[cookie]
        plugins = browser.get("/api/plugins")
        assert plugins.status_code == 200 and [p["name"] for p in plugins.json()["plugins"]] == ["demo"]
        csrf = browser.get("/api/session").json()["csrf"]

        forged = browser.post("/api/pause", json={"reason": "forged"})
        assert forged.status_code == 403 and forged.json() == {"error": "missing or wrong X-CSRF-Token"}
        assert run.get("/api/plugins")["pause"]["paused"] is False
        paused = browser.post("/api/pause", json={"reason": "from the dashboard"}, headers={"X-CSRF-Token": csrf})
        assert paused.status_code == 200 and run.get("/api/plugins")["pause"]["paused"] is True

        assert browser.post("/logout").status_code == 403 and cookie in browser.cookies  # the CSRF token too
        assert browser.post("/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        assert cookie not in browser.cookies
        old = browser.get("/api/plugins", headers={"Cookie": f"{cookie}={sid}"})
        assert old.status_code == 401
    assert token not in run.text() and sid not in run.text() and csrf not in run.text()
    assert run.interrupt() == 0


def test_two_moonhooks_on_one_machine_keep_their_own_logins(user):
    """A browser sends a host's cookies to every port of it: while the cookie's name was the same
    for every port, logging in to the second moonhook replaced the first one's session cookie,
    and the first dashboard was logged out."""
    runs = []
    for folder in ("bot", "other"):
        config, _ = init(user, folder)
        runs.append((user.start("run", config=config, cwd=folder), config.values["server"]["api_token"]))
    with httpx.Client(timeout=10.0, limits=IDLE_CONNECTIONS) as browser:  # one cookie jar, for 127.0.0.1
        for run, token in runs:
            assert browser.post(f"http://127.0.0.1:{run.port}/login", json={"token": token}).status_code == 204
        for run, _ in runs:
            assert browser.get(f"http://127.0.0.1:{run.port}/api/session").status_code == 200, run.port
        assert sorted(c.name for c in browser.cookies.jar) == sorted(f"{PREFIX}{run.port}" for run, _ in runs)
    for run, _ in runs:
        assert run.interrupt() == 0


def test_wrong_tokens_from_one_ipv6_host_are_counted_together_whatever_its_addresses(user):
    """An IPv6 host is commonly given a whole /64, and picks a new address in it at will: counted
    by the address, its guesses at the token were never limited (a new address for each). Counted
    by the /64, as the connections are: its 6th login is a 429, while another /64 logs in. Behind a
    reverse proxy on this machine, which tells the client's address in X-Forwarded-For."""
    config, _ = init(user, "bot")
    config.replace("trusted_proxies = []", 'trusted_proxies = ["127.0.0.1"]')
    run = user.start("run", config=config, cwd="bot")
    token = config.values["server"]["api_token"]
    with httpx.Client(base_url=f"http://127.0.0.1:{run.port}", timeout=10.0, limits=IDLE_CONNECTIONS) as client:
        def login(given: str, client_address: str) -> httpx.Response:
            return client.post("/login", json={"token": given}, headers={"X-Forwarded-For": client_address})

        guesses = [login(f"guess-{i}", f"2001:db8:1:2::{i:x}") for i in range(1, 6)]
        assert [g.status_code for g in guesses] == [401] * 5
        same_host = login(token, "2001:db8:1:2:a:b:c:d")
        assert same_host.status_code == 429 and int(same_host.headers["Retry-After"]) > 0, same_host.text
        assert login(token, "2001:db8:1:3::1").status_code == 204  # another host's /64
    assert run.interrupt() == 0
