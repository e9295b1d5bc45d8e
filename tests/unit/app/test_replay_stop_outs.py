"""Stop-outs counted in one place (engine/app/replay/report.py's ``Report.stopped_out``) and said
alike wherever a replay is read: ``moonhook replay``'s text, JSON and HTML, ``--compare``, and the
dashboard editor's replay of a draft. Only the text counted them; the JSON (which the editor's
replay reads) and the HTML did not, and the HTML's closed trades did not say why each closed."""

from __future__ import annotations

import json
import time

from engine.app.draft_replay import replay_draft, summary
from engine.app.replay import (ClosedTrade, Outcome, build, compare, compare_html, compare_json, compare_text, html,
                               text, to_json)

from support.engine_support import process, running

T0 = 1714521600.0  # 2024-05-01 00:00:00 UTC


def _trade(ticket: int, reason: str, profit: float) -> ClosedTrade:
    return ClosedTrade(ticket, "EURUSD", "buy", 1.0, T0, 1.1, T0 + 60, 1.09, profit, -5.0, reason, "trend")


STOPPED = build(Outcome(trades=[_trade(1, "stop_out", -1000.0), _trade(2, "tp", 300.0), _trade(3, "stop_out", -200.0)],
                        equity=[(T0, 10_000.0)], alerts=3, start=T0, end=T0 + 60, scripts="a"))
CALM = build(Outcome(trades=[_trade(2, "tp", 300.0)], equity=[(T0, 10_000.0)], alerts=3, start=T0, end=T0 + 60,
                     scripts="b"))


def test_the_report_counts_its_stop_outs_once_for_every_rendering():
    assert (STOPPED.stopped_out, STOPPED.stopped_out_net) == (2, -1210.0)
    assert (CALM.stopped_out, CALM.stopped_out_net) == (0, 0.0)
    said = "stopped out    2 positions, net -1,210.00 (the margin level below [paper] stop_out_pct)"
    assert said in text(STOPPED) and "stopped out" not in text(CALM)
    for summary_only in (False, True):
        assert json.loads(to_json(STOPPED, summary_only))["stopped_out"] == {"positions": 2, "net": -1210.0}
        assert json.loads(to_json(CALM, summary_only))["stopped_out"] == {"positions": 0, "net": 0.0}
    page = html(STOPPED)
    assert "<tr><td>stopped out</td><td>2 positions, net -1,210.00</td></tr>" in page, page
    assert "stopped out" not in html(CALM)


def test_the_html_lists_why_each_trade_closed_as_the_json_does():
    page = html(STOPPED)
    assert "<th>reason</th>" in page
    assert [t["reason"] for t in json.loads(to_json(STOPPED))["closed_trades"]] == ["stop_out", "tp", "stop_out"]
    rows = page.split("<h2>Closed trades</h2>", 1)[1].split("<tr>")[2:]
    assert ["<td>stop_out</td>" in r for r in rows] == [True, False, True]
    assert ["<td>tp</td>" in r for r in rows] == [False, True, False]


def test_compare_says_each_sides_stop_outs_in_text_json_and_html():
    both = compare(CALM, STOPPED)
    assert "stopped out  a none  b 2 positions, net -1,210.00" in compare_text(both)
    said = json.loads(compare_json(both, summary=True))
    assert (said["a"]["stopped_out"], said["b"]["stopped_out"]) == ({"positions": 0, "net": 0.0},
                                                                    {"positions": 2, "net": -1210.0})
    assert "<tr><td>stopped out</td><td>none</td><td>2 positions, net -1,210.00</td></tr>" in compare_html(both)
    assert "stopped out" not in compare_text(compare(CALM, CALM)) and "stopped out" not in compare_html(
        compare(CALM, CALM))


def test_the_draft_replays_summary_counts_the_stop_outs_of_both_sides():
    live = json.loads(compare_json(compare(CALM, STOPPED), summary=True))
    said = summary(live)
    assert said["live"]["stopped_out"] == {"positions": 0, "net": 0.0}
    assert said["draft"]["stopped_out"] == {"positions": 2, "net": -1210.0}


async def test_the_editors_replay_of_a_draft_over_the_journal_counts_the_stop_out(tmp_path):
    """Through the child process the dashboard runs, over a journal the engine wrote: 9 lots
    bought at 1.1 (9,900.00 of margin on 10,000 USD), then an alert's price of 1.094 stops it out."""
    async with running(tmp_path) as engine:
        assert (await process(engine, "buy EURUSD volume=9 price=1.1"))["status"] == "done"
        await process(engine, "buy EURUSD volume=0.1 price=1.094")
    serving = {p.name: p.read_bytes() for p in (tmp_path / "scripts").glob("*.lua")}
    said = await replay_draft(None, serving, tmp_path / "data" / "moonhook.db", "gate.lua",
                              "function on_alert(a) end\n", 1, time.time() + 60)
    assert said["live"]["stopped_out"] == said["draft"]["stopped_out"] == {"positions": 1, "net": -5400.0}
