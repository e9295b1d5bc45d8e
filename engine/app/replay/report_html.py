"""The replay's report as one self-contained HTML page (``--report FILE.html``, issue 22):
the figures, the equity curve as an inline SVG chart, each plugin's decisions, the faults,
the inputs' problems and the closed trades; ``compare_html`` does the same for ``--compare``.

No script and nothing fetched: the page opens from a file in any browser. Every string that
came from the scripts, the alerts or the files goes through ``html.escape``. Deterministic
like the text and JSON: the same report gives the same bytes.
"""

from __future__ import annotations

from dataclasses import replace
from html import escape

from engine.domain.words import counted

from engine.app.replay.report import (RESULTS, Report, cash, drawdown_text, notes, num, open_count, open_text, opt,
                                      order_text, stopped_text, unexecuted_counts, waiting_text, when)
from engine.app.replay.report_compare import Comparison, side_text, trades_shown

WIDTH, HEIGHT, PAD = 800, 260, 40
COLOURS = ("#1f6feb", "#d1242f")

STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:60em;color:#1f2328}
table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #d0d7de;padding:.2em .6em;text-align:left}
th{background:#f6f8fa}.note{background:#fff8c5;border:1px solid #d4a72c;padding:.5em 1em}
.num{text-align:right;font-variant-numeric:tabular-nums}svg{border:1px solid #d0d7de;background:#fff}"""


def _e(value: object) -> str:
    return escape(str(value), quote=True)


def _table(head: list[str], rows: list[list[str]], numeric: tuple[int, ...] = ()) -> str:
    """A table of escaped cells; columns at ``numeric`` right-aligned."""
    top = "".join(f"<th>{_e(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(
        f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
        for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{top}</tr>{body}</table>"


def chart(curves: list[tuple[str, list[tuple[float, float]]]]) -> str:
    """An inline SVG of one or more equity curves on shared axes, with the range's highest and
    lowest equity and its first and last time written on it."""
    points = [p for _, curve in curves for p in curve]
    if not points:
        return "<p>No equity points.</p>"
    t0, t1 = min(t for t, _ in points), max(t for t, _ in points)
    lo, hi = min(v for _, v in points), max(v for _, v in points)

    def x(t: float) -> float:
        return PAD + (WIDTH - 2 * PAD) * ((t - t0) / (t1 - t0) if t1 > t0 else 0.5)

    def y(v: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * ((v - lo) / (hi - lo) if hi > lo else 0.5)

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
             f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img"><title>equity</title>']
    for i, (label, curve) in enumerate(curves):
        colour = COLOURS[i % len(COLOURS)]
        line = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in curve)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{line}">'
                     f"<title>{_e(label)}</title></polyline>")
        if len(curves) > 1:
            parts.append(f'<text x="{PAD + 200 * i}" y="16" fill="{colour}" font-size="12">'
                         f"{_e(label)}</text>")
    parts += [f'<text x="4" y="{PAD}" font-size="11">{_e(cash(hi))}</text>',
              f'<text x="4" y="{HEIGHT - PAD}" font-size="11">{_e(cash(lo))}</text>',
              f'<text x="{PAD}" y="{HEIGHT - 8}" font-size="11">{_e(when(t0))}</text>',
              f'<text x="{WIDTH - PAD}" y="{HEIGHT - 8}" font-size="11" text-anchor="end">'
              f"{_e(when(t1))}</text>", "</svg>"]
    return "".join(parts)


def _page(title: str, body: list[str]) -> str:
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f"<title>{_e(title)}</title><style>{STYLE}</style></head><body>"
            + "\n".join(body) + "</body></html>\n")


def _figures(report: Report, stopped: bool) -> list[list[str]]:
    """The figures' rows; with ``stopped`` (the text's condition: a stop-out in the report, or
    in either of two compared), its stop-outs too."""
    dd = report.drawdown
    return [["trades", f"{report.trades} ({report.wins} won)"],
            ["profit", cash(report.profit)], ["commission", cash(report.commission)],
            ["max drawdown", drawdown_text(dd)],
            ["win rate", opt(report.win_rate, "%")], ["profit factor", opt(report.profit_factor)],
            *([["stopped out", stopped_text(report)]] if stopped else [])]


def html(report: Report) -> str:
    """The report as one HTML page."""
    o = report.outcome
    title = f"Replay of {o.scripts or 'scripts'}"
    body = [f"<h1>{_e(title)}</h1>",
            f"<p>{_e(counted(o.alerts, 'alert'))}, {_e(when(o.start))} to {_e(when(o.end))} (UTC)</p>"]
    body += [f'<p class="note">{_e(note)}</p>' for note in notes(o)]
    body += [_table(["figure", "value"], _figures(report, report.stopped_out > 0)),
             "<h2>Equity</h2>", chart([(o.scripts or "equity", o.equity)]), "<h2>Plugins</h2>"]
    body.append(_table(["plugin", *RESULTS], [[p.plugin, *(str(p.results[r]) for r in RESULTS)]
                                             for p in report.plugins], tuple(range(1, 5))))
    for p in report.plugins:
        if p.rejections or p.changes:
            body.append(f"<h3>{_e(p.plugin)}</h3>")
            body.append(_table(["result", "reason or change", "times"],
                               [["rejected", r, str(n)] for r, n in p.rejections]
                               + [["changed", c, str(n)] for c, n in p.changes], (2,)))
    faults = [f for p in report.plugins for f in p.faults]
    if faults:
        body.append("<h2>Errors and budget overruns</h2>")
        body.append(_table(["where", "plugin", "kind", "alert", "what"],
                           [[f.where, f.plugin, f.kind, f.alert or "-", f.what] for f in faults]))
    if o.open:
        body.append("<h2>Open at the end (not in the figures above)</h2>")
        body.append(_table(["position"], [[open_text(p)] for p in o.open]))
    if o.waiting:
        body.append("<h2>Orders waiting at the end, not filled</h2>")
        body.append(_table(["order"], [[waiting_text(x)] for x in o.waiting]))
    if o.unexecuted:
        failed, expired = unexecuted_counts(o)
        body.append(f"<h2>Alerts not executed ({len(o.unexecuted)}: {failed} failed, {expired} expired)</h2>")
        body.append(_table(["alert", "status", "why"], [[x.alert, x.status, x.reason] for x in o.unexecuted]))
    refused = [x for x in o.orders if x.error]
    if refused:
        body.append("<h2>Orders refused</h2>")
        body.append(_table(["alert", "order", "why"], [[x.alert, order_text(replace(x, error=None)), x.error or ""]
                                                      for x in refused]))
    if o.problems:
        body.append("<h2>Input problems</h2>")
        body.append(_table(["where", "what"], [[p.where, p.what] for p in o.problems]))
    body.append("<h2>Closed trades</h2>")
    body.append(_table(
        ["opened", "closed", "symbol", "side", "volume", "open", "close", "profit", "commission", "reason", "plugin"],
        [[when(t.open_time), when(t.close_time), t.symbol, t.side, num(t.volume), num(t.open_price),
          num(t.close_price), cash(t.profit), cash(t.commission), t.reason, t.plugin or "-"] for t in o.trades],
        (4, 5, 6, 7, 8)))
    return _page(title, body)


def compare_html(comparison: Comparison) -> str:
    """The comparison as one HTML page: both reports' figures, both equity curves on one chart,
    and each alert that differs with both sides."""
    a, b = comparison.a, comparison.b
    la, lb = a.outcome.scripts or "a", b.outcome.scripts or "b"
    title = f"Replay: {la} against {lb}"
    stopped = a.stopped_out > 0 or b.stopped_out > 0
    rows = [[name, va, vb] for (name, va), (_, vb) in zip(_figures(a, stopped), _figures(b, stopped))]
    rows.append(["profit, b less a", "", cash(comparison.profit_difference)])
    if a.outcome.open or b.outcome.open:   # a losing position left open is not in the profit: said beside it
        rows.append(["open at the end, not in the profit", open_count(a.outcome), open_count(b.outcome)])
    body = [f"<h1>{_e(title)}</h1>",
            f"<p>{_e(counted(a.outcome.alerts, 'alert'))}, {_e(when(a.outcome.start))} to "
            f"{_e(when(a.outcome.end))} (UTC)</p>"]
    body += [f'<p class="note">{_e(note)}</p>' for note in notes(a.outcome, b.outcome)]
    body += [_table(["figure", f"a: {la}", f"b: {lb}"], rows),
             "<h2>Equity</h2>", chart([(f"a: {la}", a.outcome.equity), (f"b: {lb}", b.outcome.equity)]),
             f"<h2>Alerts that differ ({len(comparison.differences)})</h2>"]
    body.append(_table(["alert", "a", "b"], [[d.alert, side_text(d.a_decisions, d.a_orders, trades_shown(d, "a")),
                                              side_text(d.b_decisions, d.b_orders, trades_shown(d, "b"))]
                                             for d in comparison.differences]))
    return _page(title, body)
