"""The dashboard's login session over real HTTP (docs/dashboard.md, "Session"): the cookie, the
API with the cookie alone, CSRF on changes, logout, expiry, the failed-login limiter, and the
secrets kept out of the log. Time is moved by a clock handed to the session store: no sleeping."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from pathlib import Path

import httpx
import pytest

from engine.app.settings import SettingsError, load_settings
from engine.domain.config import ServerConfig
from engine.interfaces.web.session import COOKIE, LOGIN_WINDOW, Sessions

from support.engine_support import running
from support.web_support import AUTH, SERVER, TOKEN, serving


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def name(port: int | None) -> str:
    """The session cookie's name on the server at ``port`` (a browser sends a host's cookies to all its ports)."""
    return f"{COOKIE}_{port}"


def session_of(answer: httpx.Response) -> str:
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{name(answer.request.url.port)}="), cookie
    return cookie.split(";", 1)[0].split("=", 1)[1]


def with_cookie(client: httpx.AsyncClient, sid: str, **headers: str) -> dict[str, str]:
    return {"Cookie": f"{name(client.base_url.port)}={sid}", **headers}


async def login(client: httpx.AsyncClient, token: str = TOKEN, **kw) -> httpx.Response:
    answer = await client.post("/login", json={"token": token}, **kw)
    client.cookies.clear()  # each request names its cookie itself
    return answer


async def test_login_sets_the_cookie_and_the_api_takes_it_alone(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        answer = await login(client)
        sid = session_of(answer)
        form = await client.post("/login", data={"token": TOKEN})
        client.cookies.clear()
        plugins = await client.get("/api/plugins", headers=with_cookie(client, sid))
        session = await client.get("/api/session", headers=with_cookie(client, sid))
        without = [await client.get("/api/plugins"), await client.get("/api/session"),
                   await client.get("/api/session", headers=AUTH)]
    assert answer.status_code == 204
    attributes = {part.strip().split("=")[0].lower(): part.strip() for part in answer.headers["set-cookie"].split(";")}
    assert attributes["max-age"] == "Max-Age=43200"  # server.session_hours, 12 by default
    assert "httponly" in attributes and attributes["samesite"] == "SameSite=Strict" and attributes["path"] == "Path=/"
    assert "secure" not in attributes  # plain HTTP, no proxy
    assert form.status_code == 204 and session_of(form) != sid
    assert len(sid) >= 43  # token_urlsafe(32)
    assert plugins.status_code == 200 and "plugins" in plugins.json()
    assert session.status_code == 200 and set(session.json()) == {"csrf", "expires_at"}
    assert session.json()["csrf"] not in (sid, TOKEN)
    assert [r.status_code for r in without] == [401, 401, 401]  # /api/session answers a session only


async def test_changes_by_cookie_need_the_csrf_token_and_the_bearer_token_does_not(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        sid = session_of(await login(client))
        csrf = (await client.get("/api/session", headers=with_cookie(client, sid))).json()["csrf"]
        missing = await client.post("/api/pause", headers=with_cookie(client, sid))
        wrong = await client.post("/api/pause", headers=with_cookie(client, sid, **{"X-CSRF-Token": csrf[:-1] + "x"}))
        paused_then = engine.paused
        accepted = await client.post("/api/pause", headers=with_cookie(client, sid, **{"X-CSRF-Token": csrf}))
        paused_now = engine.paused
        by_bearer = await client.post("/api/resume", headers=AUTH)
        wrong_bearer = await client.get("/api/plugins", headers=with_cookie(client, sid, Authorization="Bearer nope"))
        metrics = [await client.get("/metrics", headers=with_cookie(client, sid)),
                   await client.get("/metrics", headers=AUTH)]
    assert [missing.status_code, wrong.status_code] == [403, 403]
    assert missing.json() == {"error": "missing or wrong X-CSRF-Token"} and not paused_then
    assert accepted.status_code == 200 and paused_now
    assert by_bearer.status_code == 200 and not engine.paused
    assert wrong_bearer.status_code == 401  # a bearer token given is judged alone
    assert [m.status_code for m in metrics] == [401, 200]  # /metrics: the bearer token only


async def test_logout_ends_the_session_at_once(tmp_path):
    async with running(tmp_path) as engine, serving(engine) as client:
        sid = session_of(await login(client))
        before = await client.get("/api/plugins", headers=with_cookie(client, sid))
        csrf = (await client.get("/api/session", headers=with_cookie(client, sid))).json()["csrf"]
        out = await client.post("/logout", headers=with_cookie(client, sid, **{"X-CSRF-Token": csrf}))
        after = [await client.get("/api/plugins", headers=with_cookie(client, sid)),
                 await client.get("/api/session", headers=with_cookie(client, sid))]
    assert before.status_code == 200
    assert out.status_code == 204
    cleared = out.headers["set-cookie"]
    cookie = name(out.request.url.port)
    assert cleared.startswith(f'{cookie}=""') or cleared.startswith(f"{cookie}=;")
    assert "Max-Age=0" in cleared
    assert [r.status_code for r in after] == [401, 401]
    assert "log in again" in after[0].json()["error"]


async def test_a_logout_needs_the_csrf_token_as_every_change_by_the_cookie_does(tmp_path):
    """A page of another program on this machine is the same site to the browser, which sends it
    the SameSite=Strict cookie: without the CSRF token its logout is refused and the session
    goes on. A logout that brings no cookie (another site's form: the browser keeps the cookie
    home) has nothing to forget and clears nothing; that of an ended session clears its cookie."""
    async with running(tmp_path) as engine, serving(engine) as client:
        sid = session_of(await login(client))
        csrf = (await client.get("/api/session", headers=with_cookie(client, sid))).json()["csrf"]
        refused = [await client.post("/logout", headers=with_cookie(client, sid)),
                   await client.post("/logout", headers=with_cookie(client, sid, **{"X-CSRF-Token": csrf[:-1] + "x"}))]
        on = await client.get("/api/plugins", headers=with_cookie(client, sid))
        without_cookie = await client.post("/logout")
        still = await client.get("/api/plugins", headers=with_cookie(client, sid))
        out = await client.post("/logout", headers=with_cookie(client, sid, **{"X-CSRF-Token": csrf}))
        again = await client.post("/logout", headers=with_cookie(client, sid))
    assert [r.status_code for r in refused] == [403, 403]
    assert refused[0].json() == {"error": "missing or wrong X-CSRF-Token"} and "set-cookie" not in refused[0].headers
    assert on.status_code == 200 and still.status_code == 200
    assert without_cookie.status_code == 204 and "set-cookie" not in without_cookie.headers
    assert out.status_code == 204 and "Max-Age=0" in out.headers["set-cookie"]
    assert again.status_code == 204 and "Max-Age=0" in again.headers["set-cookie"]  # an ended session's cookie


async def test_an_expired_session_is_refused_and_forgotten(tmp_path):
    clock = Clock()
    sessions = Sessions(2.0, clock)
    async with running(tmp_path) as engine, serving(engine, replace(SERVER, session_hours=2.0), sessions) as client:
        first = await login(client)
        sid = session_of(first)
        clock.now += 2 * 3600 - 1
        alive = await client.get("/api/plugins", headers=with_cookie(client, sid))
        before = time.time()
        expires_at = (await client.get("/api/session", headers=with_cookie(client, sid))).json()["expires_at"]
        after = time.time()
        clock.now += 1
        dead = await client.get("/api/plugins", headers=with_cookie(client, sid))
        kept_after_refusal = len(sessions)
        others = [session_of(await login(client)) for _ in range(3)]
        clock.now += 2 * 3600
        session_of(await login(client))  # adding one drops the three expired ones
    assert "Max-Age=7200" in first.headers["set-cookie"]
    assert alive.status_code == 200 and dead.status_code == 401
    assert before + 1 - 0.001 <= expires_at <= after + 1 + 0.001  # a Unix time: 1 s was left
    assert kept_after_refusal == 0
    assert len(others) == 3 and len(sessions) == 1


async def test_failed_logins_are_limited_per_address_until_the_oldest_leaves_the_window(tmp_path):
    clock = Clock()
    server = replace(SERVER, trusted_proxies=("127.0.0.1",))  # so the test can speak for two addresses
    alice, mallory = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.66"}
    async with running(tmp_path) as engine, serving(engine, server, Sessions(12, clock)) as client:
        wrong = []
        for _ in range(5):
            wrong.append(await login(client, "guess", headers=mallory))
            clock.now += 10  # the first failure at 1000, the fifth at 1040
        limited_right = await login(client, headers=mallory)
        other_address = await login(client, headers=alice)
        clock.now = 1000 + LOGIN_WINDOW - 1
        still = await login(client, headers=mallory)
        clock.now = 1000 + LOGIN_WINDOW  # the first failure has left the window: 4 remain
        again = await login(client, headers=mallory)
    assert [r.status_code for r in wrong] == [401] * 5
    assert wrong[0].json() == {"error": "wrong token: give the server's api_token"}
    assert limited_right.status_code == 429 and limited_right.headers["Retry-After"] == "250"
    assert "too many failed logins" in limited_right.json()["error"] and "set-cookie" not in limited_right.headers
    assert other_address.status_code == 204
    assert still.status_code == 429 and still.headers["Retry-After"] == "1"
    assert again.status_code == 204


async def test_a_login_sent_by_another_site_s_page_is_refused_and_not_counted(tmp_path):
    """A stranger's page in the trader's browser posts from the trader's address: its guesses,
    marked by the browser (Sec-Fetch-Site), must not close the door to the trader's own login."""
    async with running(tmp_path) as engine, serving(engine) as client:
        strangers = [await login(client, "guess", headers={"Sec-Fetch-Site": site})
                     for site in ("cross-site", "same-site", "Cross-Site") for _ in range(3)]
        own_page = await login(client, headers={"Sec-Fetch-Site": "same-origin"})
        typed_in = await login(client, "guess", headers={"Sec-Fetch-Site": "none"})
    assert [r.status_code for r in strangers] == [403] * 9
    assert "another site's page" in strangers[0].json()["error"] and "set-cookie" not in strangers[0].headers
    assert own_page.status_code == 204
    assert typed_in.status_code == 401  # counted as any wrong token is


