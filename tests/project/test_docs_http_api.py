"""docs/http-api.md kept in step with the routes' answers: each route's section (``### GET
/api/plugins``) has a table of its answer's fields, one row per field, and every field a real
answer has is in it (its nested objects' fields in the section too); the shapes, bounds and
words the page quotes are those the routes answer. (Which routes there are, and their query
parameters: tests/e2e/test_walk_api_refusals.py.)"""

from __future__ import annotations

import json
import re
from typing import Any

from engine.app import Operations
from engine.app.overview import last_errors

from engine.domain.config.shadow import ShadowConfig

from support.engine_support import running, write_scripts
from support.waits import until
from support.web_support import AUTH, SECRET, serving
from support.paths import ROOT

DOCS = ROOT / "docs"
HTTP_API = (DOCS / "http-api.md").read_text()


def section(route: str) -> str:
    """The text under http-api.md's ``### route`` heading, up to the next heading."""
    (text,) = re.findall(rf"^### {re.escape(route)}\n(.*?)(?=^##|\Z)", HTTP_API, re.M | re.S)
    return text


def _fields(route: str) -> set[str]:
    """The fields the ``| field | what it is |`` tables of ``route``'s section name in their first
    cells (a cell may name several: ```by`, `at`, `reason```)."""
    names, in_table = set(), False
    for line in section(route).splitlines():
        if line.startswith("| field |"):
            in_table = True
        elif not line.startswith("|"):
            in_table = False
        elif in_table and not line.startswith("| ---"):
            names |= set(re.findall(r"`([a-z0-9_]+)`", line.split(" | ")[0]))
    return names


async def test_health_with_the_token_says_what_the_api_page_lists(tmp_path):
    """http-api.md listed what `GET /health` adds with the token without `broker_connected`, the
    field `moonhook status` prints and a monitor reads first. (The telegram fields come with
    [telegram] only.)"""
    async with running(tmp_path) as engine:
        health = Operations(engine).health()
    assert _fields("GET /health") - {"telegram_refused", "telegram_unreachable"} == set(health)


def _cell(page: str, route: str) -> str:
    """What docs/``page`` says of ``route``: http-api.md's section (its heading without the query),
    another page's answer cell of the route's table row."""
    if page == "http-api.md":
        return section(route.split("?")[0])
    (row,) = [line for line in (DOCS / page).read_text().splitlines() if line.startswith(f"| `{route}`")]
    return row.split(" | ", 1)[1]


def _shapes(text: str) -> list[set[str]]:
    """What each JSON value a page writes as ``{"a", "b": [...], ...}`` holds: an object's top-level
    keys, a list as ``{"[]"}``, in the order they come."""
    shapes, depth, keys = [], 0, set()
    for token in re.findall(r'[{}\[\]]|"[a-z_]+"(?=\s*[,:}])', text):
        if token in "{[":
            depth += 1
        elif token in "}]":
            depth -= 1
            if depth == 0:
                shapes.append(keys if token == "}" else {"[]"})
                keys = set()
        elif depth == 1:
            keys.add(token.strip('"'))
    return shapes


async def test_the_overview_row_says_what_the_overview_answers(tmp_path):
    """http-api.md's `GET /api/overview` left out `words` (the panels as the page says them) and
    the `telegram` kind of its errors, and said `max_spread_wait` is 0 when entries do not wait,
    where the answer has null, as for every limit unset."""
    row = _cell("http-api.md", "GET /api/overview")
    async with running(tmp_path) as engine:
        overview = await Operations(engine).overview()
    assert set(overview) - _fields("GET /api/overview") == set()
    (said,) = re.findall(r'^\| `kind` \| `((?:"[a-z]+" \\\| )*"[a-z]+")`', row, re.M)
    chat = {"bot": 5150, "chat": 4343, "since": 1.0, "at": 1.0, "messages": 1, "error": "no"}
    order = {"at": 1.0, "plugin": "p", "error": "no", "alert_id": 1, "symbol": "X"}
    each = last_errors([{"name": "p", "file": "p.lua", "state": "active", "last_error": "p.lua:1: x"}],
                       {"q.lua": "q.lua:2: y"}, [order],
                       telegram={"telegram_unreachable": [chat], "telegram_refused": [chat]})
    kinds = {error["kind"] for error in each}
    assert kinds == set(re.findall(r'"([a-z]+)"', said))
    (unset,) = re.findall(r"`max_spread_wait` seconds, (\S+) when entries do not wait", row)
    assert unset == json.dumps(overview["limits"]["max_spread_wait"])


