"""The replay loop (``engine/app/replay/runner.py``) in process, against fixtures computed by
hand: where the orders of timers and hooks fill, and what the report says of alerts that fail.

The account: [paper] with a spread of 10 points (EURUSD: 5 digits, so the ask is the bid +
0.00010), no commission; a point of one lot is worth 1.00 USD. Bars are hourly bids from T0
(2024-05-13 00:00 UTC).
"""

from __future__ import annotations

import gc
import json
from dataclasses import replace
from pathlib import Path

import pytest

from engine.adapters.storage import AlertJournal, Database
from engine.app.replay import (Bar, RecordedAlert, build, compare, compare_html, compare_json, compare_text, html, text,
                               to_json)
from engine.app.replay import read_alerts
from engine.app.replay.runner import ReplayError, replay
from engine.domain.alerts import Action, Alert
from engine.domain.config import EngineConfig
from engine.domain.config.paper import PaperConfig

T0, H = 1_715_558_400.0, 3600.0
CONFIG = replace(EngineConfig(), paper=PaperConfig(spread_points=10))
BARS = {"EURUSD": [
    Bar(T0,         1.08000, 1.08100, 1.07950, 1.08050),   # b0
    Bar(T0 + H,     1.08100, 1.08300, 1.08000, 1.08250),   # b1
    Bar(T0 + 2 * H, 1.08250, 1.08280, 1.08100, 1.08200),   # b2
    Bar(T0 + 3 * H, 1.09000, 1.09100, 1.08900, 1.09050),   # b3: opens 80 points over b2's close
    Bar(T0 + 4 * H, 1.09050, 1.09150, 1.09000, 1.09100),   # b4: the last, ends at T0 + 5H
]}
BUY = (T0 + 1800, "buy EURUSD volume=1 price=1.0805")   # inside b0: filled at the ask 1.08060


async def run(tmp_path: Path, scripts: dict[str, str], alerts, bars=BARS, config=CONFIG):
    folder = tmp_path / "scripts"
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in scripts.items():
        (folder / name).write_text(source)
    recorded = [RecordedAlert(t, body, f"alerts.jsonl:{i}") for i, (t, body) in enumerate(alerts, 1)]
    return await replay(config, folder, recorded, bars)


TIMER_CLOSE = """plugin = {every = "1h"}
function on_timer()
  for _, p in ipairs(positions.list()) do
    if time.now() - p.opened_at >= 5400 then orders.close{ticket = p.ticket} end
  end
end
"""


async def test_a_timers_close_fills_at_the_next_bars_open_not_at_the_last_alerts_price(tmp_path):
    out = await run(tmp_path, {"timer.lua": TIMER_CLOSE}, [BUY])
    # Timers at 01:30 (the position 1 h old) and 02:30 (2 h: closed). At 02:30 no price is the
    # order's own: it fills at the next bar's open, b3's 1.09000 at 03:00, not the alert's 1.0805.
    # (1.09000 - 1.08060) = 940 points x 1 lot = 940.00.
    [trade] = out.trades
    assert (trade.open_price, trade.close_time, trade.close_price, trade.reason, trade.profit) == (
        1.0806, T0 + 3 * H, 1.09, "close", 940.0)


ON_FILL_CLOSE = """plugin = {}
function on_fill(f)
  if f.entry == "in" then orders.close{ticket = f.position} end
end
"""


async def test_an_on_fill_close_fills_at_the_next_bars_open(tmp_path):
    out = await run(tmp_path, {"fill.lua": ON_FILL_CLOSE}, [BUY])
    # on_fill runs after the alert: its close is no longer the alert's, b1's open 1.08100 at 01:00.
    # (1.08100 - 1.08060) = 40 points x 1 lot = 40.00.
    [trade] = out.trades
    assert (trade.close_time, trade.close_price, trade.profit) == (T0 + H, 1.081, 40.0)