async def test_a_login_from_another_site_s_page_in_an_older_browser_is_refused_by_its_origin(tmp_path):
    """A browser too old to send Sec-Fetch-Site (Safari before 16.4, Firefox before 90) still sends
    Origin with a page's POST: another site's, or null (a sandboxed frame, a data: page), is refused
    uncounted. The dashboard's own page (its Origin this server's, at the name and port the Host
    names), and a client that sends neither header (curl, moonhook send), log in as before."""
    async with running(tmp_path) as engine, serving(engine) as client:
        port = client.base_url.port
        foreign = ("http://127.0.0.2:8000", f"http://localhost:{port}", f"http://127.0.0.1:{port + 1}",
                   "http://127.0.0.1", f"https://127.0.0.1:{port}.evil.example", "null", "", "file://")
        strangers = [await login(client, "guess", headers={"Origin": origin}) for origin in foreign]
        own_page = await login(client, headers={"Origin": f"http://127.0.0.1:{port}"})
        own_page_wrong = await login(client, "guess", headers={"Origin": f"HTTP://127.0.0.1:{port}"})
        proxied = await login(client, headers={"Origin": "https://trader.example.com", "Host": "127.0.0.1"})
        plain = await login(client)
        proxy_keeping_the_name = await login(client, headers={"Origin": "https://127.0.0.1", "Host": "127.0.0.1"})
        vouched = await login(client, headers={"Origin": "https://trader.example.com", "Sec-Fetch-Site": "same-origin"})
    assert [r.status_code for r in strangers] == [403] * len(foreign), [r.text for r in strangers]
    assert strangers[0].json() == {"error": "a login from another site's page (Origin: 'http://127.0.0.2:8000') is "
                                            "refused: log in from the dashboard's own page"}
    assert "set-cookie" not in strangers[0].headers
    assert own_page.status_code == 204 and own_page_wrong.status_code == 401  # counted as any wrong token is
    assert proxied.status_code == 403  # behind a proxy rewriting Host, a browser sending Sec-Fetch-Site only
    assert plain.status_code == 204 and proxy_keeping_the_name.status_code == 204
    assert vouched.status_code == 204  # the browser says it is this origin's page: behind a proxy rewriting Host