async def test_the_script_routes_answer_the_shapes_their_rows_give(tmp_path):
    """dashboard.md gave `POST /api/scripts/<file>/check` a bare list of findings, where it answers
    `{"name", "findings"}`, and a `PUT`'s answer without its `plugin` and `enabled`."""
    broken = "plugin = {}\nfunction on_alert(a)\n  return 1 +\nend"
    async with running(tmp_path, {"trend": "function on_alert(a) end"}) as engine, serving(engine) as client:
        answers = {"GET /api/scripts/<file>": [(await client.get("/api/scripts/trend.lua", headers=AUTH)).json()],
                   "POST /api/scripts/<file>/check": [
                       (await client.post("/api/scripts/new.lua/check", content=broken, headers=AUTH)).json()],
                   "PUT /api/scripts/<file>": [
                       (await client.put(f"/api/scripts/{name}.lua", content=text, headers=AUTH)).json()
                       for name, text in (("trend", "function on_alert(a) end"), ("new", broken))]}
    for page in ("http-api.md", "dashboard.md"):
        for route, answered in answers.items():
            said = _shapes(_cell(page, route))[:len(answered)]   # the answers come first; then the refusals'
            assert not said or said == [set(a) if isinstance(a, dict) else {"[]"} for a in answered], (page, route)


async def test_the_plugins_row_names_every_key_of_its_answer(tmp_path):
    """http-api.md's `GET /api/plugins` named neither a row's `file`, nor the `disabled_by` and
    `switched` of a plugin switched off: a client reading the page could not tell which file serves,
    nor who switched a plugin off and why."""
    row = _cell("http-api.md", "GET /api/plugins")
    scripts = {"greedy": "plugin = {budget = {instructions = 1e9}}\nfunction on_alert(a) end", "broken": "x("}
    async with running(tmp_path, scripts) as engine, serving(engine) as client:
        await client.post("/api/plugins/greedy/disable", json={"reason": "audit"}, headers=AUTH)
        answer = (await client.get("/api/plugins", headers=AUTH)).json()
    keys = set(answer) | {key for plugin in answer["plugins"] for key in plugin}
    assert {"switched", "budget_note", "last_error"} <= keys
    assert {key for key in keys if not re.search(rf"(?:^|[ `(]){key}(?:`|,| \(|;|:)", row)} == set()


async def test_the_days_a_draft_replay_takes_are_those_its_rows_give(tmp_path):
    """Both pages said a draft's replay takes `days` from 1 to 366, where it takes any number above
    0 (half a day: 0.5) up to 366: each page's bounds are the route's."""
    bounds = set()
    for page in ("http-api.md", "dashboard.md"):
        bounds |= set(re.findall(r"the last `days` \(more than (\d+) and at most (\d+)",
                                 _cell(page, "POST /api/scripts/<file>/replay?days=30")))
    ((low, high),) = bounds
    async with running(tmp_path, {"trend": "function on_alert(a) end"}) as engine, serving(engine) as client:
        answers = {days: await client.post(f"/api/scripts/trend.lua/replay?days={days}", headers=AUTH,
                                           content="function on_alert(a) end")
                   for days in (low, f"{low}.5", high, f"{high}.5")}
    assert [answer.status_code for answer in answers.values()] == [400, 200, 200, 400]
    said = section("POST /api/scripts/<file>/replay")   # and the answer's fields, each named there
    assert {key for key in answers[high].json() if f"`{key}`" not in said} == set()


# A field whose keys are data (a file, a plugin, a panel), not fields: its own keys are not looked for.
_DATA = {"load_errors", "reload_errors", "shadow_load_errors", "by_plugin", "versions", "words",
         "alert", "request", "result"}   # the alert's fields: alerts.md; an order's and the broker's answer
# Nested values a section describes by pointing at another route's section.
_SEE = {("GET /api/alerts", "alerts"): "GET /api/alerts/<id>", ("GET /api/orders", "recent"): "GET /api/alerts/<id>",
        ("GET /api/overview", "health"): "GET /health", ("GET /api/overview", "orders"): "GET /api/orders",
        ("GET /api/overview", "positions"): "GET /api/positions", ("GET /api/overview", "account"): "GET /api/account"}
# Routes whose section says they answer as another's.
_AS = {"POST /api/positions/<ticket>/close": "POST /api/orders/<ticket>/cancel",
       "POST /api/plugins/<name>/enable": "GET /api/plugins"}


def _undocumented(route: str, answer: dict[str, Any]) -> set[str]:
    """The fields of ``answer`` ``route``'s section does not name: its own not in a field table,
    those of a nested object (or of a list's objects) nowhere in the section (or the one it points at),
    as `k` or "k"."""
    route = _AS.get(route, route)
    missing = {key for key in answer if key not in _fields(route)}
    for key, value in answer.items():
        nested = [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, dict)]
        text = section(_SEE.get((route, key), route))
        missing |= {f"{key}.{k}" for v in nested for k in v
                    if key not in _DATA and not re.search(f"[`\"]{k}[`\"]", text)}
    return missing


