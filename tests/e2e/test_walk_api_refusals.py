"""Every route docs/http-api.md lists, walked against `moonhook run` with bad input: a stranger,
a wrong token, a session without its CSRF token, and each route's own bad values (a wrong type,
NaN, infinity, a huge or negative number, a parameter given twice or not the route's, a body too
large or not UTF-8). Each is answered with the documented 4xx, naming what is wrong, never a 5xx, no
answer holds a secret, and nothing is written: the journal, the order ledger, the switches,
moonhook.toml and scripts/ are as they were.

The routes are read from the doc itself and from the served application, so a route served
without a doc, a doc without a route, or either without bad cases here fails this test."""

from __future__ import annotations

import itertools
import re
import sqlite3
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from engine.domain.config import ServerConfig
from engine.interfaces.web import api, create_app, views
from support.e2e_support import Run, init
from support.paths import ROOT

HTTP_API = ROOT / "docs" / "http-api.md"
PAGES = {("GET", "/"), ("GET", "/static/<>")}  # the dashboard's page and files: docs/dashboard.md
WEBHOOK = {("POST", "/webhook"), ("POST", "/webhook/<>")}  # served ahead of Quart (webhook.py)
BIG = b"x" * 70_000  # over server.max_body, 64 KB as init writes it
DEEP = b"[" * 5_000  # JSON nested past what Python's parser follows (RecursionError)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
TABLES = ("alerts", "orders", "switches", "plans", "outbox")  # what a refused request must not touch


class Case(NamedTuple):
    """One bad request: its route as documented, the path sent, the status, and the name its
    error must start with (None: not checked). ``auth``: token, none, wrong, cookie (no CSRF)."""
    route: tuple[str, str]
    path: str
    status: int
    named: str | None = None
    auth: str = "token"
    body: bytes | None = None
    headers: dict[str, str] = {}


def documented() -> set[tuple[str, str]]:
    """Each route docs/http-api.md has a section of: its ``### METHOD /path`` headings."""
    return {(method, re.sub(r"<[^>]*>", "<>", path)) for method, path in
            re.findall(r"^### (GET|POST|PUT|PATCH|DELETE) (/\S*)$", HTTP_API.read_text(encoding="utf-8"), re.M)}


def served() -> set[tuple[str, str]]:
    """Each method and path the application answers, its parameters as ``<>``."""
    app = create_app(None, ServerConfig(host="127.0.0.1", port=0, secret="s", api_token="t"))
    routes = set(WEBHOOK)
    for rule in app.url_map.iter_rules():
        choices = re.search(r"<any\(([^)]*)\):\w+>", rule.rule)
        paths = [rule.rule.replace(choices[0], c.strip()) for c in choices[1].split(",")] if choices else [rule.rule]
        routes |= {(m, re.sub(r"<[^>]*>", "<>", p)) for m in rule.methods - {"HEAD", "OPTIONS"} for p in paths}
    return routes - PAGES


def _sections() -> dict[str, str]:
    """Each ``### METHOD /path`` section of docs/http-api.md, by its heading."""
    parts = re.split(r"^### ((?:GET|POST|PUT|PATCH|DELETE) /\S*)\n", HTTP_API.read_text(encoding="utf-8"), flags=re.M)
    return {heading: text.split("\n## ")[0] for heading, text in zip(parts[1::2], parts[2::2])}


