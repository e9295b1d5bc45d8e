"""The report of a replay (issue 22): what the replay loop gathered (``Outcome``) turned into
figures (``build``) and rendered as a terminal summary (``text``), JSON (``to_json``, in
``report_json``) or one
self-contained HTML page (``html``, in ``report_html``); ``compare`` sets two replays of the
same alerts side by side.

Pure and deterministic: nothing reads the clock, every list keeps the replay's order or is
sorted, money is rounded to cents and percents to hundredths, so the same outcome renders to
the same bytes on every run.

Conventions:
- a trade's ``commission`` is negative, as MetaTrader books it; its net is profit + commission;
- the equity curve's first point is the account before the first trade (the loop puts it);
- win rate: trades whose net is above 0, out of all trades; None ("n/a") without trades;
- profit factor: gross profit over gross loss (nets); None ("n/a") when no trade lost, as
  there is nothing to divide by and JSON has no infinity;
- maximum drawdown: the largest fall from a running peak of the equity curve to a later point,
  in money, and that fall in percent of its peak (None when the peak is not above 0);
- stopped out: the trades closed by a stop-out (reason ``stop_out``) and their net, counted here
  once for the text, the JSON (which the dashboard editor's replay reads) and the HTML.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Sequence

from engine.adapters.brokers.paper.stopout import STOP_OUT
from engine.domain.logtext import one_line
from engine.domain.words import counted
from engine.app.replay.pending import PendingOrder
from engine.app.replay.problems import Problem
from engine.app.replay.records import ClosedTrade, Covered, OpenPosition

RESULTS = ("pass", "changed", "rejected", "error")
FAULT_KINDS = ("error", "budget")


def net(t: ClosedTrade) -> float:
    """A trade's profit after commission (commission is negative)."""
    return t.profit + t.commission


@dataclass(frozen=True)
class Decision:
    """One plugin's answer to one alert. ``alert`` names the alert (its id or file:line);
    ``result`` is one of RESULTS; ``detail`` the reason of a rejection or error, or the
    changes made ("volume 1 -> 0.5")."""
    alert: str
    plugin: str
    result: str
    detail: str = ""

    def __post_init__(self) -> None:
        if self.result not in RESULTS:
            raise ValueError(f"decision of {self.plugin} on {self.alert}: result {self.result!r} "
                             f"is not one of {', '.join(RESULTS)}")


@dataclass(frozen=True)
class Order:
    """An order an alert led to, as it reached the simulated broker; ``error``: why it was
    refused (a veto, or the broker's reason), None when it was placed."""
    alert: str
    symbol: str
    side: str
    volume: float
    price: float | None = None
    sl: float | None = None
    tp: float | None = None
    plugin: str | None = None
    error: str | None = None


@dataclass(frozen=True)
class Fault:
    """A script's error or budget overrun: ``where`` is the script's file:line, ``kind`` one
    of FAULT_KINDS, ``alert`` the alert it happened on (None: a timer, a load), ``at`` the
    replay's clock then (the alert's time; None: not known)."""
    where: str
    plugin: str
    what: str
    kind: str = "error"
    alert: str | None = None
    at: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"fault of {self.plugin} at {self.where}: kind {self.kind!r} "
                             f"is not one of {', '.join(FAULT_KINDS)}")


@dataclass(frozen=True)
class Unexecuted:
    """An alert journaled ``failed`` (no volume, no price, a bad stop, an order refused...) or
    ``expired`` (past ``engine.max_alert_age`` or its ``ttl``), as live: ``alert`` its file:line."""
    alert: str
    status: str
    reason: str


