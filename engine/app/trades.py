"""Trades as the dashboard shows them, from the broker's deal history (``Broker.history``):
the closed trades, the equity curve, and the profit of each plugin that opened positions.

A trade is a position: its "in" deal opened it, its "out" deals closed it (whole or in
parts); it is closed once the volume out reaches the volume in. The plugin that opened it is
the one whose market or pending order the broker answered with the position's ticket, as the
order ledger recorded it (``OrderActivity.openers``); a position no order of moonhook's opened
(by hand at MetaTrader) is ``None``.
"""

from __future__ import annotations

from typing import Any

from engine.domain.curve import CURVE_POINTS, Block, Mark, blocks_of, by_hours, hour_of, hour_stretch, stretch
from engine.domain.trade_fold import closed_at, move_of
from engine.domain.trade_pages import TradeKey, page_of

UNKNOWN = "unknown"  # the key, in the profit by plugin, of positions no plugin of moonhook opened


def positions_of(deals: list[dict[str, Any]]) -> dict[int, list[dict[str, Any]]]:
    """The deals, oldest first, by position (money paid in or out is none's)."""
    out: dict[int, list[dict[str, Any]]] = {}
    for deal in deals:
        if deal["entry"] != "balance":
            out.setdefault(deal["position"], []).append(deal)
    return out


def trade(position: int, deals: list[dict[str, Any]], plugin: str | None) -> dict[str, Any] | None:
    """The trade of one position's deals, or None while it is not closed (or its opening deal
    lies before the history read). On a netting account a position may have several "in" deals
    (a buy added to a long): its volume is theirs together, its opening price their average."""
    if closed_at(deals) is None:
        return None
    ins = [d for d in deals if d["entry"] == "in" and d["side"] is not None]
    outs = [d for d in deals if d["entry"] != "in"]
    opening, volume_in, volume_out = ins[0], sum(d["volume"] for d in ins), sum(d["volume"] for d in outs)
    price_open = round(sum(d["price"] * d["volume"] for d in ins) / volume_in, 8) if volume_in else opening["price"]
    profit = round(sum(d["profit"] for d in outs), 2)
    commission = round(sum(d["commission"] for d in deals), 2)
    swap = round(sum(d.get("swap", 0.0) for d in deals), 2)  # MetaTrader's overnight interest
    return {"position": position, "symbol": opening["symbol"], "side": opening["side"],
            "volume": round(volume_in, 8), "price_open": price_open,
            "price_close": round(sum(d["price"] * d["volume"] for d in outs) / volume_out, 8) if volume_out else None,
            "opened_at": opening["time"], "closed_at": outs[-1]["time"], "profit": profit,
            "commission": commission, "swap": swap, "net": round(profit + commission + swap, 2), "plugin": plugin,
            "comment": opening.get("comment")}


def equity_curve(deals: list[dict[str, Any]], balance: float | None) -> list[dict[str, Any]]:
    """Where the curve starts (at the first deal's time, nothing made yet), then one point for
    each deal that moved the balance (its profit, commission and swap; money paid in or out) or
    closed a position, oldest first: {time, profit (the running total, net: money paid in or out
    is no profit), balance (when the account's balance now is known: it, less what the later
    deals and payments brought), and a payment's ``paid`` (signed)}."""
    return curve_of(deals[0]["time"] if deals else None, moves_of(deals), balance)  # deals come oldest first


def moves_of(deals: list[dict[str, Any]]) -> list[tuple[float, float, float]]:
    """The (time, move, paid) of each of ``deals`` (oldest first) that moved the balance or closed."""
    return [move for d in deals if (move := move_of(d)) is not None]


def curve_of(first: float | None, moves: list[tuple[float, float, float]], balance: float | None
             ) -> list[dict[str, Any]]:
    """``equity_curve`` from the first deal's time and the (time, move, paid) of each deal that
    moved the balance or closed, oldest first."""
    start = None if balance is None else balance - sum(m + paid for _, m, paid in moves)
    points = [{"time": first, "profit": 0.0}] if moves else []
    running = paid_in = 0.0
    for at, move, paid in moves:
        running, paid_in = running + move, paid_in + paid
        points.append({"time": at, "profit": round(running, 2), **({"paid": paid} if paid else {})})
        if start is not None:
            points[-1]["balance"] = round(start + running + paid_in, 2)
    if start is not None and points:
        points[0]["balance"] = round(start, 2)
    return points


def drawn_curve(first: float | None, balance: float | None, moves: list[tuple[float, float, float]] | None = None,
                blocks: list[Block] | None = None) -> tuple[list[dict[str, Any]], int]:
    """The curve as the page draws it (``thin``, or ``from_blocks`` where ``by_hours``) and how many
    points it has whole, from every move (``curve_of``'s) or, where the broker keeps them, the
    hours' blocks (only when ``by_hours``: else the moves)."""
    if moves is not None:
        if not moves or not by_hours(len(moves) + 1, hour_of(moves[0][0]), hour_of(moves[-1][0])):
            whole = curve_of(first, moves, balance)
            return thin(whole, CURVE_POINTS), len(whole)
        blocks = blocks_of(moves, balance is not None)
    blocks = blocks or []
    return from_blocks(first, blocks, balance), 1 + sum(b.moves for b in blocks) if blocks else 0