def test_each_route_documents_the_query_parameters_it_takes():
    """The API refuses a query parameter a route does not take: each section's ``| query
    parameter |`` table names those its route takes, all of them; and a request copied from a
    section (``For example `GET /api/alerts?limit=N&status=S...```) is one the route answers once
    its letters are filled in, each parameter given a value (one given empty is refused too)."""
    app = create_app(None, ServerConfig(host="127.0.0.1", port=0, secret="s", api_token="t"))
    routes = app.url_map.bind("localhost")
    known = {**api.QUERY, **views.QUERY}
    examples = 0
    for heading, text in _sections().items():
        method, path = heading.split(" ")
        if (method, re.sub(r"<[^>]*>", "<>", path)) in WEBHOOK:   # served ahead of Quart; no query read
            assert "query parameter" not in text, heading
            continue
        endpoint, _ = routes.match(re.sub(r"<[^>]*>", "1", path.replace("<file>", "demo.lua")), method=method)
        tables = re.findall(r"^\| query parameter.*\n\| -.*\n((?:\|.*\n)*)", text, re.M)
        named = {name for table in tables for name in re.findall(r"^\| `([a-z_]+)`", table, re.M)}
        assert named == set(known.get(endpoint, ())), heading
        for given in re.findall(r"For example\s+`([A-Z]+ /[^`]*)`", text):
            shown = re.fullmatch(r"(GET|POST|PUT) (/[^?\s]*)\?(.*)", given)
            assert shown and (shown[1], shown[2]) == (method, path), (heading, given)
            for name, value in (pair.partition("=")[::2] for pair in shown[3].split("&")):
                assert name in known.get(endpoint, ()) and value, (given, name)
            examples += 1
    assert examples >= 5