async def test_alerts_that_fail_or_expire_are_reported_with_their_place_and_reason(tmp_path):
    alerts = [(T0 + 600, "buy EURUSD price=1.0800"),                          # no volume, no default
              (T0 + 1200, "buy GBPUSD volume=1"),                              # no price, no bars for it
              (T0 + 1800, f"buy EURUSD volume=1 price=1.0805 timenow={T0:.0f}"),  # fired 30 min ago: past 120 s
              (T0 + 1800, "buy EURUSD volume=50 price=1.0805"),                # refused: no margin for it
              BUY]                                                             # the one executed
    out = await run(tmp_path, {}, alerts)
    assert [(x.alert, x.status) for x in out.unexecuted] == [
        ("alerts.jsonl:1", "failed"), ("alerts.jsonl:2", "failed"), ("alerts.jsonl:3", "expired"),
        ("alerts.jsonl:4", "failed")]
    no_volume, no_price, expired, refused = (x.reason for x in out.unexecuted)
    assert refused == out.orders[0].error and "margin" in refused
    assert no_volume.startswith("no volume: give volume=")
    assert no_price == "no price for GBPUSD: the alert has none and the broker has no quote"
    assert expired.startswith("not executed: fired 30 min ago") and "engine.max_alert_age" in expired
    assert [(o.side, o.error is None) for o in out.orders] == [("buy", False), ("buy", True)]

    report = build(out)
    said = text(report)
    assert "alerts not executed (4: 3 failed, 1 expired):" in said
    assert f"  alerts.jsonl:1: failed: {no_volume}" in said and f"  alerts.jsonl:3: expired: {expired}" in said
    data = json.loads(to_json(report))
    assert (data["failed_count"], data["expired_count"]) == (3, 1)
    assert data["not_executed"][1] == {"alert": "alerts.jsonl:2", "status": "failed", "reason": no_price}
    assert json.loads(to_json(report, summary=True))["not_executed"] == data["not_executed"]
    page = html(report)
    assert "Alerts not executed (4: 3 failed, 1 expired)" in page and "alerts.jsonl:3" in page and "no price for GBPUSD" in page


TIGHT_STOP = """plugin = {}
function on_fill(f)
  if f.entry == "in" then
    orders.modify{ticket = f.position, sl = f.price - 0.0004}
  end
end
"""   # the auditor's /tmp/audit_replay/r5/b/tight_stop.lua


async def test_compare_counts_a_trade_closed_otherwise_as_a_difference_of_its_opening_alert(tmp_path):
    # b's on_fill puts a stop 4 pips under the fill (an accepted modify: no order in the report).
    # a leaves the buy open to the end; b's stop 1.08020 is reached inside b1 (low 1.08000):
    # closed at 01:00, (1.08020 - 1.08060) = -40 points x 1 lot = -40.00. Same decisions and orders.
    a = build(await run(tmp_path / "a", {}, [BUY]))
    b = build(await run(tmp_path / "b", {"tight_stop.lua": TIGHT_STOP}, [BUY]))
    assert a.outcome.orders == b.outcome.orders and a.outcome.decisions == b.outcome.decisions
    comparison = compare(a, b)
    [difference] = comparison.differences
    assert difference.alert == "alerts.jsonl:1"
    assert difference.a_trades == ()
    [closed] = difference.b_trades
    assert (closed.reason, closed.close_time, closed.close_price, closed.profit) == ("sl", T0 + H, 1.0802, -40.0)
    said = compare_text(comparison)
    assert "alerts that differ: 1" in said and "closed sl at 1.0802" in said
    data = json.loads(compare_json(comparison))
    assert data["differing"] == 1 and data["differences"][0]["b"]["trades"][0]["reason"] == "sl"
    assert data["differences"][0]["a"]["trades"] == []
    assert compare(a, a).differences == [] and compare(b, b).differences == []


