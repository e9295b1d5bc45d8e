"""The dashboard's views in the operations facade (docs/dashboard.md, "The page's API"): the
overview, the alerts filtered and one alert in full, the scripts (listed, read, checked,
saved and tried by the engine), the examples, and the trades from the broker's deals."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest

from engine.app import Operations
from engine.app import trades as _trades
from engine.app.overview import line
from engine.app.scripts import EditingOff, ScriptNameError, checked_name
from engine.app.scaffold import EXAMPLE_NAME, EXAMPLE_SCRIPT
from engine.domain.config.paper import PaperConfig
from engine.domain.orders import Fill, OrderResult

from support.clock_shift import here_at_midday
from support.engine_support import process, running
from support.fakes import FakeBroker
from support.telegram_support import Clock

GUARD = """plugin = {symbols = {'GBPUSD'}, priority = 1}
function on_alert(a) return false, 'no pound today' end"""
TREND = "plugin = {symbols = {'EURUSD'}}\nfunction on_alert(a) end"
BROKEN = "plugin = {}\nfunction on_alert(a)\n  return 1 +\nend"
FAILING = "plugin = {}\nfunction on_alert(a)\n  error('boom')\nend"


async def test_the_alerts_are_filtered_by_status_symbol_and_plugin(tmp_path):
    async with running(tmp_path, {"guard": GUARD, "trend": TREND}) as engine:
        ops = Operations(engine)
        euro = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        pound = await process(engine, "sell GBPUSD volume=0.1 price=1.3")
        await process(engine, "buy USDJPY volume=0.1 price=150")
        assert [a["id"] for a in await ops.alerts(10, status="rejected")] == [pound["id"]]
        assert [a["id"] for a in await ops.alerts(10, symbol="OANDA:EURUSD")] == [euro["id"]]  # named as the engine does
        assert [a["id"] for a in await ops.alerts(10, plugin="guard")] == [pound["id"]]
        assert [a["id"] for a in await ops.alerts(10, plugin="trend", status="done")] == [euro["id"]]
        assert len(await ops.alerts(2)) == 2
        with pytest.raises(ValueError, match="unknown alert status 'nope'"):
            await ops.alerts(10, status="nope")


async def test_one_alert_holds_what_was_received_each_decision_its_orders_and_timings(tmp_path):
    async with running(tmp_path, {"guard": GUARD, "trend": TREND}) as engine:
        ops = Operations(engine)
        euro = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        pound = await process(engine, "sell GBPUSD volume=0.1 price=1.3")
        done, rejected = await ops.alert(euro["id"]), await ops.alert(pound["id"])
        assert await ops.alert(9999) is None
    assert done["alert"]["symbol"] == "EURUSD" and done["decisions"] == [{"plugin": "trend", "result": "pass"}]
    (order,) = done["orders"]
    assert order["plugin"] == "engine" and order["status"] == "done" and order["result"]["ok"] is True
    assert order["request"]["symbol"] == "EURUSD" and order["result"]["ticket"]
    timings = done["timings"]
    assert timings["received_at"] <= timings["finished_at"] and timings["to_broker_ms"] >= 0
    assert timings["total_ms"] >= 0 and timings["orders"][0]["client_id"] == order["client_id"]
    assert rejected["decisions"] == [{"plugin": "guard", "result": "rejected", "reason": "no pound today"}]
    assert rejected["orders"] == [] and rejected["timings"]["to_broker_ms"] is None


async def test_the_overview_counts_today_charts_the_latency_and_lists_the_last_errors(tmp_path, monkeypatch):
    here_at_midday(monkeypatch)  # today's counts in one day
    async with running(tmp_path, {"guard": GUARD, "broken": BROKEN, "failing": FAILING}) as engine:
        ops = Operations(engine)
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "sell GBPUSD volume=0.1 price=1.3")          # rejected by guard
        await process(engine, "buy EURUSD volume=5000 price=1.1")           # refused by the broker
        view = await ops.overview()
    assert view["health"]["status"] == "degraded" and view["health"]["load_errors"] == ops.load_errors()
    assert list(view["health"]["load_errors"]) == ["broken.lua"]
    assert view["broker"] == {"name": "paper", "connected": True, "state": "connected"}
    assert view["account"]["currency"] and [p["symbol"] for p in view["positions"]] == ["EURUSD"]
    assert view["today"] == {"alerts": 3, "rejections": 1, "failed": 1, "orders": 2, "refused_orders": 1,
                             "trades_closed": 0, "net": 0}
    assert len(view["latency"]) == 60 and sum(p["count"] for p in view["latency"]) == 2
    last = view["latency"][-1]
    assert last["count"] == 2 and 0 <= last["p50_ms"] <= last["p99_ms"]
    assert all(p["p50_ms"] is None for p in view["latency"][:-2])
    kinds = {e["kind"]: e for e in view["errors"]}
    assert kinds["load"]["file"] == "broken.lua" and kinds["load"]["line"] == 4
    assert kinds["plugin"]["plugin"] == "failing" and kinds["plugin"]["file"] == "failing.lua"
    assert kinds["plugin"]["line"] == 3 and "boom" in kinds["plugin"]["message"]
    assert kinds["order"]["symbol"] == "EURUSD" and "volume" in kinds["order"]["message"]


def test_a_script_name_is_a_plain_lua_file_in_the_folder():
    assert checked_name("trend-2.lua") == "trend-2.lua"
    for name, problem in [("../x.lua", "'/'"), ("a/b.lua", "'/'"), ("..x.lua", "'..'"), (".hidden.lua", "hidden"),
                          ("#x.lua#", "hidden"), ("x.txt", ".lua"), ("", "empty"), ("a\x00.lua", "control"),
                          ("x" * 200 + ".lua", "longer")]:
        with pytest.raises(ScriptNameError, match=problem):
            checked_name(name)


async def test_scripts_are_listed_read_checked_and_a_save_answers_once_tried(tmp_path):
    async with running(tmp_path, {"trend": TREND, "broken": BROKEN}) as engine:
        ops = Operations(engine)
        listed = {s["name"]: s for s in ops.scripts()}
        assert {n: (s["state"], s["size"]) for n, s in listed.items()} == {
            "broken.lua": ("failed", len(BROKEN)), "trend.lua": ("active", len(TREND))}
        assert ops.script("trend.lua") == {"name": "trend.lua", "text": TREND,
                                           "version": hashlib.sha256(TREND.encode()).hexdigest()}
        with pytest.raises(FileNotFoundError):
            ops.script("nothere.lua")

        findings = await ops.check_script("new.lua", BROKEN)
        assert findings[0]["severity"] == "error" and findings[0]["line"] == 4 and findings[0]["column"] is None
        assert not (tmp_path / "scripts" / "new.lua").exists()  # checked elsewhere, never saved

        saved = await ops.save_script("trend.lua", TREND.replace("EURUSD", "USDJPY"))
        now = hashlib.sha256(TREND.replace("EURUSD", "USDJPY").encode()).hexdigest()
        assert saved == {"loaded": True, "plugin": "trend", "enabled": True, "version": now,
                         "serving_version": now[:12]}
        assert ops.plugin_rows()[0]["symbols"] == ["USDJPY"]
        failed = await ops.save_script("trend.lua", BROKEN)
        assert failed["loaded"] is False and failed["line"] == 4 and "trend.lua:4" in failed["error"]
        assert failed["message"].startswith("script error: ") and "trend.lua" not in failed["message"]
        assert (failed["serving"], failed["serving_version"]) == ("trend", now[:12])  # the version before serves
        new = await ops.save_script("fresh.lua", TREND.replace("EURUSD", "GBPUSD"))
        assert new["loaded"] is True and "fresh" in ops.serving()
        assert (tmp_path / "scripts" / "trend.lua").read_text() == BROKEN
        assert [p.name for p in (tmp_path / "scripts").iterdir() if p.name.startswith(".")] == []  # no temp left
        with pytest.raises(EditingOff):
            await ops.save_script("trend.lua", TREND, allowed=False)
        with pytest.raises(ScriptNameError):
            await ops.save_script("../escape.lua", TREND)
    assert (tmp_path / "scripts" / "trend.lua").read_text() == BROKEN and not (tmp_path / "escape.lua").exists()


async def test_the_examples_are_those_init_writes(tmp_path):
    async with running(tmp_path) as engine:
        assert Operations(engine).examples() == [{"name": EXAMPLE_NAME, "text": EXAMPLE_SCRIPT}]


def _deal(ticket, position, entry, side, price, profit, at, volume=1.0, swap=0.0):
    return {"ticket": ticket, "position": position, "symbol": "EURUSD", "side": side, "entry": entry,
            "volume": volume, "price": price, "profit": profit, "commission": -3.5, "swap": swap, "time": at,
            "comment": None, "magic": None}


async def test_trades_from_the_deals_with_the_plugin_that_opened_each(tmp_path, monkeypatch):
    # The view is of the whole history (a year's deals: 300 ms of Python), asked after each fill
    # while the trades page is open: it is made in a thread, never on the event loop's.
    made_in: list[threading.Thread] = []
    view_of = _trades.trades_view
    monkeypatch.setattr(_trades, "trades_view", lambda *a: (made_in.append(threading.current_thread()), view_of(*a))[1])
    t0 = time.time()
    deals = [_deal(1, 1001, "in", "buy", 1.10, 0.0, t0), _deal(2, 1001, "out", "sell", 1.11, 100.0, t0 + 60),
             _deal(3, 77, "in", "sell", 1.12, 0.0, t0 + 70),                       # opened by hand
             _deal(4, 77, "out", "buy", 1.13, -100.0, t0 + 80, swap=-2.0)]     # held overnight
    broker = FakeBroker(deals=deals)
    async with running(tmp_path, use_broker=broker) as engine:
        await process(engine, "buy EURUSD volume=1 price=1.1")  # the fake answers ticket 1001
        view = await Operations(engine).trades(limit=10)
        since = await Operations(engine).trades(limit=10, since=t0 + 65)
    assert [(t["position"], t["plugin"], t["swap"], t["net"]) for t in view["trades"]] == [
        (77, None, -2.0, -109.0), (1001, "engine", 0.0, 93.0)]
    assert view["by_plugin"] == {
        "engine": {"trades": 1, "profit": 100.0, "commission": -7.0, "swap": 0.0, "net": 93.0},
        "unknown": {"trades": 1, "profit": -100.0, "commission": -7.0, "swap": -2.0, "net": -109.0}}
    assert [p["profit"] for p in view["equity"]] == [0.0, -3.5, 93.0, 89.5, -16.0]  # from where it started
    assert view["equity"][0]["balance"] == 10_016.0
    assert view["equity"][-1]["balance"] == 10_000.0  # the account's balance now ends the curve
    assert [t["position"] for t in since["trades"]] == [77] and since["closed"] == 1
    assert len(made_in) == 2 and threading.main_thread() not in made_in


async def test_the_trades_closed_since_a_time_count_those_opened_before_it(tmp_path):
    # Telegram's /trades: a trade opened before midnight and closed after it is one of the day's.
    now = time.time()
    midnight = now - now % 86_400
    deals = [_deal(1, 1001, "in", "buy", 1.10, 0.0, midnight - 3 * 86_400),       # three days ago, closed today
             _deal(2, 1001, "out", "sell", 1.11, 100.0, midnight + 1),
             _deal(3, 77, "in", "sell", 1.12, 0.0, now - 5 * 86_400),               # five days ago, closed 2 days ago
             _deal(4, 77, "out", "buy", 1.13, -100.0, now - 2 * 86_400)]
    broker = FakeBroker(deals=deals)
    async with running(tmp_path, use_broker=broker) as engine:
        await process(engine, "buy EURUSD volume=1 price=1.1")  # the fake answers ticket 1001
        week = await Operations(engine).closed_since(7)
        day = await Operations(engine).closed_since()
    assert [t["position"] for t in week["trades"]] == [1001, 77] and week["closed"] == 2
    assert week["net"] == -14.0 and week["by_plugin"] == {"engine": {"trades": 1, "net": 93.0},
                                                          "unknown": {"trades": 1, "net": -107.0}}
    assert [t["position"] for t in day["trades"]] == [1001] and day["net"] == 93.0
    assert week["currency"] == "USD"


class CountedHistory(FakeBroker):
    reads = 0

    async def history(self, since: float | None = None) -> list[dict]:
        self.reads += 1
        return await super().history(since)


async def test_the_overview_reads_the_deal_history_again_only_after_a_deal(tmp_path):
    # The dashboard asks for the overview on every alert; on MetaTrader 5 each read is a month of
    # deals through the link orders go through.
    broker = CountedHistory()
    async with running(tmp_path, use_broker=broker) as engine:
        ops = Operations(engine)
        for _ in range(3):
            await process(engine, "trend EURUSD H1 up")
            await ops.overview()
        assert broker.reads == 1
        engine.on_event(Fill(1, 1, 1, "EURUSD", "sell", 1.0, 1.1, "out", "close", time.time(), 5.0, 0.0, None))
        assert (await ops.overview())["today"]["trades_closed"] == 0 and broker.reads == 2
        await ops.overview()
        assert broker.reads == 2


async def test_a_trade_held_longer_than_a_month_and_closed_today_is_one_of_today_s_in_every_view(tmp_path):
    # The trades closed today are looked for with a month of history; a swing position held for
    # 40 days and closed at a loss today was left out: "0 trades closed, net +0.00" beside the
    # day's loss of 10% the same account books.
    clock = Clock()
    async with running(tmp_path, clock=clock, paper=PaperConfig(commission_per_lot=7.0)) as engine:
        ops = Operations(engine)
        await process(engine, "buy EURUSD volume=1 price=1.1000 sl=1.0500")
        clock.now += 40 * 86_400
        await process(engine, "close EURUSD price=1.0900")
        (trade,) = (await ops.trades())["trades"]
        today, telegram = (await ops.overview())["today"], await ops.closed_since()
        day = await engine.limits.day_loss(engine.broker)
    assert trade["net"] == -1014.0 and trade["closed_at"] >= day["began"]
    assert (today["trades_closed"], today["net"]) == (1, trade["net"])
    assert [t["position"] for t in telegram["trades"]] == [trade["position"]] and telegram["net"] == trade["net"]


async def test_an_order_whose_answer_is_not_known_is_one_of_today_s_orders_sent(tmp_path, monkeypatch):
    here_at_midday(monkeypatch)  # today's counts in one day
    # An order the broker may have executed (its answer lost) was sent: the Today panel and
    # `moonhook status` said "0 orders" beside the order the ledger lists and the chat was told of.
    def lost(request):
        return OrderResult(ok=False, unknown=True, error="not known: the answer was lost")

    async with running(tmp_path, use_broker=FakeBroker(answer=lost)) as engine:
        ops = Operations(engine)
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        (recent,) = (await ops.orders(10))["recent"]
        today = (await ops.overview())["today"]
    assert recent["status"] == "unknown"
    assert (today["orders"], today["refused_orders"]) == (1, 0)


async def test_an_alert_that_failed_is_counted_today_as_the_alerts_list_and_the_metrics_have_it(tmp_path, monkeypatch):
    here_at_midday(monkeypatch)  # today's counts in one day
    # An acknowledged alert that traded nothing for an error (a symbol the broker does not
    # know, the broker disconnected) was in no figure of the overview: "2 alerts, 0 rejections"
    # and no error read as two alerts executed.
    async with running(tmp_path) as engine:
        ops = Operations(engine)
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        failed = await process(engine, "sell XXXYYY volume=0.1 price=1 sl=2")
        listed = await ops.alerts(100, status="failed")
        view, metrics = await ops.overview(), (await ops.metrics()).decode()
    assert failed["status"] == "failed" and [a["id"] for a in listed] == [failed["id"]]
    assert 'moonhook_alerts_total{status="failed"} 1.0' in metrics
    assert (view["today"]["alerts"], view["today"]["rejections"], view["today"]["failed"]) == (2, 0, 1)
    assert "; today: 2 alerts (1 failed), 1 order," in line(view)   # moonhook status