@dataclass
class Outcome:
    """What a replay gathered, in replay order. ``trades``: the fill model's ``ClosedTrade``s.
    ``equity``: (time, equity) points, the first the account before any trade (from the fill
    model: ``[(p.time, p.balance) for p in book.equity]``). ``prices_simulated`` is False when
    no prices were given:
    orders filled at the alert's price and no stop or target was simulated. ``start``/``end``:
    the replayed span in Unix seconds; ``alerts``: how many alerts were fed; ``scripts``: what
    was replayed (the folder), a label; ``open``: the positions still open at the end, valued
    at their last price (the fill model's ``OpenPosition``s); ``waiting``: the pending orders
    not filled by the end; ``unexecuted``: the alerts that failed or expired."""
    trades: Sequence[ClosedTrade] = field(default_factory=list)
    equity: list[tuple[float, float]] = field(default_factory=list)
    decisions: list[Decision] = field(default_factory=list)
    orders: list[Order] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    prices_simulated: bool = True
    without_prices: Sequence[str] = field(default_factory=list)   # the symbols traded without bars, some given
    start: float | None = None
    end: float | None = None
    alerts: int = 0
    scripts: str = ""
    open: Sequence[OpenPosition] = field(default_factory=list)
    waiting: Sequence[PendingOrder] = field(default_factory=list)
    timer_every: float | None = None   # --timer-every: no timer ran more often than this
    unexecuted: list[Unexecuted] = field(default_factory=list)
    alert_names: dict[int, str] = field(default_factory=dict)   # a trade's alert_id -> that alert's file:line
    replayed: int = 0   # of ``alerts``, those run: not a repeat, read as an alert
    covered: dict[str, Covered] = field(default_factory=dict)   # by symbol given bars: its alerts inside them


@dataclass(frozen=True)
class Drawdown:
    """The largest fall of the equity curve: from ``peak`` (at ``peak_time``) to ``trough``
    (at ``trough_time``); ``percent`` of the peak, None when the peak is not above 0."""
    money: float
    percent: float | None
    peak: float
    trough: float
    peak_time: float | None
    trough_time: float | None


@dataclass(frozen=True)
class PluginSummary:
    """One plugin's decisions counted by result, its rejections' and changes' details counted
    (most frequent first, then alphabetical), its faults in order."""
    plugin: str
    results: dict[str, int]
    rejections: list[tuple[str, int]]
    changes: list[tuple[str, int]]
    faults: list[Fault]


@dataclass(frozen=True)
class Report:
    """An outcome and its figures (see the module's conventions)."""
    outcome: Outcome
    trades: int
    wins: int
    profit: float
    gross_profit: float
    gross_loss: float
    commission: float
    win_rate: float | None
    profit_factor: float | None
    drawdown: Drawdown
    plugins: list[PluginSummary]
    stopped_out: int = 0           # trades closed by a stop-out (already in the figures above)
    stopped_out_net: float = 0.0   # and their net


def money(x: float) -> float:
    """Rounded to cents, never -0.0 (which would print differently from 0.0)."""
    return round(x, 2) + 0.0


def drawdown(equity: list[tuple[float, float]]) -> Drawdown:
    """The largest peak-to-later-trough fall of ``equity`` (the first such on a tie)."""
    if not equity:
        return Drawdown(0.0, None, 0.0, 0.0, None, None)
    best = Drawdown(0.0, None, equity[0][1], equity[0][1], equity[0][0], equity[0][0])
    peak_time, peak = equity[0]
    for at, value in equity:
        if value > peak:
            peak_time, peak = at, value
        elif money(peak - value) > best.money:
            best = Drawdown(money(peak - value), None, peak, value, peak_time, at)
    percent = round(best.money / best.peak * 100, 2) + 0.0 if best.peak > 0 else None
    return Drawdown(best.money, percent, money(best.peak), money(best.trough), best.peak_time,
                    best.trough_time)


def _counted(details: list[str]) -> list[tuple[str, int]]:
    return sorted(Counter(details).items(), key=lambda kv: (-kv[1], kv[0]))


def _plugins(outcome: Outcome) -> list[PluginSummary]:
    names = sorted({d.plugin for d in outcome.decisions} | {f.plugin for f in outcome.faults})
    out = []
    for name in names:
        mine = [d for d in outcome.decisions if d.plugin == name]
        results = {r: sum(1 for d in mine if d.result == r) for r in RESULTS}
        out.append(PluginSummary(
            name, results,
            _counted([d.detail for d in mine if d.result == "rejected"]),
            _counted([d.detail for d in mine if d.result == "changed"]),
            [f for f in outcome.faults if f.plugin == name]))
    return out