async def test_an_older_moonhooks_journal_is_read_as_this_version_reads_its_alerts(tmp_path):
    # An older moonhook kept the fields it did not read yet as sent, extra fields: a timenow as
    # its text, "SL" before names were read in any case, "lots" before it was the volume. Taken
    # as journaled, the timenow crashed the replay (a text compared with a time) and the others
    # traded without the stop or the size; read as this version reads the body, they count.
    path = tmp_path / "moonhook.db"
    db = Database(path)
    journal = AlertJournal(db, dedup_window=60)
    late = Alert(Action.BUY, "EURUSD", "EURUSD", price=1.0805, volume=1.0,
                 extra={"timenow": "2024-05-13T00:00:00Z"})   # fired 30 min before it came: expired
    sized = Alert(Action.BUY, "EURUSD", "EURUSD", price=1.0805, extra={"SL": 1.0801, "lots": 2})
    for alert in (late, sized):
        journal.set_status(journal.record(alert, now=T0 + 1800).id, "done")
    db.close()
    out = await replay(CONFIG, _folder(tmp_path), read_alerts(path).items, BARS)
    assert [(x.alert, x.status) for x in out.unexecuted] == [(f"{path}:1", "expired")]
    # The buy fills at the ask 1.08060 with 2 lots; its stop 1.08010 is reached in b1 (low
    # 1.08000): (1.08010 - 1.08060) = -50 points x 2 lots = -100.00.
    [trade] = out.trades
    assert (trade.volume, trade.reason, trade.close_price, trade.profit) == (2.0, "sl", 1.0801, -100.0)


async def test_a_repeat_not_run_is_said_with_the_alert_it_repeats(tmp_path):
    # TradingView fired the same buy twice in 30 s: live journals the second a duplicate and
    # does not run it, and so does replay; the report said "2 alerts" and showed one trade,
    # without a word on the other.
    out = await run(tmp_path, {}, [BUY, (BUY[0] + 30, BUY[1])])
    assert len(out.trades) + len(out.open) == 1
    [problem] = out.problems
    assert problem.where == "alerts.jsonl:2"
    assert problem.what == "a repeat of alerts.jsonl:1 within engine.dedup_window (60 s): a duplicate, not run, as live"
    assert f"  alerts.jsonl:2: {problem.what}" in text(build(out))


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "scripts"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _basket(*symbols: str) -> str:
    """A script that buys ``symbols`` on every alert, in that order."""
    buys = "\n".join(f"  orders.market{{symbol = '{s}', side = 'buy', volume = 0.1}}" for s in symbols)
    return f"plugin = {{}}\nfunction on_alert(a)\n{buys}\n  return {{handled = true}}\nend\n"


async def test_compare_does_not_count_the_same_orders_in_another_order_as_a_difference(tmp_path):
    # A script walking a table with pairs() places its basket in an order of its Lua state's own:
    # the same script, replayed twice, buys the same symbols in another order.
    bars = {**BARS, "GBPUSD": BARS["EURUSD"]}
    a = build(await run(tmp_path / "a", {"basket.lua": _basket("EURUSD", "GBPUSD")}, [BUY], bars))
    b = build(await run(tmp_path / "b", {"basket.lua": _basket("GBPUSD", "EURUSD")}, [BUY], bars))
    assert [o.symbol for o in a.outcome.orders] == ["EURUSD", "GBPUSD"]
    assert [o.symbol for o in b.outcome.orders] == ["GBPUSD", "EURUSD"]
    assert compare(a, b).differences == []
    c = build(await run(tmp_path / "c", {"basket.lua": _basket("GBPUSD", "GBPUSD")}, [BUY], bars))
    assert [d.alert for d in compare(a, c).differences] == ["alerts.jsonl:1"]   # another basket still differs