async def test_bad_logins_are_told_what_is_wrong(tmp_path):
    async with running(tmp_path) as engine:
        async with serving(engine) as client:
            no_token = [await client.post("/login", json={}), await client.post("/login", json={"token": 7}),
                        await client.post("/login", content=b"not json", headers={"Content-Type": "application/json"}),
                        await client.post("/login", data={"password": TOKEN})]
        async with serving(engine, replace(SERVER, api_token=None)) as client:
            closed = await client.post("/login", json={"token": "anything"})
    assert [r.status_code for r in no_token] == [400] * 4
    assert "token: required" in no_token[0].json()["error"]
    assert closed.status_code == 401 and "no API token is configured" in closed.json()["error"]


async def test_https_behind_a_trusted_proxy_gets_a_secure_cookie(tmp_path):
    https = {"X-Forwarded-Proto": "https"}
    async with running(tmp_path) as engine:
        async with serving(engine, replace(SERVER, trusted_proxies=("127.0.0.0/8",))) as client:
            trusted = await login(client, headers=https)
        async with serving(engine, replace(SERVER, trusted_proxies=("10.0.0.0/8",))) as client:
            untrusted = await login(client, headers=https)
    assert "; secure" in trusted.headers["set-cookie"].lower()
    assert "secure" not in untrusted.headers["set-cookie"].lower()