def cases(secret: str) -> list[Case]:
    """The bad requests, route by route; every documented route has one at least."""
    alert = b'{"secret": "%s", "symbol": "EURUSD", "action": "buy", "volume": ' % secret.encode()
    check = b'{"symbol": "EURUSD", "action": "buy", "volume": '
    demo = "/api/scripts/demo.lua"
    r = {route: route for route in documented()}
    plugin_on, plugin_off = r["POST", "/api/plugins/<>/enable"], r["POST", "/api/plugins/<>/disable"]
    return [
        Case(r["POST", "/webhook"], "/webhook", 401, body=b'{"secret": "wrong", "symbol": "EURUSD"}'),
        Case(r["POST", "/webhook"], "/webhook", 401, body=b'{"symbol": "EURUSD", "action": "buy"}'),
        Case(r["POST", "/webhook"], "/webhook", 400, "volume", body=alert + b"-1}"),
        Case(r["POST", "/webhook"], "/webhook", 400, "volume", body=alert + b"NaN}"),
        Case(r["POST", "/webhook"], "/webhook", 400, "volume", body=alert + b"1e400}"),
        Case(r["POST", "/webhook"], "/webhook", 400, "volume", body=alert + b'"0.1", "volume": "1"}'),
        Case(r["POST", "/webhook"], "/webhook", 413, body=BIG),
        Case(r["POST", "/webhook"], "/webhook", 401, "the body looks like JSON", body=alert + b"0.1"),  # its secret
        Case(r["POST", "/webhook/<>"], "/webhook/wrong", 401, body=b"buy EURUSD volume=0.1"),
        Case(r["POST", "/webhook/<>"], f"/webhook/{secret}/", 401, "wrong secret: the path ends with",
             body=b"buy EURUSD volume=0.1"),  # a URL pasted with a slash: not a secret to look for a typo in
        Case(r["POST", "/webhook/<>"], f"/webhook/{secret}", 400, "volume", body=b"buy EURUSD volume=-1"),
        Case(r["POST", "/webhook/<>"], f"/webhook/{secret}", 400, "colour", body=b"buy EURUSD colour=red"),
        Case(r["POST", "/webhook/<>"], f"/webhook/{secret}", 400, body="buy EURUSD volume=0.1 id=\udc80"
             .encode("utf-8", "surrogateescape")),
        Case(r["POST", "/webhook/<>"], f"/webhook/{secret}", 413, body=BIG),
        Case(r["GET", "/health"], "/health", 200, auth="wrong"),  # the state word only: checked below
        Case(r["GET", "/metrics"], "/metrics", 401, auth="none"),
        Case(r["GET", "/metrics"], "/metrics", 401, auth="session"),  # the bearer token only
        Case(r["GET", "/api/plugins"], "/api/plugins", 401, auth="wrong"),
        Case(r["GET", "/api/alerts"], "/api/alerts?limit=0", 400, "limit"),
        Case(r["GET", "/api/alerts"], "/api/alerts?limit=NaN", 400, "limit"),
        Case(r["GET", "/api/alerts"], "/api/alerts?status=lost", 400, "status"),
        Case(r["GET", "/api/alerts"], "/api/alerts?symbol=%E2%82%AC", 400, "symbol"),
        Case(r["GET", "/api/alerts"], "/api/alerts?colour=red", 400, "colour"),
        Case(r["GET", "/api/alerts"], "/api/alerts?before=0", 400, "before"),
        Case(r["GET", "/api/alerts"], f"/api/alerts?before={2 ** 64}", 400, "before"),  # past SQLite's: a 500
        Case(r["GET", "/api/alerts"], "/api/alerts?status=done&status=failed", 400, "status"),
        Case(r["GET", "/api/alerts/<>"], "/api/alerts/0", 404),
        Case(r["GET", "/api/alerts/<>"], f"/api/alerts/{2 ** 64}", 404),
        Case(r["GET", "/api/alerts/<>"], "/api/alerts/abc", 404),
        Case(r["GET", "/api/orders"], "/api/orders", 401, auth="none"),
        Case(r["GET", "/api/positions"], "/api/positions", 401, auth="wrong"),
        Case(r["GET", "/api/positions"], "/api/positions?symbol=GBPUSD", 400, "symbol"),  # no filter: not all
        Case(r["GET", "/api/account"], "/api/account", 401, auth="none"),
        Case(r["GET", "/api/shadow"], "/api/shadow?limit=-1", 400, "limit"),
        Case(r["GET", "/api/shadow"], "/api/shadow?limit=1&limit=2", 400, "limit"),
        Case(r["GET", "/api/shadow"], "/api/shadow?before=0", 400, "before"),
        Case(r["GET", "/api/shadow"], f"/api/shadow?before={2 ** 64}", 400, "before"),
        Case(plugin_on, "/api/plugins/nobody/enable", 404),
        Case(plugin_off, "/api/plugins/demo/disable", 403, auth="cookie"),
        Case(plugin_off, "/api/plugins/demo/disable", 401, auth="wrong"),
        Case(r["POST", "/api/orders/<>/cancel"], "/api/orders/4242/cancel", 404, "ticket"),
        Case(r["POST", "/api/orders/<>/cancel"], f"/api/orders/{2 ** 64}/cancel", 404, "ticket"),
        Case(r["POST", "/api/orders/<>/cancel"], "/api/orders/-1/cancel", 404),
        Case(r["POST", "/api/positions/<>/close"], "/api/positions/4242/close", 404, "ticket"),
        Case(r["POST", "/api/positions/<>/close"], "/api/positions/1.5/close", 404),
        Case(plugin_off, "/api/plugins/demo/disable", 400, "body", body=b'{"reason": "\xff"}'),
        Case(plugin_off, "/api/plugins/demo/disable", 400, "reason", body=b'{"reason": 5}'),  # not kept unsaid
        Case(plugin_off, "/api/plugins/demo/disable", 400, "reasn", body=b'{"reasn": "lunch"}'),
        Case(plugin_off, "/api/plugins/demo/disable", 400, "body", body=b'["lunch"]'),
        Case(r["POST", "/api/pause"], "/api/pause", 403, auth="cookie"),
        Case(r["POST", "/api/pause"], "/api/pause", 400, "body", body=DEEP),
        Case(r["POST", "/api/pause"], "/api/pause", 400, "body: must be a JSON object", body=b"null"),  # "not JSON"
        Case(r["POST", "/api/resume"], "/api/resume", 400, "body: must be a JSON object", body=b'"true"'),
        Case(r["POST", "/api/pause"], "/api/pause?reason=lunch", 400, "reason"),  # the body's: not paused unsaid
        Case(r["POST", "/api/resume"], "/api/resume?execute_missed=ture", 400, "execute_missed"),
        Case(r["POST", "/api/resume"], "/api/resume", 400, "execute_missed", body=b'{"execute_missed": 2}'),
        Case(r["POST", "/api/resume"], "/api/resume", 400, "body", body=b'{"execute_missed": tru}'),  # not "no"
        Case(r["POST", "/api/resume"], "/api/resume", 400, "execute_mised", body=b'{"execute_mised": true}'),
        Case(r["GET", "/api/overview"], "/api/overview", 401, auth="none"),
        Case(r["POST", "/api/alerts/check"], "/api/alerts/check", 400, "volume", body=check + b"-1}"),
        Case(r["POST", "/api/alerts/check"], "/api/alerts/check", 400, "volume", body=check + b"Infinity}"),
        Case(r["POST", "/api/alerts/check"], "/api/alerts/check", 400, body=b"[1]"),
        Case(r["POST", "/api/alerts/check"], "/api/alerts/check", 400, body=b"\xff"),
        Case(r["POST", "/api/alerts/check"], "/api/alerts/check", 413, body=BIG),
        Case(r["GET", "/api/scripts"], "/api/scripts", 401, auth="wrong"),
        Case(r["GET", "/api/scripts/<>"], "/api/scripts/nobody.lua", 404),
        Case(r["GET", "/api/scripts/<>"], "/api/scripts/.demo.lua", 400, "file name"),
        Case(r["GET", "/api/scripts/<>"], "/api/scripts/demo.txt", 400, "file name"),
        Case(r["POST", "/api/scripts/<>/check"], f"{demo}/check", 400, "body", body=b"\xff\xfe"),
        Case(r["POST", "/api/scripts/<>/check"], "/api/scripts/a%5Cb.lua/check", 400, "file name", body=b"--"),
        Case(r["POST", "/api/scripts/<>/replay"], f"{demo}/replay?days=0", 400, "days", body=b"--"),
        Case(r["POST", "/api/scripts/<>/replay"], f"{demo}/replay?days=inf", 400, "days", body=b"--"),
        Case(r["POST", "/api/scripts/<>/replay"], f"{demo}/replay?days=1&days=400", 400, "days", body=b"--"),
        Case(r["PUT", "/api/scripts/<>"], demo, 400, "body", body=b"\xff"),
        Case(r["PUT", "/api/scripts/<>"], demo, 413, body=BIG),
        Case(r["PUT", "/api/scripts/<>"], demo, 400, "body", body=b" \n"),  # `curl -X PUT` without its file
        Case(r["PUT", "/api/scripts/<>"], demo, 412, body=b"--", headers={"If-Match": '"stale"'}),
        Case(r["PUT", "/api/scripts/<>"], demo, 412, body=b"--", headers={"If-None-Match": "*"}),
        Case(r["PUT", "/api/scripts/<>"], demo, 400, "If-Match", body=b"--", headers={"If-Match": '"a", "b"'}),
        Case(r["PUT", "/api/scripts/<>"], "/api/scripts/other.lua", 409, body=b"plugin = {name = 'demo'}"),
        Case(r["PUT", "/api/scripts/<>"], "/api/scripts/%2E%2E.lua", 400, "file name", body=b"--"),
        Case(r["PUT", "/api/scripts/<>"], "/api/scripts/..%2Fmoonhook.lua", 404, body=b"--"),  # another path
        Case(r["PUT", "/api/scripts/<>"], demo, 403, auth="cookie", body=b"--"),
        Case(r["GET", "/api/examples"], "/api/examples", 401, auth="none"),
        Case(r["GET", "/api/trades"], "/api/trades?limit=501", 400, "limit"),
        Case(r["GET", "/api/trades"], "/api/trades?offset=100", 400, "offset"),
        Case(r["GET", "/api/trades"], "/api/trades?symbol=EURUSD", 400, "symbol"),
        Case(r["GET", "/api/orders"], "/api/orders?status=open", 400, "status"),
        Case(r["GET", "/api/trades"], "/api/trades?before=1.5", 400, "before"),
        Case(r["GET", "/api/trades"], f"/api/trades?before=1:{2 ** 64}", 400, "before"),
        Case(r["GET", "/api/trades"], "/api/trades?since=NaN", 400, "since"),
        Case(r["GET", "/api/trades"], "/api/trades?since=inf", 400, "since"),
        Case(r["POST", "/login"], "/login", 400, "token: must be text", auth="none", body=b'{"token": 5}'),  # "required"
        Case(r["POST", "/login"], "/login", 400, "remember", auth="none", body=b'{"token": "wrong", "remember": 1}'),
        Case(r["POST", "/login"], "/login", 400, "body: must be a JSON object", auth="none", body=b'["wrong"]'),
        Case(r["POST", "/login"], "/login", 401, auth="none", body=b'{"token": "wrong"}'),
        Case(r["POST", "/login"], "/login", 401, auth="none", body=b'{"token": "wrong"}',  # curl -d's type
             headers={"Content-Type": "application/x-www-form-urlencoded"}),
        Case(r["POST", "/login"], "/login", 400, "body", auth="none", body=DEEP),  # a stranger's: no 5xx
        Case(r["POST", "/login"], "/login", 400, "body", auth="none", body=b'{"token": "\xff"}'),
        # the form field, not UTF-8 as sent or once its escapes are read: it was "token: required"
        Case(r["POST", "/login"], "/login", 400, "body", auth="none", body=b"token=\xff\xfe", headers=FORM),
        Case(r["POST", "/login"], "/login", 400, "token", auth="none", body=b"token=%FF%FE", headers=FORM),
        Case(r["POST", "/login"], "/login", 403, auth="none", body=b'{"token": "wrong"}',
             headers={"Sec-Fetch-Site": "cross-site"}),
        Case(r["POST", "/login"], "/login", 403, auth="none", body=b'{"token": "wrong"}',
             headers={"Origin": "null"}),  # an older browser's sandboxed frame: no Sec-Fetch-Site
        Case(r["POST", "/logout"], "/logout", 204, auth="none"),  # no session: nothing to forget
        Case(r["GET", "/api/session"], "/api/session", 401),  # the bearer token is no session
        Case(r["GET", "/api/events"], "/api/events", 401, auth="wrong"),
        Case(r["GET", "/api/events"], "/api/events?since=5", 400, "since"),  # no replay: Last-Event-ID is not read
        Case(r["GET", "/api/session"], "/api/session?x=1", 400, "x", auth="session"),
    ]