async def test_compare_says_what_each_version_leaves_open_beside_its_profit(tmp_path):
    # b takes the buy a refuses and leaves it open: the same profit (none closed), but b holds
    # a position valued at b4's close 1.09100, (1.09100 - 1.08060) x 1 lot = +1,040.00.
    a = build(await run(tmp_path / "a", {"no.lua": 'function on_alert(a) return false, "no" end'}, [BUY]))
    b = build(await run(tmp_path / "b", {}, [BUY]))
    comparison = compare(a, b)
    assert comparison.profit_difference == 0.0
    assert "open at the end, not in the profit  a 0, floating 0.00  b 1, floating 1,040.00\n" in compare_text(comparison)
    assert ("<tr><td>open at the end, not in the profit</td><td>0, floating 0.00</td>"
            "<td>1, floating 1,040.00</td></tr>") in compare_html(comparison)


async def test_compare_does_not_count_an_error_moved_to_another_line_as_a_difference(tmp_path):
    # The next version adds a line above the failing one: the same error on the same alert, at
    # line 4 rather than 3, is no difference; another error is one.
    failing = 'plugin = {}\nfunction on_alert(a)\n  error("WHY")\nend\n'
    a = build(await run(tmp_path / "a", {"boom.lua": failing.replace("WHY", "no quote")}, [BUY]))
    b = build(await run(tmp_path / "b", {"boom.lua": "-- v2\n" + failing.replace("WHY", "no quote")}, [BUY]))
    c = build(await run(tmp_path / "c", {"boom.lua": failing.replace("WHY", "no spread")}, [BUY]))
    assert [d.detail for d in (*a.outcome.decisions, *b.outcome.decisions)] == [
        "on_alert: script error at boom.lua:3: no quote", "on_alert: script error at boom.lua:4: no quote"]
    assert compare(a, b).differences == []
    assert [d.alert for d in compare(a, c).differences] == ["alerts.jsonl:1"]


async def test_the_report_names_the_symbols_traded_without_prices_beside_those_with(tmp_path):
    """Bars given for EURUSD, an alert on USDJPY too: the report said "no prices: orders filled at
    the alert's price", and the trader took the price file given for EURUSD as unread."""
    out = await run(tmp_path, {}, [BUY, (T0 + 2000, "buy USDJPY volume=1 price=155")])
    assert not out.prices_simulated and list(out.without_prices) == ["USDJPY"]
    said = text(build(out))
    assert ("NOTE no prices for USDJPY: their orders filled at the alert's price, their stops and targets were not "
            "simulated") in said
    assert "NOTE no prices:" not in said


async def test_a_replay_leaves_pythons_collector_as_it_found_it(tmp_path):
    # The loop keeps what existed before the alerts out of full collections (runner._long_lived):
    # once it ends, or fails in a script, nothing of the process stays frozen.
    assert gc.get_freeze_count() == 0
    out = await run(tmp_path, {"timer.lua": TIMER_CLOSE}, [BUY])
    assert out.trades and gc.get_freeze_count() == 0
    failing = 'function on_alert(a) error("boom") end'
    out = await run(tmp_path, {"timer.lua": TIMER_CLOSE, "fails.lua": failing}, [BUY])
    assert out.faults and gc.get_freeze_count() == 0


TIMER_SELL = """plugin = {every = "1h"}
local placed = false
function on_timer()
  if not placed then placed = true; orders.market{symbol = "EURUSD", side = "sell", volume = 0.01} end
end
"""
MOVES_PRICE = """plugin = {}
function on_order(o) if o.plugin == "timer" then return {price = 2.0} end end
"""


async def test_an_order_fills_at_the_market_whatever_price_on_order_gives_it(tmp_path):
    out = await run(tmp_path, {"timer.lua": TIMER_SELL, "moves.lua": MOVES_PRICE}, [BUY])
    # The timer's sell at 01:30 fills at b2's open (1.08250 the bid, at 02:00), as the paper broker
    # fills at its market: not at the 2.0 on_order gives it (1,000 points of profit no market paid).
    sell = next(p for p in out.open if p.position.side == "sell")
    assert (sell.position.price_open, sell.position.opened_at) == (1.0825, T0 + 2 * H)
    assert not out.faults


