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
    ins = [d for d in deals if d["entry"] == "in" and d["side"] is not None]
    outs = [d for d in deals if d["entry"] != "in"]
    if not ins or not outs:
        return None
    opening, volume_in, volume_out = ins[0], sum(d["volume"] for d in ins), sum(d["volume"] for d in outs)
    if round(volume_out - volume_in, 8) < 0:
        return None  # partly closed: still open
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
    moves = [(d["time"], d["profit"] + d["commission"] + d.get("swap", 0.0), d.get("amount", 0.0)) for d in deals
             if d["profit"] or d["commission"] or d.get("swap") or d["entry"] != "in"]
    start = None if balance is None else balance - sum(m + paid for _, m, paid in moves)
    points = [{"time": deals[0]["time"], "profit": 0.0}] if moves else []  # deals come oldest first
    running = paid_in = 0.0
    for at, move, paid in moves:
        running, paid_in = running + move, paid_in + paid
        points.append({"time": at, "profit": round(running, 2), **({"paid": paid} if paid else {})})
        if start is not None:
            points[-1]["balance"] = round(start + running + paid_in, 2)
    if start is not None and points:
        points[0]["balance"] = round(start, 2)
    return points


def by_plugin(deals: list[dict[str, Any]], openers: dict[int, str]) -> dict[str, dict[str, Any]]:
    """Per plugin that opened positions: {trades (positions with a deal out), profit, commission,
    swap, net}, over every deal out (a part closed counts)."""
    out: dict[str, dict[str, Any]] = {}
    for position, group in positions_of(deals).items():
        name = openers.get(position) or UNKNOWN
        entry = out.setdefault(name, {"trades": 0, "profit": 0.0, "commission": 0.0, "swap": 0.0, "net": 0.0})
        if any(d["entry"] != "in" for d in group):
            entry["trades"] += 1
        entry["profit"] = round(entry["profit"] + sum(d["profit"] for d in group), 2)
        entry["commission"] = round(entry["commission"] + sum(d["commission"] for d in group), 2)
        entry["swap"] = round(entry["swap"] + sum(d.get("swap", 0.0) for d in group), 2)
        entry["net"] = round(entry["profit"] + entry["commission"] + entry["swap"], 2)
    return out


def closed_trades(deals: list[dict[str, Any]], openers: dict[int, str]) -> list[dict[str, Any]]:
    """The closed trades of ``deals`` (oldest first), newest first."""
    grouped = positions_of(deals)
    closed = [t for t in (trade(p, group, openers.get(p)) for p, group in grouped.items()) if t is not None]
    closed.sort(key=lambda t: (t["closed_at"], t["position"]), reverse=True)
    return closed


def trades_view(deals: list[dict[str, Any]], openers: dict[int, str], balance: float | None,
                limit: int) -> dict[str, Any]:
    """``GET /api/trades``: the last ``limit`` closed trades (newest first), the equity curve
    and the profit by plugin, from ``deals`` (oldest first)."""
    closed = closed_trades(deals, openers)
    return {"trades": closed[:limit], "closed": len(closed), "equity": equity_curve(deals, balance),
            "by_plugin": by_plugin(deals, openers)}


def unopened(deals: list[dict[str, Any]], since: float) -> bool:
    """Whether a position with a deal out at ``since`` or later has no deal in among ``deals``:
    it opened before them, and its trade cannot be made of them (held longer than they reach)."""
    grouped = positions_of(deals)
    return any(not any(d["entry"] == "in" for d in group)
               for group in grouped.values() if any(d["entry"] != "in" and d["time"] >= since for d in group))


def closed_since(deals: list[dict[str, Any]], openers: dict[int, str], since: float, limit: int) -> dict[str, Any]:
    """The trades closed at ``since`` or later, wherever they opened: the last ``limit`` (newest
    first), how many, their net (profit and commission), and per plugin that opened them
    {trades, net}. ``deals`` must reach back to their opening deals."""
    closed = [t for t in closed_trades(deals, openers) if t["closed_at"] >= since]
    plugins: dict[str, dict[str, Any]] = {}
    for t in closed:
        entry = plugins.setdefault(t["plugin"] or UNKNOWN, {"trades": 0, "net": 0.0})
        entry["trades"] += 1
        entry["net"] = round(entry["net"] + t["net"], 2)
    return {"since": since, "trades": closed[:limit], "closed": len(closed),
            "net": round(sum(t["net"] for t in closed), 2), "by_plugin": plugins}