def strangers(walked: list[Case]) -> list[Case]:
    """For each route under /api and /metrics, its first case sent without the token and with
    a wrong one (401), and for a change under /api with the session but not its CSRF token (403)."""
    first: dict[tuple[str, str], Case] = {}
    for case in walked:
        if case.route[1].startswith(("/api/", "/metrics")):
            first.setdefault(case.route, case)
    refused = [c._replace(status=401, named=None, auth=auth) for c in first.values() for auth in ("none", "wrong")]
    return refused + [c._replace(status=403, named=None, auth="cookie") for c in first.values()
                      if c.route[0] != "GET" and c.route[1].startswith("/api/")]


def written(folder: Path) -> dict[str, Any]:
    """What a refused request must leave as it was: the journal's tables, moonhook.toml, scripts/."""
    with sqlite3.connect(f"file:{folder / 'data' / 'moonhook.db'}?mode=ro", uri=True) as db:
        rows = {t: db.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES}
    scripts = {p.name: p.read_bytes() for p in sorted((folder / "scripts").iterdir())}
    return {"rows": rows, "config": (folder / "moonhook.toml").read_bytes(), "scripts": scripts}


# A wrong bearer token counts against its address with the failed logins (5 close the door: docs/security.md):
# each is sent from a loopback address of its own, so that every route's is answered as the first would be.
GUESSERS = (f"127.0.1.{n}" for n in itertools.count(1))