def build(outcome: Outcome) -> Report:
    """The figures of ``outcome``."""
    nets = [net(t) for t in outcome.trades]
    gross_profit = money(sum(n for n in nets if n > 0))
    gross_loss = money(-sum(n for n in nets if n < 0))
    wins = sum(1 for n in nets if n > 0)
    stopped = [net(t) for t in outcome.trades if t.reason == STOP_OUT]
    return Report(
        outcome=outcome, trades=len(nets), wins=wins, profit=money(sum(nets)),
        gross_profit=gross_profit, gross_loss=gross_loss,
        commission=money(sum(t.commission for t in outcome.trades)),
        win_rate=round(wins / len(nets) * 100, 2) + 0.0 if nets else None,
        profit_factor=round(gross_profit / gross_loss, 4) + 0.0 if gross_loss > 0 else None,
        drawdown=drawdown(outcome.equity), plugins=_plugins(outcome),
        stopped_out=len(stopped), stopped_out_net=money(sum(stopped)))


# --- rendering helpers --------------------------------------------------------------------

def fault_lines(faults: list[Fault]) -> list[str]:
    """A plugin's faults as the text says them: one line for each place and message (a script failing
    at every other alert of a year printed thousands), in the order first met, with how many and
    the first and last time when more than one: ``  error at boom.lua:3: no quote (x1520, first
    2024-05-13 00:00:00, last 2025-05-12 23:00:00)``."""
    same: dict[tuple[str, str, str], list[Fault]] = {}
    for f in faults:
        same.setdefault((f.kind, f.where, f.what), []).append(f)
    lines = []
    for (kind, where, what), group in same.items():
        times = [f.at for f in group if f.at is not None]
        more = (f" (x{len(group)}" + (f", first {when(min(times))}, last {when(max(times))}" if times else "") + ")"
                if len(group) > 1 else "")
        lines.append(f"  {kind} at {where}: {what}{more}")
    return lines


