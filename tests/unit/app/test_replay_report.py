"""The replay's report (engine/app/replay/report*.py, issue 22): figures checked against a
fixture computed by hand, byte-identical renderings (also across hash seeds, in fresh
interpreters), HTML that escapes what the scripts wrote and holds no script, the no-prices
note, and compare listing exactly the alerts that differ."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.app.replay import (ClosedTrade, Decision, Fault, Order, Outcome, Problem, build, compare,
                               compare_html, compare_json, compare_text, html, text, to_json)
from engine.app.replay.report import when

T0 = 1714521600.0  # 2024-05-01 00:00:00 UTC
HOUR = 3600.0
ROOT = Path(__file__).resolve().parents[3]

SCRIPT = "<script>alert(1)</script>"


def _trade(symbol, side, volume, open_time, open_price, close_time, close_price, profit, commission=0.0,
           plugin=None) -> ClosedTrade:
    return ClosedTrade(0, symbol, side, volume, open_time, open_price, close_time, close_price, profit, commission,
                       "close", plugin)


def _trades() -> list[ClosedTrade]:
    # net = profit + commission (commission negative, as MetaTrader books it)
    return [
        _trade("EURUSD", "buy", 1.0, T0, 1.07, T0 + 1 * HOUR, 1.0725, 250.0, -10.0, "trend"),    # +240
        _trade("EURUSD", "sell", 0.5, T0 + HOUR, 1.07, T0 + 2 * HOUR, 1.078, -400.0, -5.0, "trend"),  # -405
        _trade("GBPUSD", "buy", 0.2, T0 + 2 * HOUR, 1.25, T0 + 3 * HOUR, 1.256, 120.0, -2.0, "breakout"),  # +118
        _trade("XAUUSD", "buy", 0.1, T0 + 3 * HOUR, 2300.0, T0 + 4 * HOUR, 2294.0, -60.0, -1.0, "breakout"),  # -61
        _trade("EURUSD", "buy", 1.0, T0 + 4 * HOUR, 1.07, T0 + 5 * HOUR, 1.075, 500.0, -10.0, "trend"),  # +490
        _trade("USDJPY", "sell", 0.3, T0 + 5 * HOUR, 155.0, T0 + 6 * HOUR, 157.5, -495.0, -5.0, None),  # -500
    ]


def _equity(trades: list[ClosedTrade]) -> list[tuple[float, float]]:
    points, balance = [(T0, 10_000.0)], 10_000.0
    for t in trades:
        balance += t.profit + t.commission
        points.append((t.close_time, balance))
    return points


A = [f"moonhook.db:{i}" for i in range(1, 5)]


def _decisions(second_alert_passes: bool = False) -> list[Decision]:
    return [
        Decision(A[0], "trend", "pass"), Decision(A[0], "breakout", "changed", "volume 1 -> 0.5"),
        Decision(A[1], "trend", "pass") if second_alert_passes
        else Decision(A[1], "trend", "rejected", "spread too wide"),
        Decision(A[1], "breakout", "pass"),
        Decision(A[2], "trend", "rejected", "spread too wide"),
        Decision(A[2], "breakout", "error", "attempt to index a nil value"),
        Decision(A[3], "trend", "rejected", SCRIPT),
        Decision(A[3], "breakout", "rejected", "outside session"),
    ]


def _outcome(prices: bool = True, scripts: str = "scripts") -> Outcome:
    trades = _trades()
    return Outcome(
        trades=trades, equity=_equity(trades), decisions=_decisions(),
        orders=[Order(A[0], "EURUSD", "buy", 0.5, 1.07, sl=1.065, plugin="breakout"),
                Order(A[2], "EURUSD", "sell", 0.5, plugin="trend")],
        faults=[Fault("breakout.lua:12", "breakout", "attempt to index a nil value", "error", A[2]),
                Fault("trend.lua:40", "trend", "instruction budget exceeded", "budget", A[3])],
        problems=[Problem("alerts.csv:7", "no time")],
        prices_simulated=prices, start=T0, end=T0 + 7 * HOUR, alerts=4, scripts=scripts)


def test_figures_match_the_hand_computed_fixture():
    # equity: 10000, 10240, 9835, 9953, 9892, 10382, 9882
    # drawdowns: 10240 -> 9835 = 405; then a new peak 10382 -> 9882 = 500, the largest:
    #   500 / 10382 = 4.816 % -> 4.82
    # profit: 240 - 405 + 118 - 61 + 490 - 500 = -118; commission -10-5-2-1-10-5 = -33
    # wins 3 of 6 = 50 %; gross profit 240+118+490 = 848, gross loss 405+61+500 = 966,
    #   profit factor 848 / 966 = 0.87785 -> 0.8778
    r = build(_outcome())
    assert (r.trades, r.wins, r.profit, r.commission) == (6, 3, -118.0, -33.0)
    assert (r.gross_profit, r.gross_loss, r.win_rate, r.profit_factor) == (848.0, 966.0, 50.0, 0.8778)
    dd = r.drawdown
    assert (dd.money, dd.percent, dd.peak, dd.trough) == (500.0, 4.82, 10382.0, 9882.0)
    assert (dd.peak_time, dd.trough_time) == (T0 + 5 * HOUR, T0 + 6 * HOUR)

    trend, = [p for p in r.plugins if p.plugin == "trend"]
    assert trend.results == {"pass": 1, "changed": 0, "rejected": 3, "error": 0}
    assert trend.rejections == [("spread too wide", 2), (SCRIPT, 1)]
    assert [f.where for f in trend.faults] == ["trend.lua:40"]
    breakout, = [p for p in r.plugins if p.plugin == "breakout"]
    assert breakout.results == {"pass": 1, "changed": 1, "rejected": 1, "error": 1}
    assert breakout.changes == [("volume 1 -> 0.5", 1)]
    assert [p.plugin for p in r.plugins] == ["breakout", "trend"]

    data = json.loads(to_json(r))
    assert data["drawdown"]["percent"] == 4.82 and data["profit_factor"] == 0.8778
    assert data["plugins"]["trend"]["rejections"][0] == {"reason": "spread too wide", "count": 2}
    assert data["problems"] == [{"where": "alerts.csv:7", "what": "no time"}]

    summary = text(r)
    assert "max drawdown   500.00 (4.82% of 10,382.00)" in summary
    assert "profit factor  0.88" in summary and "win rate       50.00%" in summary
    assert "budget at trend.lua:40: instruction budget exceeded" in summary
    assert "alerts.csv:7: no time" in summary


def test_no_loss_and_no_trade_give_n_a():
    winner = _trade("EURUSD", "buy", 1.0, T0, 1.0, T0 + HOUR, 1.1, 100.0, -1.0, "trend")
    r = build(Outcome(trades=[winner], equity=[(T0, 1000.0), (T0 + HOUR, 1099.0)]))
    assert (r.profit_factor, r.win_rate, r.drawdown.money) == (None, 100.0, 0.0)
    assert "profit factor  n/a" in text(r)
    empty = build(Outcome())
    assert (empty.trades, empty.win_rate, empty.profit_factor, empty.drawdown.percent) == (0, None, None, None)
    assert json.loads(to_json(empty))["profit_factor"] is None


def test_one_alert_is_said_in_the_singular_in_every_rendering():
    # A replay of one alert said "1 alerts", in the text, the HTML and a comparison.
    one = build(Outcome(alerts=1, start=T0, end=T0))
    assert "replay of scripts: 1 alert, " in text(one) and "<p>1 alert, " in html(one)
    both = compare(one, one)
    assert " over 1 alert\n" in compare_text(both) and "<p>1 alert, " in compare_html(both)


def test_a_replay_that_opened_no_position_says_so_for_its_drawdown():
    # Every alert rejected: it said "max drawdown   0.00 (n/a of 0.00)", as if the account held nothing.
    none = build(Outcome(alerts=3, start=T0, end=T0 + HOUR))
    assert "max drawdown   0.00 (no position opened)\n" in text(none)
    assert "<td>0.00 (no position opened)</td>" in html(none)


def test_a_bad_result_is_refused_naming_it():
    with pytest.raises(ValueError, match="trend on moonhook.db:1: result 'ok'"):
        Decision(A[0], "trend", "ok")
    with pytest.raises(ValueError, match="trend.lua:3: kind 'oops'"):
        Fault("trend.lua:3", "trend", "x", "oops")


def test_the_same_input_renders_to_the_same_bytes():
    first, second = build(_outcome()), build(_outcome())
    for render in (text, to_json, html):
        assert render(first) == render(second)
    c1, c2 = compare(first, build(_b())), compare(second, build(_b()))
    for render in (compare_text, compare_json, compare_html):
        assert render(c1) == render(c2)
    body = to_json(first)
    assert body == json.dumps(json.loads(body), sort_keys=True, indent=2, ensure_ascii=False) + "\n"


RENDER = """
import hashlib, importlib.util
spec = importlib.util.spec_from_file_location("fixture", {path!r})
t = importlib.util.module_from_spec(spec); spec.loader.exec_module(t)
from engine.app.replay import build, compare, compare_html, compare_json, compare_text, html, text, to_json
r = build(t._outcome()); c = compare(r, build(t._b()))
out = "".join(f(r) for f in (text, to_json, html)) + "".join(f(c) for f in (compare_text, compare_json, compare_html))
print(hashlib.sha256(out.encode()).hexdigest())
"""


def test_fresh_interpreters_with_other_hash_seeds_render_the_same_bytes():
    digests = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        run = subprocess.run([sys.executable, "-c", RENDER.format(path=__file__)],
                             cwd=ROOT, env=env, capture_output=True, text=True, check=True)
        digests.add(run.stdout.strip())
    assert len(digests) == 1


def test_the_text_keeps_a_scripts_reason_on_its_line_escaped_as_the_log_escapes_it():
    outcome = _outcome()
    outcome.decisions[-1] = Decision(A[3], "breakout", "rejected", "late\nNOTE forged\x1b[2K\u2028x")
    said = text(build(outcome))
    assert "NOTE forged" not in said.splitlines()[1:] and "\x1b" not in said and "\u2028" not in said
    assert "late\\nNOTE forged\\x1b[2K\\u2028x" in said


def test_html_escapes_what_scripts_wrote_and_runs_nothing():
    page = html(build(_outcome(scripts="<b>next</b>")))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;next&lt;/b&gt;" in page and "<b>" not in page
    assert "<script" not in page.lower()
    assert page.count("<svg") == 1 and "<polyline" in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # nothing fetched


def test_the_no_prices_note_appears_only_without_prices():
    assert "no prices: orders filled at the alert's price" in text(build(_outcome(prices=False)))
    assert "no prices" not in text(build(_outcome(prices=True)))
    assert "no prices" in html(build(_outcome(prices=False)))
    assert json.loads(to_json(build(_outcome(prices=False))))["prices_simulated"] is False


def _b() -> Outcome:
    """The next version: the trend plugin passes alert 2 (and orders), sends a smaller order on
    alert 3 with the same decisions, and decides alerts 1 and 4 as before; it has no last loss."""
    b = _outcome(scripts="scripts-next")
    b.trades = b.trades[:-1]
    b.equity = _equity(b.trades)
    b.decisions = _decisions(second_alert_passes=True)
    b.orders = [Order(A[0], "EURUSD", "buy", 0.5, 1.07, sl=1.065, plugin="breakout"),
                Order(A[1], "EURUSD", "buy", 1.0, plugin="trend"),
                Order(A[2], "EURUSD", "sell", 0.25, plugin="trend")]
    return b


def test_compare_lists_exactly_the_alerts_that_differ():
    c = compare(build(_outcome()), build(_b()))
    # The fixture's trades name no alert (alert_id None): b's lacking the last is a difference
    # of the trades no alert opened.
    assert [d.alert for d in c.differences] == [A[1], A[2], "no alert"]
    second, third, unattributed = c.differences
    assert (len(unattributed.a_trades), len(unattributed.b_trades)) == (6, 5)
    assert [x.result for x in second.a_decisions] == ["rejected", "pass"]
    assert [x.result for x in second.b_decisions] == ["pass", "pass"]
    assert (second.a_orders, [o.volume for o in second.b_orders]) == ((), [1.0])
    assert third.a_decisions == third.b_decisions
    assert ([o.volume for o in third.a_orders], [o.volume for o in third.b_orders]) == ([0.5], [0.25])
    assert c.profit_difference == 500.0  # b lacks the last trade, -500

    summary = compare_text(c)
    assert "alerts that differ: 3" in summary and "b-a 500.00" in summary
    assert f"alert {A[1]}\n  a: trend: rejected (spread too wide); breakout: pass -> no order\n" \
           f"  b: trend: pass; breakout: pass -> buy EURUSD 1 (trend)\n" in summary
    assert A[0] not in summary and A[3] not in summary
    data = json.loads(compare_json(c))
    assert [d["alert"] for d in data["differences"]] == [A[1], A[2], "no alert"]
    assert data["profit_difference"] == 500.0
    page = compare_html(c)
    assert "<script" not in page.lower() and page.count("<polyline") == 2
    assert A[1] in page and A[2] in page and A[3] not in page


def test_compare_refuses_replays_of_other_alerts():
    other = _b()
    other.alerts = 5
    with pytest.raises(ValueError, match="same alerts"):
        compare(build(_outcome()), build(other))


def test_the_notes_the_figures_rest_on_are_in_every_rendering_compared_too():
    # Without prices and with --timer-every the figures are not what live would have made: the
    # terminal said so, the page and the comparison (the terminal's and the page's) did not.
    a, b = _outcome(prices=False), _b()
    a.timer_every = b.timer_every = 3600.0
    timers = "timers ran at most every 3600 s (--timer-every), not as the scripts ask"
    c = compare(build(a), build(b))
    for rendered in (text(build(a)), html(build(a)), compare_text(c), compare_html(c)):
        assert "no prices: orders filled at the alert" in rendered and timers in rendered
    assert compare_text(c).count("NOTE ") == 2


def test_a_scripts_fault_repeated_is_one_line_with_its_count_and_first_and_last_time():
    # A plugin failing every other alert over a year printed each fault on its own line: thousands.
    faults = [Fault("boom.lua:3", "boom", "on_alert: script error: no quote", "error", f"alerts.csv:{n}", T0 + n * HOUR)
              for n in range(1, 2001, 2)]
    faults.insert(1, Fault("boom.lua:9", "boom", "on_alert: script error: other", "error", "alerts.csv:2", T0))
    r = build(Outcome(faults=faults))
    lines = [line for line in text(r).splitlines() if line.startswith("  error at ")]
    assert lines == [
        f"  error at boom.lua:3: on_alert: script error: no quote (x1000, first {when(T0 + HOUR)}, "
        f"last {when(T0 + 1999 * HOUR)})",
        "  error at boom.lua:9: on_alert: script error: other"]
    assert len(json.loads(to_json(r))["plugins"]["boom"]["faults"]) == 1001   # the JSON keeps each