async def test_every_field_a_route_answers_is_documented_in_its_section(tmp_path):
    """A trader's script reads a field by the page: each field of each route's answer, with an
    alert done, a position open and one closed, a pending order, a paused engine resumed, is named
    in its section (`GET /api/alerts` had no `alerts`, `GET /api/account` no fields at all)."""
    async with running(tmp_path, {"trend": "function on_alert(a) end"}) as engine, serving(engine) as client:
        done = (await client.post(f"/webhook/{SECRET}", content="buy EURUSD volume=0.1 price=1.1 sl=1.0")).json()
        await client.post(f"/webhook/{SECRET}", content="buy GBPUSD volume=0.1 price=1.3")
        await client.post(f"/webhook/{SECRET}", content="buylimit EURUSD volume=0.1 price=1.05")
        await engine.drain()
        positions = (await client.get("/api/positions", headers=AUTH)).json()["positions"]
        gbp = next(p["ticket"] for p in positions if p["symbol"] == "GBPUSD")
        routes = {"POST /api/positions/<ticket>/close": await client.post(f"/api/positions/{gbp}/close", headers=AUTH),
                  "POST /api/plugins/<name>/enable": await client.post("/api/plugins/trend/enable", headers=AUTH),
                  "POST /api/pause": await client.post("/api/pause", headers=AUTH, json={"reason": "lunch"})}
        for path in ("/health", "/api/plugins", "/api/alerts", f"/api/alerts/{done['id']}", "/api/orders",
                     "/api/positions", "/api/account", "/api/trades", "/api/overview", "/api/scripts",
                     "/api/scripts/trend.lua", "/api/examples", "/api/shadow"):
            routes["GET " + re.sub(r"/\d+$", "/<id>", path.replace("trend.lua", "<file>"))] = await client.get(
                path, headers=AUTH)
        routes |= {"POST /api/resume": await client.post("/api/resume", headers=AUTH),
                   "POST /api/alerts/check": await client.post("/api/alerts/check", headers=AUTH,
                                                               content="buy EURUSD volume=0.1"),
                   "POST /api/scripts/<file>/check": await client.post("/api/scripts/new.lua/check", headers=AUTH,
                                                                       content="x("),
                   "PUT /api/scripts/<file>": await client.put("/api/scripts/trend.lua", headers=AUTH,
                                                               content="function on_alert(a) end --")}
        routes["POST /webhook"] = await client.post("/webhook", json={"secret": SECRET, "symbol": "EURUSD",
                                                                      "action": "buy", "volume": 0.1, "price": 1.1})
        await client.post("/login", json={"token": AUTH["Authorization"].split()[1]})
        routes["GET /api/session"] = await client.get("/api/session")
    assert {route: answer.status_code for route, answer in routes.items() if answer.status_code != 200} == {}
    undocumented = {route: sorted(_undocumented(route, answer.json())) for route, answer in routes.items()}
    assert not any(undocumented.values()), json.dumps({route: keys for route, keys in undocumented.items() if keys})
    assert routes["GET /api/trades"].json()["trades"] and routes["GET /api/orders"].json()["open"]   # read full


async def test_the_shadows_fields_are_documented(tmp_path):
    """`GET /api/shadow` off answers empty lists: with shadow mode on and an alert it decides
    otherwise than the live scripts, its plugins', account's and differing alerts' fields, and the
    `shadow` of that alert's entry, are each named in their sections."""
    rejects, passes = "function on_alert(a) if not a.sl then return false, 'no stop' end end", "function on_alert(a) end"
    shadow = ShadowConfig(write_scripts(tmp_path / "scripts-next", {"trend": passes}))
    async with running(tmp_path, {"trend": rejects}, shadow=shadow) as engine, serving(engine) as client:
        alert = (await client.post(f"/webhook/{SECRET}", content="buy EURUSD volume=0.1 price=1.1")).json()
        await engine.drain()
        await until(lambda: engine.shadow.records.get(alert["id"]) is not None)
        view = (await client.get("/api/shadow", headers=AUTH)).json()
        entry = (await client.get(f"/api/alerts/{alert['id']}", headers=AUTH)).json()
    assert view["plugins"] and view["account"] and view["differences"] and entry["shadow"]["differs"] is True
    assert _undocumented("GET /api/shadow", view) == set()
    assert {f"shadow.{key}" for key in entry["shadow"] if f"`{key}`" not in section("GET /api/alerts/<id>")} == set()


def test_every_link_into_the_page_finds_its_heading():
    """The README links `http-api.md#post-webhook`, the dashboard page its routes, the page its own
    sections: each anchor is a heading's, as GitHub makes it (lower case, punctuation dropped,
    spaces as ``-``), so a route's link does not fall to the top of the page when a heading changes."""
    slugs = {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")
             for heading in re.findall(r"^#+ (.*)$", HTTP_API, re.M)}
    links = [("http-api.md", anchor) for anchor in re.findall(r"\]\(#([^)]+)\)", HTTP_API)]
    links += [(page.name, anchor) for page in [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
              for anchor in re.findall(r"\]\((?:docs/)?http-api\.md#([^)]+)\)", page.read_text())]
    assert len(links) > 10 and [link for link in links if link[1] not in slugs] == []