async def test_neither_the_token_nor_the_session_reach_the_log(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    async with running(tmp_path) as engine, serving(engine) as client:
        await login(client, "a-wrong-guess")
        sid = session_of(await login(client))
        csrf = (await client.get("/api/session", headers=with_cookie(client, sid))).json()["csrf"]
        await client.post("/api/pause", headers=with_cookie(client, sid))
        await client.post("/logout", headers=with_cookie(client, sid))
    server_side = [r for r in caplog.records if not r.name.startswith(("httpx", "httpcore"))]  # not the client's
    failed = [r.getMessage() for r in server_side if "refused" in r.getMessage()]
    assert failed == ["dashboard login from 127.0.0.1 refused: wrong token"]
    text = "\n".join(f"{r.getMessage()} {r.__dict__}" for r in server_side)
    assert "dashboard login from 127.0.0.1" in text
    for secret in (TOKEN, "a-wrong-guess", sid, csrf):
        assert secret not in text


def test_session_hours_and_dashboard_edit_are_read_and_checked(tmp_path):
    path = Path(tmp_path) / "moonhook.toml"
    path.write_text("[server]\nsession_hours = 0.5\ndashboard_edit = false\n")
    server = load_settings(path, env={}).server
    assert (server.session_hours, server.dashboard_edit) == (0.5, False)
    assert (ServerConfig().session_hours, ServerConfig().dashboard_edit) == (12, True)
    for line, words in (("session_hours = 0", "server.session_hours: expected a number of hours above 0"),
                        ("session_hours = 721", "at most 720, got 721"),
                        ('dashboard_edit = "no"', 'server.dashboard_edit: expected true or false, got "no"')):
        path.write_text(f"[server]\n{line}\n")
        with pytest.raises(SettingsError, match=words):
            load_settings(path, env={})
    with pytest.raises(ValueError, match="server.session_hours"):
        ServerConfig(session_hours=-1)
    with pytest.raises(ValueError, match="server.dashboard_edit"):
        ServerConfig(dashboard_edit="yes")


async def test_wrong_bearer_tokens_count_with_failed_logins_so_the_api_is_no_way_around_the_limit(tmp_path):
    """The token opens the API as it opens the login: guesses sent as bearer tokens (/api, /metrics,
    /health's details) count against their address with its failed logins, and past the limit every
    token from it is answered 429, the right one too (else its 200 would tell the guess that hit)."""
    clock = Clock()
    server = replace(SERVER, trusted_proxies=("127.0.0.1",))  # so the test can speak for two addresses
    alice, mallory = {"X-Forwarded-For": "203.0.113.7"}, {"X-Forwarded-For": "203.0.113.66"}
    guess = {**mallory, "Authorization": "Bearer guess"}
    right = {**mallory, **AUTH}
    async with running(tmp_path) as engine, serving(engine, server, Sessions(12, clock)) as client:
        sid = session_of(await login(client, headers=mallory))
        no_token = [await client.get("/api/plugins", headers=mallory) for _ in range(6)]  # no guess: not counted
        wrong = [await client.get("/api/plugins", headers=guess), await client.get("/metrics", headers=guess),
                 await client.get("/health", headers=guess), await client.post("/api/pause", headers=guess)]
        last = await login(client, "guess", headers=mallory)  # the fifth failure
        limited = [await client.get("/api/plugins", headers=right), await client.get("/metrics", headers=right),
                   await client.post("/api/pause", headers=right), await login(client, headers=mallory)]
        health = await client.get("/health", headers=right)
        by_cookie = await client.get("/api/plugins", headers=with_cookie(client, sid, **mallory))
        other_address = await client.get("/api/plugins", headers={**alice, **AUTH})
        clock.now += LOGIN_WINDOW
        again = await client.get("/api/plugins", headers=right)
    assert [r.status_code for r in no_token] == [401] * 6
    assert [r.status_code for r in wrong] == [401, 401, 200, 401] and wrong[2].json().keys() == {"status"}
    assert last.status_code == 401
    assert [r.status_code for r in limited] == [429] * 4
    assert all(r.headers["Retry-After"] == str(int(LOGIN_WINDOW)) for r in limited)
    assert "wrong tokens from this address" in limited[0].json()["error"]
    assert not engine.paused
    assert health.status_code == 200 and health.json().keys() == {"status"}  # the details tell a right guess
    assert by_cookie.status_code == 200  # a session is no guess at the token
    assert other_address.status_code == 200
    assert again.status_code == 200