def from_blocks(first: float | None, blocks: list[Block], balance: float | None) -> list[dict[str, Any]]:
    """The thinned curve of the hours' ``blocks`` (oldest first): its first point (nothing made yet),
    then of each stretch of whole hours its lowest, highest and last point, in time order. A
    payment's point is no different from the others here (no ``paid``): its money is in the balance."""
    if not blocks:
        return []
    made, paid_all = sum(b.last.profit for b in blocks), sum(b.last.paid for b in blocks)
    start = None if balance is None else balance - (made + paid_all)
    points = [{"time": first, "profit": 0.0, **({"balance": round(start, 2)} if start is not None else {})}]
    profit = paid = 0.0
    group, picked = None, [None, None, None]   # the stretch's lowest, highest, last: (drawn, block, time, profit, paid)
    for i, b in enumerate(blocks):
        at = hour_stretch(b.hour, blocks[0].hour, blocks[-1].hour)
        if at != group:
            points.extend(_picked(picked, start))
            group, picked = at, [None, None, None]
        low, high = _mark(i, b.low, profit, paid, start), _mark(i, b.high, profit, paid, start)
        picked = [low if picked[0] is None or low[0] < picked[0][0] else picked[0],
                  high if picked[1] is None or high[0] > picked[1][0] else picked[1],
                  _mark(i, b.last, profit, paid, start)]
        profit, paid = profit + b.last.profit, paid + b.last.paid
    points.extend(_picked(picked, start))
    return points


def _mark(block: int, mark: Mark, profit: float, paid: float, start: float | None
          ) -> tuple[float, int, float, float, float]:
    """(drawn, block, time, profit, paid) of ``mark``, the hours before it having brought ``profit`` and ``paid``."""
    p, q = profit + mark.profit, paid + mark.paid
    return p + q if start is not None else p, block, mark.time, p, q


def _picked(picked: list[Any], start: float | None) -> list[dict[str, Any]]:
    """A stretch's lowest, highest and last, each once, in time order (by block, then time)."""
    out = []
    for _, _, at, profit, paid in sorted({m[1:]: m for m in picked if m is not None}.values(), key=lambda m: m[1:3]):
        out.append({"time": at, "profit": round(profit, 2),
                    **({"balance": round(start + profit + paid, 2)} if start is not None else {})})
    return out


def by_plugin(grouped: dict[int, list[dict[str, Any]]], openers: dict[int, str]) -> dict[str, dict[str, Any]]:
    """Per plugin that opened positions: {trades (positions with a deal out), profit, commission,
    swap, net}, over every deal out (a part closed counts), from the deals by position; a plugin
    whose positions are all open and cost nothing yet has no row."""
    out: dict[str, dict[str, Any]] = {}
    for position, group in grouped.items():
        name = openers.get(position) or UNKNOWN
        entry = out.setdefault(name, {"trades": 0, "profit": 0.0, "commission": 0.0, "swap": 0.0, "net": 0.0})
        profit = commission = swap = 0.0  # one pass: a year holds 150,000 positions
        closing = False
        for d in group:
            profit, commission, swap = profit + d["profit"], commission + d["commission"], swap + d.get("swap", 0.0)
            closing = closing or d["entry"] != "in"
        entry["trades"] += closing
        entry["profit"] = round(entry["profit"] + profit, 2)
        entry["commission"] = round(entry["commission"] + commission, 2)
        entry["swap"] = round(entry["swap"] + swap, 2)
    for entry in out.values():
        entry["net"] = round(entry["profit"] + entry["commission"] + entry["swap"], 2)
    return _moved(out)