def send(run: Run, case: Case, token: str, session: tuple[str, str]) -> httpx.Response:
    """``case`` sent on a client of its own: its credentials only, its cookie for ``cookie``; a
    ``wrong`` token from an address of its own (``GUESSERS``)."""
    headers = {"Content-Type": "application/json" if (case.body or b"").startswith((b"{", b"[")) else "text/plain",
               **case.headers}
    cookies = {}
    if case.auth in ("token", "wrong"):
        headers["Authorization"] = f"Bearer {token if case.auth == 'token' else 'wrong-' + token}"
    elif case.auth in ("cookie", "session"):
        cookies = {f"moonhook_session_{run.port}": session[0]}
        if case.auth == "session":
            headers["X-CSRF-Token"] = session[1]
    transport = httpx.HTTPTransport(local_address=next(GUESSERS)) if case.auth == "wrong" else None
    with httpx.Client(base_url=f"http://127.0.0.1:{run.port}", timeout=30, cookies=cookies, transport=transport) as client:
        return client.request(case.route[0], case.path, content=case.body, headers=headers)


def test_every_documented_route_is_served_and_refuses_bad_input_writing_nothing(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    server = config.values["server"]
    token, secret = server["api_token"], server["secret"]
    login = httpx.post(f"http://127.0.0.1:{run.port}/login", json={"token": token})
    name = f"moonhook_session_{run.port}"
    session = login.cookies[name]
    csrf = httpx.get(f"http://127.0.0.1:{run.port}/api/session", cookies={name: session}).json()["csrf"]
    before = written(user.home / "bot")
    walked = cases(secret)
    answers = [(case, send(run, case, token, (session, csrf))) for case in walked + strangers(walked)]
    after = written(user.home / "bot")
    health = run.get("/health")

    assert documented() == served()
    assert {case.route for case, _ in answers} == documented()  # each route walked
    for case, answer in answers:
        what = (case.route, case.path, case.auth, answer.status_code, answer.text[:200])
        assert answer.status_code == case.status, what
        assert secret not in answer.text and token not in answer.text and session not in answer.text, what
        if case.named is not None:
            assert re.match(rf"{case.named}\b", answer.json()["error"]), what
        if case.status == 413:  # the limit said, as the webhook says it
            assert answer.json()["error"].startswith("the body is larger than 65536 bytes"), what
    anonymous = next(a for c, a in answers if c.route == ("GET", "/health"))
    assert anonymous.json() == {"status": "ok"}  # the details (broker, plugins) to the token only
    assert after == before
    assert health["paused"] is False and health["plugins"] == {"loaded": 1, "enabled": 1}
    assert run.interrupt() == 0


def test_a_close_or_cancel_with_a_body_it_does_not_take_closes_nothing(user):
    """`POST /api/positions/<ticket>/close` closes the position whole and takes no body but the
    dashboard's `{}`: `{"volume": 0.05}`, a trader's partial close, closed it all, and a body over
    server.max_body (never read) closed it too. Each is refused, the position left open."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    opened = run.webhook("buy EURUSD volume=0.1 sl=1.0800 price=1.0850")
    assert run.settled(opened["id"])["status"] == "done"
    (position,) = run.get("/api/positions")["positions"]
    close = f"/api/positions/{position['ticket']}/close"
    part = run.client.post(close, json={"volume": 0.05})
    big = run.client.post(close, content=BIG, headers={"Content-Type": "application/json"})
    junk = run.client.post(close, content=b"half")
    assert (part.status_code, big.status_code, junk.status_code) == (400, 413, 400), (part.text, big.text, junk.text)
    assert part.json()["error"].startswith("volume: unknown field of the body") and "whole" in part.json()["error"]
    assert run.get("/api/positions")["positions"] == [position]
    assert run.client.post("/api/orders/4242/cancel", json={"price": 1.2}).status_code == 400
    done = run.client.post(close, json={})   # the dashboard's
    assert done.status_code == 200 and done.json()["ok"] is True
    assert run.get("/api/positions")["positions"] == []
    assert run.interrupt() == 0
