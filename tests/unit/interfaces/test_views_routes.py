"""The dashboard's routes under /api over real HTTP (Hypercorn on port 0, httpx, a real
engine): each answers what the facade gives, behind the token, and bad input is a 400 naming
the parameter or the problem."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import trio

from engine.domain.orders import BrokerError
from support.clock_shift import here_at_midday
from support.engine_support import running
from support.fakes import FakeBroker
from support.waits import HANG
from support.web_support import AUTH, SECRET, SERVER, serving

GUARD = """plugin = {symbols = {'GBPUSD'}, priority = 1}
function on_alert(a) return false, 'no pound today' end"""
TREND = "plugin = {symbols = {'EURUSD'}}\nfunction on_alert(a) end"
BROKEN = "plugin = {}\nfunction on_alert(a)\n  return 1 +\nend"
ROUTES = ["/api/overview", "/api/alerts?status=done", "/api/scripts", "/api/scripts/trend.lua", "/api/examples",
          "/api/trades", "/api/shadow"]


async def test_every_view_is_behind_the_token(tmp_path):
    async with running(tmp_path, {"trend": TREND}) as engine, serving(engine) as client:
        anonymous = [await client.get(path) for path in ROUTES]
        writes = [await client.put("/api/scripts/trend.lua", content=TREND),
                  await client.post("/api/scripts/trend.lua/check", content=TREND)]
        allowed = [await client.get(path, headers=AUTH) for path in ROUTES]
    assert [r.status_code for r in anonymous + writes] == [401] * (len(ROUTES) + 2)
    assert [r.status_code for r in allowed] == [200] * len(ROUTES)


async def test_the_alerts_filters_and_their_bad_values(tmp_path):
    async with running(tmp_path, {"guard": GUARD, "trend": TREND}) as engine, serving(engine) as client:
        euro = (await client.post(f"/webhook/{SECRET}", content="buy EURUSD volume=0.1 price=1.1")).json()["id"]
        pound = (await client.post(f"/webhook/{SECRET}", content="sell GBPUSD volume=0.1 price=1.3")).json()["id"]
        await engine.drain()

        async def ids(query: str) -> list[int]:
            answer = await client.get(f"/api/alerts?{query}", headers=AUTH)
            assert answer.status_code == 200, answer.text
            return [a["id"] for a in answer.json()["alerts"]]

        assert await ids("status=rejected") == [pound]
        assert await ids("symbol=EURUSD") == [euro]
        assert await ids("plugin=guard") == [pound]
        assert await ids("plugin=trend&status=done&limit=1") == [euro]
        assert await ids(f"before={max(pound, euro)}") == [min(pound, euro)]   # the next page
        assert await ids(f"before={min(pound, euro)}") == []
        bad = {query: await client.get(f"/api/alerts?{query}", headers=AUTH)
               for query in ("status=lost", "limit=0", "symbol=", "colour=red", "plugin=" + "x" * 101, "symbol=€",
                             "before=0")}
        one = (await client.get(f"/api/alerts/{pound}", headers=AUTH)).json()
    assert {q: r.status_code for q, r in bad.items()} == dict.fromkeys(bad, 400)
    for query, named in zip(bad, ("status", "limit", "symbol", "colour", "plugin", "symbol", "before")):
        assert bad[query].json()["error"].startswith(f"{named}:"), bad[query].json()
    assert bad["symbol=€"].json()["error"].count("symbol:") == 1  # was "status: symbol: ..."
    assert one["decisions"] == [{"plugin": "guard", "result": "rejected", "reason": "no pound today"}]
    assert one["orders"] == [] and one["timings"]["received_at"] > 0


async def test_scripts_read_checked_saved_and_refused(tmp_path):
    async with running(tmp_path, {"trend": TREND}) as engine, serving(engine) as client:
        listing = (await client.get("/api/scripts", headers=AUTH)).json()
        text = (await client.get("/api/scripts/trend.lua", headers=AUTH)).json()
        check = (await client.post("/api/scripts/new.lua/check", content=BROKEN, headers=AUTH)).json()
        saved = await client.put("/api/scripts/trend.lua", content=TREND.replace("EURUSD", "USDJPY"), headers=AUTH)
        failed = await client.put("/api/scripts/trend.lua", content=BROKEN, headers=AUTH)
        names = {name: await client.put(f"/api/scripts/{name}", content=TREND, headers=AUTH)
                 for name in ("..x.lua", ".hidden.lua", "notes.txt")}
        missing = await client.get("/api/scripts/nothere.lua", headers=AUTH)
        not_utf8 = await client.put("/api/scripts/trend.lua", content=b"\xff\xfe", headers=AUTH)
        examples = (await client.get("/api/examples", headers=AUTH)).json()
    assert listing["editable"] is True
    assert [(s["name"], s["state"], s["plugin"]) for s in listing["scripts"]] == [("trend.lua", "active", "trend")]
    assert text == {"name": "trend.lua", "text": TREND, "version": version(TREND)}
    assert check["findings"][0] == {"line": 4, "column": None, "severity": "error",
                                    "message": check["findings"][0]["message"]}
    now = version(TREND.replace("EURUSD", "USDJPY"))
    assert saved.status_code == 200 and saved.json() == {"loaded": True, "plugin": "trend", "enabled": True,
                                                         "version": now, "serving_version": now[:12]}
    assert failed.status_code == 200 and failed.json()["loaded"] is False and failed.json()["line"] == 4
    assert {n: r.status_code for n, r in names.items()} == dict.fromkeys(names, 400)
    assert "'..'" in names["..x.lua"].json()["error"] and "hidden" in names[".hidden.lua"].json()["error"]
    assert ".lua" in names["notes.txt"].json()["error"]
    assert missing.status_code == 404 and not_utf8.status_code == 400 and "UTF-8" in not_utf8.json()["error"]
    assert [e["name"] for e in examples["examples"]] == ["demo.lua"] and "on_alert" in examples["examples"][0]["text"]
    assert (tmp_path / "scripts" / "trend.lua").read_text() == BROKEN  # the bad name and the bad body wrote nothing


def version(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


async def test_a_save_goes_over_the_version_it_was_based_on_only_and_a_new_file_over_nothing(tmp_path):
    # The dashboard opens trend.lua; meanwhile the trader saves it from their own editor. The
    # dashboard's save, based on what it opened, is refused and says so; nothing is written.
    async with running(tmp_path, {"trend": TREND}) as engine, serving(engine) as client:
        opened = await client.get("/api/scripts/trend.lua", headers=AUTH)
        assert opened.headers["etag"] == f'"{version(TREND)}"'
        elsewhere = TREND.replace("EURUSD", "GBPUSD")
        (tmp_path / "scripts" / "trend.lua").write_text(elsewhere)
        stale = await client.put("/api/scripts/trend.lua", content=TREND + "-- mine\n",
                                 headers={**AUTH, "If-Match": opened.headers["etag"]})
        assert stale.status_code == 412 and stale.json() == {
            "error": "trend.lua changed since it was opened (saved from elsewhere meanwhile): reload it, or save "
                     "over it", "version": version(elsewhere)}
        assert (tmp_path / "scripts" / "trend.lua").read_text() == elsewhere
        over = await client.put("/api/scripts/trend.lua", content=TREND + "-- mine\n",   # "save over it"
                                headers={**AUTH, "If-Match": f'"{stale.json()["version"]}"'})
        assert over.status_code == 200 and over.json()["version"] == version(TREND + "-- mine\n")

        taken = await client.put("/api/scripts/trend.lua", content=GUARD, headers={**AUTH, "If-None-Match": "*"})
        assert taken.status_code == 412 and taken.json()["error"].startswith("trend.lua exists already")
        fresh = await client.put("/api/scripts/guard.lua", content=GUARD, headers={**AUTH, "If-None-Match": "*"})
        assert fresh.status_code == 200 and fresh.json()["loaded"] is True
        several = await client.put("/api/scripts/guard.lua", content=GUARD, headers={**AUTH, "If-Match": '"a", "b"'})
        assert several.status_code == 400 and several.json()["error"].startswith("If-Match: one version expected")
        # If-Match: * is any version of a file that is there: a file deleted meanwhile is not made again.
        gone = await client.put("/api/scripts/gone.lua", content=GUARD, headers={**AUTH, "If-Match": "*"})
        assert gone.status_code == 412 and gone.json() == {
            "error": "gone.lua is not there (deleted or renamed since it was opened): save it as a new script",
            "version": None}
        any_version = await client.put("/api/scripts/guard.lua", content=GUARD + "-- any\n",
                                       headers={**AUTH, "If-Match": "*"})
        assert any_version.status_code == 200 and any_version.json()["version"] == version(GUARD + "-- any\n")
    assert not (tmp_path / "scripts" / "gone.lua").exists()
    assert (tmp_path / "scripts" / "trend.lua").read_text() == TREND + "-- mine\n"


async def test_saving_is_refused_when_the_dashboard_may_not_edit(tmp_path):
    server = replace(SERVER, dashboard_edit=False)
    async with running(tmp_path, {"trend": TREND}) as engine, serving(engine, server) as client:
        listing = (await client.get("/api/scripts", headers=AUTH)).json()
        refused = await client.put("/api/scripts/trend.lua", content=BROKEN, headers=AUTH)
        check = await client.post("/api/scripts/trend.lua/check", content=BROKEN, headers=AUTH)
    assert listing["editable"] is False
    assert refused.status_code == 403 and "dashboard_edit" in refused.json()["error"]
    assert check.status_code == 200  # checking changes nothing
    assert (tmp_path / "scripts" / "trend.lua").read_text() == TREND


async def test_the_overview_and_the_trades(tmp_path, monkeypatch):
    here_at_midday(monkeypatch)  # today's counts in one day
    deals = [{"ticket": 1, "position": 1001, "symbol": "EURUSD", "side": "buy", "entry": "in", "volume": 0.1,
              "price": 1.1, "profit": 0.0, "commission": 0.0, "time": 1.0, "comment": None, "magic": None},
             {"ticket": 2, "position": 1001, "symbol": "EURUSD", "side": "sell", "entry": "out", "volume": 0.1,
              "price": 1.2, "profit": 50.0, "commission": 0.0, "time": 2.0, "comment": None, "magic": None}]
    async with running(tmp_path, {"trend": TREND}, use_broker=FakeBroker(deals=deals)) as engine, \
            serving(engine) as client:
        await client.post(f"/webhook/{SECRET}", content="buy EURUSD volume=0.1 price=1.1")
        await engine.drain()
        overview = (await client.get("/api/overview", headers=AUTH)).json()
        trades = (await client.get("/api/trades?limit=5", headers=AUTH)).json()
        bad = [await client.get(f"/api/trades?{q}", headers=AUTH) for q in ("limit=x", "since=-1")]
    assert overview["today"] == {"alerts": 1, "rejections": 0, "failed": 0, "orders": 1, "refused_orders": 0,
                                 "trades_closed": 0, "net": 0}
    assert overview["health"]["status"] == "ok" and len(overview["latency"]) == 60
    assert {"account", "positions", "orders", "errors", "broker"} <= set(overview) and overview["orders"] == []
    assert [(t["position"], t["plugin"], t["profit"]) for t in trades["trades"]] == [(1001, "engine", 50.0)]
    assert trades["by_plugin"]["engine"]["net"] == 50.0
    assert [r.status_code for r in bad] == [400, 400] and bad[1].json()["error"].startswith("since:")


def _closed_trade(position: int) -> list[dict]:
    deal = {"ticket": 2 * position, "position": position, "symbol": "EURUSD", "side": "buy", "entry": "in",
            "volume": 0.1, "price": 1.1, "profit": 0.0, "commission": 0.0, "time": float(position), "comment": None,
            "magic": None}
    return [deal, {**deal, "ticket": 2 * position + 1, "side": "sell", "entry": "out", "profit": 1.0}]


async def test_the_older_trades_are_read_below_the_last_shown(tmp_path):
    # At most 500 trades in one answer: a year's older trades are read a page at a time.
    deals = [d for p in range(1, 8) for d in _closed_trade(p)]
    async with running(tmp_path, {"trend": TREND}, use_broker=FakeBroker(deals=deals)) as engine, \
            serving(engine) as client:
        pages, before = [], ""
        for _ in range(4):
            pages.append((await client.get(f"/api/trades?limit=3{before}", headers=AUTH)).json())
            last = (pages[-1]["trades"] or [None])[-1]
            before = f"&before={last['closed_at']}:{last['position']}" if last else before
        bad = [await client.get(f"/api/trades?{q}", headers=AUTH)
               for q in ("offset=3", "before=x", "before=12", "before=inf:3", "before=1.5:x")]
        endless = [await client.get(f"/api/trades?since={t}", headers=AUTH) for t in ("inf", "1e400", "-1")]
    assert [[t["position"] for t in page["trades"]] for page in pages] == [[7, 6, 5], [4, 3, 2], [1], []]
    assert [page["newer"] for page in pages] == [0, 3, 6, 7]
    assert {page["closed"] for page in pages} == {7} and pages[0]["equity_points"] == 8
    assert [r.status_code for r in bad] == [400] * 5 and bad[0].json()["error"].startswith("offset:")
    assert all(r.json()["error"].startswith("before:") for r in bad[1:]), [r.json() for r in bad]
    # no Unix time: once an empty history, "closed": 0, said as if it were the account's
    assert [r.status_code for r in endless] == [400] * 3 and endless[0].json()["error"].startswith("since:")


class _Unreachable(FakeBroker):
    async def history(self, since: float | None = None) -> list:
        raise BrokerError("terminal not connected")


async def test_a_view_the_broker_cannot_answer_is_a_503_saying_so(tmp_path):
    async with running(tmp_path, {"trend": TREND}, use_broker=_Unreachable()) as engine, serving(engine) as client:
        answer = await client.get("/api/trades", headers=AUTH)
    assert (answer.status_code, answer.json()) == (503, {"error": "the broker cannot answer: terminal not connected"})


STOPS = """plugin = {name = "stops", guard = true}
function on_alert(a) if a.action == "buy" and not a.sl then return false, 'no stop' end end"""
LOOSE = 'plugin = {name = "stops"}\nfunction on_alert(a) end  -- lets every entry through\n'


async def test_a_save_naming_a_plugin_another_file_serves_is_refused_whole(tmp_path):
    # A "New" script with a live guard's plugin.name: answered as not loaded, it stayed on disk
    # and took the name over at the next start, the real guard refused.
    async with running(tmp_path, {"stops": STOPS, "other": TREND}) as engine, serving(engine) as client:
        new = await client.put("/api/scripts/a_draft.lua", content=LOOSE, headers={**AUTH, "If-None-Match": "*"})
        over = await client.put("/api/scripts/other.lua", content=LOOSE, headers=AUTH)
        assert engine.plugins.get("stops").path.name == "stops.lua" and engine.plugins.get("other") is not None
    for answer in (new, over):
        assert answer.status_code == 409, answer.text
        assert "'stops' is stops.lua's" in answer.json()["error"] and answer.json()["holder"] == "stops.lua"
    assert sorted(p.name for p in (tmp_path / "scripts").iterdir()) == ["other.lua", "stops.lua"]
    assert (tmp_path / "scripts" / "other.lua").read_text() == TREND


async def test_at_a_start_a_name_two_files_claim_goes_to_the_one_that_served_it_last_or_to_none(tmp_path):
    async with running(tmp_path, {"stops": STOPS}) as engine:
        assert engine.plugins.get("stops").path.name == "stops.lua"
    (tmp_path / "scripts" / "a_draft.lua").write_text(LOOSE)   # put there while moonhook was stopped
    async with running(tmp_path) as engine:                      # sorted first, it does not take the name
        assert engine.plugins.get("stops").path.name == "stops.lua" and not engine.paused
        assert "stops.lua's, which served it when moonhook last ran" in engine.lifecycle.errors["a_draft.lua"]
        assert "stops.lua" not in engine.lifecycle.errors

    fresh = tmp_path / "fresh"                                    # no record of which served: neither
    async with running(fresh, {"stops": STOPS, "a_draft": LOOSE}) as engine:
        assert engine.plugins.get("stops") is None and engine.paused   # a guard's name: paused
        assert set(engine.lifecycle.errors) == {"a_draft.lua", "stops.lua"}
        assert "none of them is loaded" in engine.lifecycle.errors["stops.lua"]
        with trio.fail_after(HANG):   # the notifier writes the outbox in its own task
            while not any("a_draft.lua and stops.lua all name it" in r["text"]
                          for r in engine.database.db.query("SELECT text FROM outbox")):
                await trio.sleep(0.01)
    async with running(fresh) as engine:                          # and not at the next start either
        assert engine.plugins.get("stops") is None and engine.paused


async def test_a_dashboard_save_of_the_same_text_tries_it_again(tmp_path):
    # The first failure came from outside the file: the same text saved again is not answered
    # with the stale error, it is tried.
    waits = 'function on_load() if not store.get("ready") then error("not ready yet") end end\n'
    async with running(tmp_path, {}) as engine, serving(engine) as client:
        first = (await client.put("/api/scripts/waits.lua", content=waits, headers=AUTH)).json()
        engine.store.set("waits", "ready", True)
        again = (await client.put("/api/scripts/waits.lua", content=waits, headers=AUTH)).json()
    assert first["loaded"] is False and "not ready yet" in first["error"]
    assert again["loaded"] is True, again


async def test_a_save_over_a_folder_or_under_a_name_too_long_in_bytes_is_a_400_naming_it(tmp_path):
    async with running(tmp_path, {"trend": TREND}) as engine, serving(engine) as client:
        (tmp_path / "scripts" / "dir.lua").mkdir()
        folder = await client.put("/api/scripts/dir.lua", content=TREND, headers=AUTH)
        long = await client.put("/api/scripts/" + "\U0001F600" * 116 + ".lua", content=TREND, headers=AUTH)
    assert folder.status_code == 400 and "a folder" in folder.json()["error"], folder.text
    assert long.status_code == 400 and "bytes" in long.json()["error"], long.text
    assert sorted(p.name for p in (tmp_path / "scripts").iterdir()) == ["dir.lua", "trend.lua"]


async def test_a_query_parameter_given_twice_is_a_400_naming_it(tmp_path):
    """The first of two values was taken, unsaid: ``days=1&days=400`` replayed a day where the
    trader may have meant 400 (refused alone), ``status=done&status=failed`` hid the failures."""
    queries = {"/api/alerts?status=done&status=failed": "status", "/api/alerts?limit=1&limit=x": "limit",
               "/api/trades?since=1&since=2": "since", "/api/shadow?limit=1&limit=2": "limit",
               "/api/resume?execute_missed=false&execute_missed=true": "execute_missed"}
    async with running(tmp_path, {"trend": TREND}) as engine, serving(engine) as client:
        await client.post("/api/pause", headers=AUTH)
        answers = {q: await (client.post(q, headers=AUTH) if "resume" in q else client.get(q, headers=AUTH))
                   for q in queries}
        replay = await client.post("/api/scripts/trend.lua/replay?days=1&days=400", content=TREND, headers=AUTH)
        paused = engine.paused
    for query, named in queries.items():
        assert answers[query].status_code == 400, (query, answers[query].text)
        assert answers[query].json()["error"].startswith(f"{named}: given 2 times"), answers[query].json()
    assert replay.status_code == 400 and replay.json()["error"].startswith("days:")
    assert paused is True


class _Disconnected(FakeBroker):
    """Answers until ``down`` (the MetaTrader terminal lost), then raises for what it holds."""
    down = False

    def _held(self) -> None:
        if self.down:
            raise BrokerError("terminal not connected")

    async def positions(self, symbol=None):
        self._held()
        return await super().positions(symbol)

    async def orders(self, symbol=None):
        self._held()
        return await super().orders(symbol)

    async def account(self):
        self._held()
        return await super().account()


async def test_the_brokers_views_and_the_admins_close_and_cancel_are_a_503_when_it_cannot_answer(tmp_path):
    """They were a 500 "internal error; see the server's log", as if moonhook were broken, where
    the docs promise a 503: the broker cannot answer, nothing was sent (retry when it is back)."""
    broker = _Disconnected()
    async with running(tmp_path, {"trend": TREND}, use_broker=broker) as engine, serving(engine) as client:
        broker.down = True
        answers = {path: await (client.post(path, headers=AUTH) if path.endswith(("cancel", "close"))
                                else client.get(path, headers=AUTH))
                   for path in ("/api/orders", "/api/positions", "/api/account", "/api/orders/1001/cancel",
                                "/api/positions/1001/close")}
        sent = broker.requests
    for path, answer in answers.items():
        assert (answer.status_code, answer.json()) == (503, {"error": "the broker cannot answer: terminal not "
                                                                      "connected"}), path
    assert sent == []