def when(t: float | None) -> str:
    """Unix seconds as UTC "YYYY-MM-DD HH:MM:SS" ("-" for None)."""
    if t is None:
        return "-"
    return datetime.fromtimestamp(t, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def num(x: float | None) -> str:
    """A price or volume as written (up to 10 significant digits); "-" for None."""
    return "-" if x is None else format(x, ".10g")


def cash(x: float) -> str:
    return f"{money(x):,.2f}"


def drawdown_text(dd: Drawdown) -> str:
    """"500.00 (4.82% of 10,382.00)"; "0.00 (no position opened)" without a curve, where the
    peak would read as a balance of 0.00."""
    if dd.peak_time is None:
        return f"{cash(dd.money)} (no position opened)"
    return f"{cash(dd.money)} ({opt(dd.percent, '%')} of {cash(dd.peak)})"


def opt(x: float | None, suffix: str = "") -> str:
    return "n/a" if x is None else f"{x:,.2f}{suffix}"


def order_text(o: Order) -> str:
    parts = [o.side, o.symbol, num(o.volume)]
    parts += [f"{k}={num(v)}" for k, v in (("price", o.price), ("sl", o.sl), ("tp", o.tp)) if v is not None]
    return " ".join(parts) + (f" ({o.plugin})" if o.plugin else "") + (f" refused: {o.error}" if o.error else "")


def open_text(p: OpenPosition) -> str:
    x = p.position
    return (f"{x.side} {x.symbol} {num(x.volume)} at {num(x.price_open)}, last {num(p.price_last)}, "
            f"floating {'-' if p.profit is None else cash(p.profit)}" + (f" ({x.plugin})" if x.plugin else ""))


def stopped_text(report: Report) -> str:
    """The stop-outs in a few words: "2 positions, net -1,210.00" ("none")."""
    n = report.stopped_out
    return f"{n} position{'s' if n > 1 else ''}, net {cash(report.stopped_out_net)}" if n else "none"


def open_count(o: Outcome) -> str:
    """The positions open at the end and their floating profit: "1, floating -10,000.00"."""
    return f"{len(o.open)}, floating {cash(sum(p.profit or 0.0 for p in o.open))}"


def waiting_text(o: PendingOrder) -> str:
    return (f"{o.side} {o.type} {o.symbol} {num(o.volume)} at {num(o.price)}"
            + "".join(f", {k} {num(v)}" for k, v in (("sl", o.sl), ("tp", o.tp)) if v is not None)
            + f", placed {when(o.placed_at)}" + (f" ({o.plugin})" if o.plugin else ""))


def unexecuted_counts(o: Outcome) -> tuple[int, int]:
    """How many alerts failed, and how many expired."""
    return sum(x.status == "failed" for x in o.unexecuted), sum(x.status == "expired" for x in o.unexecuted)


def decision_text(d: Decision) -> str:
    return f"{d.plugin}: {d.result}" + (f" ({d.detail})" if d.detail else "")


NO_PRICES = ("no prices: orders filled at the alert's price, stops and targets "
             "were not simulated")


def notes(*outcomes: Outcome) -> list[str]:
    """What the figures of ``outcomes`` rest on and cannot show: no prices (for which symbols,
    when bars were given for others), timers thinned."""
    unpriced = sorted({symbol for o in outcomes for symbol in o.without_prices})
    said = ([] if all(o.prices_simulated for o in outcomes) else
            [f"no prices for {', '.join(unpriced)}: their orders filled at the alert's price, their stops and "
             "targets were not simulated"] if unpriced else [NO_PRICES])
    every = max((o.timer_every or 0.0 for o in outcomes), default=0.0)
    return said + ([f"timers ran at most every {every:g} s (--timer-every), not as the scripts ask"] if every else [])


# --- text and JSON ------------------------------------------------------------------------

def plain(s: str) -> str:
    """``s`` on one terminal line: control characters (newlines, escape sequences a script's
    reason could hold) written as escapes, as the log writes them (``logtext.one_line``)."""
    return one_line(s, keep="")


def text(report: Report) -> str:
    """The terminal summary, plain text, ending with a newline. Strings from the scripts and
    the files are written through ``plain``."""
    o, dd = report.outcome, report.drawdown
    lines = [f"replay of {o.scripts or 'scripts'}: {counted(o.alerts, 'alert')}, {when(o.start)} to {when(o.end)}"]
    lines += [f"NOTE {note}" for note in notes(o)]
    lines += [
        f"trades         {report.trades} ({report.wins} won)",
        f"profit         {cash(report.profit)} (commission {cash(report.commission)})",
        f"max drawdown   {drawdown_text(dd)}",
        f"win rate       {opt(report.win_rate, '%')}",
        f"profit factor  {opt(report.profit_factor)}",
    ]
    if report.stopped_out:   # what live would have closed for the trader: the figures above count it
        lines.append(f"stopped out    {stopped_text(report)} (the margin level below [paper] stop_out_pct)")
    for p in report.plugins:
        counts = ", ".join(f"{r} {p.results[r]}" for r in RESULTS)
        lines.append(f"plugin {p.plugin}: {counts}")
        lines += [f"  rejected x{n}: {reason}" for reason, n in p.rejections]
        lines += [f"  changed x{n}: {change}" for change, n in p.changes]
        lines += fault_lines(p.faults)
    if o.open:
        lines.append(f"open at the end ({open_count(o)}, not in the figures above):")
        lines += [f"  {open_text(p)}" for p in o.open]
    if o.waiting:
        lines.append(f"orders waiting at the end, not filled ({len(o.waiting)}):")
        lines += [f"  {waiting_text(x)}" for x in o.waiting]
    if o.unexecuted:
        failed, expired = unexecuted_counts(o)
        lines.append(f"alerts not executed ({len(o.unexecuted)}: {failed} failed, {expired} expired):")
        lines += [f"  {x.alert}: {x.status}: {x.reason}" for x in o.unexecuted]
    refused = [x for x in o.orders if x.error]
    if refused:
        lines.append(f"orders refused ({len(refused)}):")
        lines += [f"  {x.alert}: {order_text(x)}" for x in refused]
    if o.problems:
        lines.append(f"input problems ({len(o.problems)}):")
        lines += [f"  {problem}" for problem in o.problems]
    return "\n".join(plain(line) for line in lines) + "\n"