def _moved(plugins: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The rows of ``plugins`` with a trade closed or money moved (an entry's commission): a
    position still open that cost nothing says nothing yet, as it is no point of the curve."""
    return {name: entry for name, entry in plugins.items()
            if entry["trades"] or entry["profit"] or entry["commission"] or entry["swap"]}


def closed_trades(deals: list[dict[str, Any]], openers: dict[int, str], since: float | None = None
                  ) -> list[dict[str, Any]]:
    """The trades of ``deals`` (oldest first) closed at ``since`` or later (None: all), newest
    first. Only they are made whole: the whole history read for a position held a month is a
    year of trades, and the overview asks for today's after each deal."""
    grouped = positions_of(deals)
    ends = sorted(((at, p) for p, group in grouped.items()
                   if (at := closed_at(group)) is not None and (since is None or at >= since)), reverse=True)
    return [trade(p, grouped[p], openers.get(p)) for _, p in ends]


def trades_view(deals: list[dict[str, Any]], openers: dict[int, str], balance: float | None,
                limit: int, before: TradeKey | None = None) -> dict[str, Any]:
    """``GET /api/trades``: ``limit`` closed trades (newest first, below the key ``before``: the last
    shown, engine/domain/trade_pages.py), how many there are and how many are newer than the page,
    the equity curve thinned to ``CURVE_POINTS`` (``drawn_curve``) and how many points it has whole,
    and the profit by plugin, from ``deals`` (oldest first). Only the trades shown are made whole: a
    year's history holds 150,000 of them."""
    grouped = positions_of(deals)
    ends = [(at, p) for p, group in grouped.items() if (at := closed_at(group)) is not None]
    shown, newer = page_of(ends, limit, before)
    equity, points = drawn_curve(deals[0]["time"] if deals else None, balance, moves_of(deals))
    return {"trades": [trade(p, grouped[p], openers.get(p)) for _, p in shown], "closed": len(ends), "newer": newer,
            "equity": equity, "equity_points": points,
            "by_plugin": by_plugin(grouped, openers)}


def summary_view(summary: dict[str, Any], openers: dict[int, str], balance: float | None) -> dict[str, Any]:
    """``trades_view`` from a broker's ``trade_summary`` (the same answer): only the page's
    positions are made whole, the counts and sums come made, the curve is made of the moves or,
    on a long curve, of the hours' blocks (the profit's alone, where the summary has them apart,
    when the balance is not known: payments are then not drawn)."""
    grouped = positions_of(summary["deals"])
    blocks = summary["blocks"] if balance is not None else summary.get("profit_blocks", summary["blocks"])
    equity, points = drawn_curve(summary["first"], balance, summary["moves"], blocks)
    plugins: dict[str, dict[str, Any]] = {}
    for name, sums in summary["by_opener"].items():
        entry = plugins.setdefault(name or UNKNOWN, {"trades": 0, "profit": 0.0, "commission": 0.0, "swap": 0.0})
        for key in entry:
            entry[key] = entry[key] + sums[key] if key == "trades" else round(entry[key] + sums[key], 2)
    for entry in plugins.values():
        entry["net"] = round(entry["profit"] + entry["commission"] + entry["swap"], 2)
    return {"trades": [trade(p, grouped[p], openers.get(p)) for p in summary["page"]], "closed": summary["closed"],
            "newer": summary["newer"], "equity": equity, "equity_points": points, "by_plugin": _moved(plugins)}


def thin(points: list[dict[str, Any]], most: int) -> list[dict[str, Any]]:
    """At most ``most`` (at least 5) of the curve's ``points``, as they are: the first and the last,
    and of each of (most - 2) // 3 equal stretches of the time between them its lowest, its highest
    and its last point, in time order, so that no drawdown's bottom and no peak is lost to the
    thinning. The value is what the dashboard draws: the balance where the account told it, else
    the profit. (A curve of whole hours is thinned so from its hours' blocks: ``from_blocks``.)"""
    if len(points) <= most:
        return points
    inner, stretches = points[1:-1], (most - 2) // 3
    low, high = inner[0]["time"], inner[-1]["time"]
    kept, i = [points[0]], 0
    while i < len(inner):
        at, j, lowest, highest = stretch(inner[i]["time"], low, high, stretches), i, i, i
        while j < len(inner) and stretch(inner[j]["time"], low, high, stretches) == at:
            lowest = j if _drawn(inner[j]) < _drawn(inner[lowest]) else lowest
            highest = j if _drawn(inner[j]) > _drawn(inner[highest]) else highest
            j += 1
        kept.extend(inner[k] for k in sorted({lowest, highest, j - 1}))
        i = j
    kept.append(points[-1])
    return kept


def _drawn(point: dict[str, Any]) -> float:
    return point["balance"] if "balance" in point else point["profit"]


def unopened(deals: list[dict[str, Any]], since: float) -> set[int]:
    """The positions with a deal out at ``since`` or later and no deal in among ``deals``: they
    opened before them, and their trades cannot be made of them (held longer than they reach)."""
    grouped = positions_of(deals)
    return {p for p, group in grouped.items() if any(d["entry"] != "in" and d["time"] >= since for d in group)
            and not any(d["entry"] == "in" for d in group)}


def with_positions(deals: list[dict[str, Any]], theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``deals`` (oldest first) with those of some positions read whole (``theirs``) in place of
    what ``deals`` held of them, oldest first."""
    read = {d["position"] for d in theirs}
    merged = [d for d in deals if d["position"] not in read or d["entry"] == "balance"] + theirs
    return sorted(merged, key=lambda d: (d["time"], d["ticket"]))


def closed_since(deals: list[dict[str, Any]], openers: dict[int, str], since: float, limit: int) -> dict[str, Any]:
    """The trades closed at ``since`` or later, wherever they opened: the last ``limit`` (newest
    first), how many, their net (profit and commission), and per plugin that opened them
    {trades, net}. ``deals`` must reach back to their opening deals."""
    closed = closed_trades(deals, openers, since)
    plugins: dict[str, dict[str, Any]] = {}
    for t in closed:
        entry = plugins.setdefault(t["plugin"] or UNKNOWN, {"trades": 0, "net": 0.0})
        entry["trades"] += 1
        entry["net"] = round(entry["net"] + t["net"], 2)
    return {"since": since, "trades": closed[:limit], "closed": len(closed),
            "net": round(sum(t["net"] for t in closed), 2), "by_plugin": plugins}