async def test_an_alert_fired_before_the_last_one_is_no_price_of_the_replayed_market(tmp_path):
    # A sell fired a minute before the long's alert, delivered behind it: its 1.0780 is the market of a
    # minute before; it sells at the last price, the long's 1.0805, as on paper.
    buy = (T0 + 1802, f"buy EURUSD volume=1 price=1.0805 timenow={int(T0 + 1800)}")
    late = (T0 + 1805, f"sell EURUSD volume=1 price=1.0780 timenow={int(T0 + 1740)}")
    out = await run(tmp_path, {}, [buy, late], bars={})
    assert sorted((p.position.side, p.position.price_open) for p in out.open) == [("buy", 1.0806), ("sell", 1.0805)]


async def test_an_alert_outside_the_bars_is_said_at_its_time_and_where_the_bars_are(tmp_path):
    # The problem said "EURUSD: at 1715556600, before the first bar": Unix seconds, where the
    # report says every other time as a date, and nothing of where the bars begin.
    out = await run(tmp_path, {}, [(T0 - 1800, "buy EURUSD volume=1 price=1.0805"), BUY,
                                   (T0 + 6 * H, "sell EURUSD volume=1 price=1.0905")])
    assert [(p.where, p.what) for p in out.problems] == [
        ("alerts.jsonl:1", "EURUSD: at 2024-05-12 23:30:00, before the first bar (2024-05-13 00:00:00)"),
        ("alerts.jsonl:3", "EURUSD: at 2024-05-13 06:00:00, after the last bar (it ends at 2024-05-13 05:00:00)")]


async def test_a_scripts_error_names_its_place_once_in_the_report(tmp_path):
    # It read "error at boom.lua:3: on_alert: script error at boom.lua:3: no quote".
    out = await run(tmp_path, {"boom.lua": 'plugin = {}\nfunction on_alert(a)\n  error("no quote")\nend\n'}, [BUY])
    assert [(f.where, f.what) for f in out.faults] == [("boom.lua:3", "on_alert: script error: no quote")]
    assert "  error at boom.lua:3: on_alert: script error: no quote\n" in text(build(out))


async def test_a_changed_file_naming_a_plugin_an_unchanged_one_serves_is_the_one_refused(tmp_path):
    """A draft alpha.lua naming 'demo' beside demo.lua, replayed against the scripts serving:
    alpha.lua loaded first, by name, and the refusal named demo.lua ("demo.lua: ... already loaded
    from alpha.lua"), where the editor marked the fault. The files the replay compares with load
    first, as they serve live: the draft is refused, in the words the live engine refuses its save."""
    serving, draft = tmp_path / "live", tmp_path / "draft"
    for folder in (serving, draft):
        folder.mkdir()
        (folder / "demo.lua").write_text("plugin = {name = 'demo'}\n")
    (draft / "alpha.lua").write_text("plugin = {name = 'demo'}\n")
    with pytest.raises(ReplayError) as refused:
        await replay(CONFIG, draft, [], BARS, baseline=serving)
    assert str(refused.value) == "alpha.lua: a plugin named 'demo' is already loaded from demo.lua"


async def test_two_files_naming_one_plugin_are_both_refused_named_as_the_engine_names_them(tmp_path):
    """a.lua and b.lua naming 'demo': the replay loaded a.lua and refused b.lua ("b.lua: a plugin named
    'demo' is already loaded from a.lua"), where moonhook at a start with the same two files serves
    neither (which one served it last unknown) and says both (engine/core/clashes.py)."""
    folder = tmp_path / "scripts"
    folder.mkdir()
    for file in ("b.lua", "a.lua"):
        (folder / file).write_text("plugin = {name = 'demo'}\n")
    with pytest.raises(ReplayError) as refused:
        await replay(CONFIG, folder, [], BARS)
    assert str(refused.value) == (
        f"plugin 'demo' is named by {folder}/a.lua and {folder}/b.lua: a replay serves neither, as moonhook at a "
        "start serves neither when it does not know which one served it last; give one another plugin.name")
