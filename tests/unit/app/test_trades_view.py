"""The trades' view on a long history: the dashboard is given what it shows (the latest closed
trades, the equity curve thinned to a bounded number of points), while the counts and the
profit by plugin stay exact over the whole history. A year of paper deals (300,000) once went
out as 8.8 MB of JSON, each of its 150,000 curve points, after every fill."""

from __future__ import annotations

import bisect
import json
import random

from engine.app import trades as _trades

T0 = 1_700_000_000.0
BOTTOM = 31_337  # the position whose loss is the curve's deepest point


def _walk(n: int, seed: int = 7) -> list[dict]:
    """A curve of ``n`` points as ``equity_curve`` makes them: a random walk in balance."""
    rng, balance, points = random.Random(seed), 10_000.0, []
    for i in range(n):
        balance = round(balance + rng.uniform(-10, 10), 2)
        points.append({"time": T0 + i, "profit": round(balance - 10_000.0, 2), "balance": balance})
    return points


def test_a_short_curve_is_given_whole():
    curve = _walk(2_000)
    assert _trades.thin(curve, 2_000) is curve


def test_the_thinned_curve_keeps_its_ends_its_peak_and_its_drawdowns_bottom():
    # Each stretch gives its lowest, highest and last point: a bottom between two kept points
    # would otherwise draw a drawdown shallower than the trader lived through.
    curve = _walk(100_000)
    curve[54_321]["balance"] = 1.0      # a sharp drop and its recovery, one point deep
    curve[77_777]["balance"] = 50_000.0  # and a spike
    thinned = _trades.thin(curve, 2_000)
    assert 1_000 < len(thinned) <= 2_000
    assert thinned[0] is curve[0] and thinned[-1] is curve[-1]
    assert curve[54_321] in thinned and curve[77_777] in thinned
    where = [curve.index(p) for p in thinned]
    assert where == sorted(where) and len(set(where)) == len(where)  # the curve's own points, in time order
    reach = 2 * len(curve) // 666  # two stretches: every point lies between kept points this near it
    for i, point in enumerate(curve):
        around = where[bisect.bisect_left(where, i - reach):bisect.bisect(where, i + reach)]
        near = [curve[j]["balance"] for j in around]
        assert min(near) <= point["balance"] <= max(near), i


def test_a_curve_without_the_balance_is_thinned_on_its_profit():
    curve = [{"time": p["time"], "profit": p["profit"]} for p in _walk(10_000)]
    curve[4_444]["profit"] = -9_999.0
    thinned = _trades.thin(curve, 200)
    assert len(thinned) <= 200 and curve[4_444] in thinned


def _year(positions: int) -> list[dict]:
    """Deals of ``positions`` trades, one after the other: each wins 1.00 but ``BOTTOM`` (opened
    by hand), which loses 40,000, and pays 0.50 of commission."""
    deals = []
    for p in range(positions):
        at, profit = T0 + 60 * p, (-40_000.0 if p == BOTTOM else 1.0)
        deals.append({"ticket": 2 * p, "position": p, "symbol": "EURUSD", "side": "buy", "entry": "in",
                      "volume": 0.1, "price": 1.1, "profit": 0.0, "commission": -0.25, "swap": 0.0, "time": at,
                      "comment": None, "magic": None})
        deals.append({**deals[-1], "ticket": 2 * p + 1, "side": "sell", "entry": "out", "profit": profit,
                      "time": at + 30})
    return deals


def test_a_years_view_is_bounded_and_its_figures_exact():
    positions = 100_000
    deals = _year(positions)
    openers = {p: "trend" for p in range(0, positions, 2)}  # the odd ones opened by hand
    view = _trades.trades_view(deals, openers, 200_000.0, 100)
    assert len(json.dumps(view)) < 250_000
    assert len(view["equity"]) <= _trades.CURVE_POINTS and view["equity_points"] == 2 * positions + 1
    assert view["closed"] == positions
    assert [t["position"] for t in view["trades"]] == list(range(positions - 1, positions - 101, -1))
    assert view["by_plugin"] == {
        "trend": {"trades": 50_000, "profit": 50_000.0, "commission": -25_000.0, "swap": 0.0, "net": 25_000.0},
        "unknown": {"trades": 50_000, "profit": 9_999.0, "commission": -25_000.0, "swap": 0.0, "net": -15_001.0}}
    whole = _trades.equity_curve(deals, 200_000.0)
    assert view["equity"][0] == whole[0] and view["equity"][-1] == whole[-1] == {
        "time": T0 + 60 * (positions - 1) + 30, "profit": 9_999.0, "balance": 200_000.0}
    lowest = min(whole, key=lambda p: p["balance"])
    assert lowest in view["equity"] and lowest["time"] == T0 + 60 * (BOTTOM + 1)  # the loss, then a commission


def test_the_older_trades_are_read_a_page_at_a_time_below_the_last_shown():
    deals = [{**d, "time": d["time"] - d["time"] % 120} for d in _year(1_000)]   # closed two by two at one time
    pages, before = [], None
    for _ in range(5):
        view = _trades.trades_view(deals, {}, None, 299, before)
        pages.append(view)
        before = (view["trades"][-1]["closed_at"], view["trades"][-1]["position"]) if view["trades"] else before
    assert [t["position"] for page in pages for t in page["trades"]] == list(range(999, -1, -1))
    assert [page["newer"] for page in pages] == [0, 299, 598, 897, 1_000]


def test_the_trades_closed_since_a_time_are_the_only_ones_made_whole(monkeypatch):
    # A position held longer than a month sends the day's count (the overview's, after each deal;
    # Telegram's /trades) to the whole history: a year of trades was made whole to keep a day's.
    made: list[int] = []
    trade_of = _trades.trade
    monkeypatch.setattr(_trades, "trade", lambda p, *a: (made.append(p), trade_of(p, *a))[1])
    deals = _year(10_000)
    day = _trades.closed_since(deals, {}, T0 + 60 * 9_000, 5)
    assert day["closed"] == 1_000 and [t["position"] for t in day["trades"]] == [9_999, 9_998, 9_997, 9_996, 9_995]
    assert day["net"] == 500.0 and day["by_plugin"] == {"unknown": {"trades": 1_000, "net": 500.0}}
    assert sorted(made) == list(range(9_000, 10_000))
