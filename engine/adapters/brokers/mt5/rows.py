"""MetaTrader's rows as the engine's ``Broker`` reads them: open positions, pending orders and
deals, with the engine's symbol names, sides, the plugin by magic number, and UTC times; a
symbol's specification, as sizing reads it."""

from __future__ import annotations

from typing import Any

from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.book import Book
from engine.adapters.brokers.mt5.clock import ServerClock
from engine.domain.config.mt5 import MT5Config

_ENTRIES = {c.DEAL_ENTRY_IN: "in", c.DEAL_ENTRY_OUT: "out", c.DEAL_ENTRY_INOUT: "inout", c.DEAL_ENTRY_OUT_BY: "out"}


def position_row(p: dict[str, Any], book: Book, config: MT5Config, clock: ServerClock) -> dict[str, Any]:
    """An open position; one moonhook did not open has ``external`` true. Its swap is apart
    from its profit, as MetaTrader keeps them: a close books both."""
    return {"ticket": p["ticket"], "symbol": config.from_broker(p["symbol"]),
            "side": c.POSITION_SIDES.get(p["type"], "buy"), "volume": p["volume"],
            "price_open": p["price_open"], "sl": p["sl"] or None, "tp": p["tp"] or None,
            "profit": p["profit"], "swap": float(p.get("swap") or 0.0), "plugin": book.plugin_of(p["magic"]),
            "comment": p["comment"],
            "opened_at": clock.utc(p["time"]), "magic": p["magic"], "external": book.plugin_of(p["magic"]) is None}


def order_row(o: dict[str, Any], book: Book, config: MT5Config, clock: ServerClock) -> dict[str, Any]:
    """A pending order, with when it expires (None: until cancelled)."""
    side, kind = c.ORDER_KINDS.get(o["type"], ("buy", None))
    return {"ticket": o["ticket"], "symbol": config.from_broker(o["symbol"]), "side": side, "type": kind,
            "price": o["price_open"], "volume": o["volume_current"], "sl": o["sl"] or None, "tp": o["tp"] or None,
            "plugin": book.plugin_of(o["magic"]), "comment": o["comment"], "created_at": clock.utc(o["time_setup"]),
            "expires": clock.utc(o["time_expiration"]) if o.get("type_time") == c.TIME_SPECIFIED else None}


def doubt_row(send: dict[str, Any], config: MT5Config) -> dict[str, Any]:
    """An entry whose answer was lost (a send of ``Book.in_doubt``), as ``Broker.in_doubt`` reads it."""
    request = send["request"]
    side, kind = c.ORDER_KINDS.get(request.get("type"), ("buy", None))
    return {"client_id": send["client_id"], "symbol": config.from_broker(request["symbol"]), "side": side,
            "type": kind, "volume": request["volume"], "comment": request["comment"]}


def deal_rows(rows: Any, since: float | None, config: MT5Config, clock: ServerClock) -> list[dict[str, Any]]:
    """The trading deals (buys and sells), oldest first, from ``since`` (UTC; None: all). A
    deal's fee (DEAL_FEE, charged as it is made) counts in its commission: both are what the
    deal cost, and the day's loss and the trades' net count it. Commission charged apart (the
    commission deal types: daily, monthly) is a row of its own, its amount the commission, side
    None, of no position (0), entry "in" (it closes nothing). Money paid in or out (a deposit,
    a withdrawal, the broker's correction, bonus, interest, dividend or tax) is a row of entry
    "balance", its ``amount`` signed, its profit, commission and swap 0: it moved the balance,
    and it is no trading; credit entries are left out. A netting account's reversal (one INOUT
    deal) is the two deals it stands for (``relived``): a trade is one life of a position."""
    made = DealRows(config, clock)
    found = [row for d in sorted(rows, key=deal_order) for row in made.add(d)]
    return [d for d in found if since is None or d["time"] >= since]


def deal_order(d: dict[str, Any]) -> tuple[int, int]:
    """A terminal's deal's place in its history: by time (to the millisecond), then ticket."""
    return d.get("time_msc") or d["time"] * 1000, d["ticket"]


class DealRows:
    """``deal_rows`` made a deal at a time, oldest first (a reversal's rows depend on the deals before it)."""

    def __init__(self, config: MT5Config, clock: ServerClock):
        self.config, self.clock, self._lives = config, clock, Relived()

    def add(self, deal: dict[str, Any]) -> list[dict[str, Any]]:
        """The rows of one more deal, no older than those before (none: no trading deal)."""
        return [_deal_row(d, self.config, self.clock) for d in self._lives.add(deal)
                if d.get("type") in c.DEAL_SIDES or d.get("type") in c.DEAL_COMMISSIONS
                or d.get("type") in c.DEAL_TRANSFERS]


def relived(deals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``deals`` (oldest first) with each reversal as the two deals it stands for: an OUT of the
    lots it closed (its profit, its swap, its share of the cost) and an IN of those it opened,
    keyed, as the later deals of that position, by the reversing order's ticket. The lots it
    closed are what the position's deals before it in ``deals`` add up to. Others pass as they are."""
    lives = Relived()
    return [row for d in deals for row in lives.add(d)]


class Relived:
    """``relived`` a deal at a time, oldest first: each position's lots open and its life's ticket kept."""

    def __init__(self) -> None:
        self.held: dict[int, float] = {}   # by identifier: the lots open, buys counted up and sells down
        self.ticket: dict[int, int] = {}   # by identifier: the ticket of its life since its last reversal

    def add(self, d: dict[str, Any]) -> list[dict[str, Any]]:
        held, ticket = self.held, self.ticket
        pid = d.get("position_id") or 0
        if not pid or d.get("type") not in c.DEAL_SIDES:
            return [d]
        if d["entry"] == c.DEAL_ENTRY_INOUT:
            closed = min(round(abs(held.get(pid, 0.0)), 8), d["volume"])
            cost = deal_cost(d)
            shut = round(cost * closed / d["volume"], 2)
            out = [{**d, "entry": c.DEAL_ENTRY_OUT, "volume": closed, "position_id": ticket.get(pid, pid),
                    "commission": shut, "fee": 0.0}]
            ticket[pid] = d.get("order") or pid
            out.append({**d, "entry": c.DEAL_ENTRY_IN, "volume": round(d["volume"] - closed, 8), "position_id":
                        ticket[pid], "profit": 0.0, "swap": 0.0, "commission": round(cost - shut, 2), "fee": 0.0})
        else:
            out = [{**d, "position_id": ticket[pid]} if pid in ticket else d]
        held[pid] = held.get(pid, 0.0) + (d["volume"] if c.DEAL_SIDES[d["type"]] == "buy" else -d["volume"])
        return out


def deal_cost(d: dict[str, Any]) -> float:
    """What a deal cost as it was made: its commission and its fee (DEAL_FEE), negative."""
    return round(float(d.get("commission") or 0.0) + float(d.get("fee") or 0.0), 2) + 0.0


def _deal_row(d: dict[str, Any], config: MT5Config, clock: ServerClock) -> dict[str, Any]:
    cost = deal_cost(d)
    row = {"ticket": d["ticket"], "position": d.get("position_id") or 0, "symbol": config.from_broker(d["symbol"]),
           "side": c.DEAL_SIDES.get(d["type"]), "entry": _ENTRIES.get(d["entry"], "out"), "volume": d["volume"],
           "price": d["price"], "profit": float(d.get("profit") or 0.0), "commission": round(cost, 2),
           "swap": float(d.get("swap") or 0.0), "time": clock.utc(d["time"]), "comment": d.get("comment"),
           "magic": d.get("magic")}
    if d["type"] in c.DEAL_COMMISSIONS:  # its amount is its profit (as a balance entry's), or its commission
        row.update(entry="in", volume=0.0, price=0.0, profit=0.0,
                   commission=round(float(d.get("profit") or 0.0) + cost, 2), swap=0.0)
    elif d["type"] in c.DEAL_TRANSFERS:
        row.update(entry="balance", position=0, volume=0.0, price=0.0, profit=0.0, commission=0.0, swap=0.0,
                   amount=round(float(d.get("profit") or 0.0) + cost + float(d.get("swap") or 0.0), 2))
    return row


def symbol_spec(symbol: str, info: dict[str, Any], currency: str | None) -> dict[str, Any]:
    """``symbol``'s specification from its ``symbol_info``, in an account of ``currency``."""
    return {"name": symbol, "digits": info["digits"], "point": info["point"], "volume_min": info["volume_min"],
            "volume_step": info["volume_step"], "volume_max": info["volume_max"],
            "contract_size": info["trade_contract_size"], "tick_size": info["trade_tick_size"],
            "tick_value": loss_tick_value(info), "account_is_base": account_is_base(info, currency),
            "stops_level": info.get("trade_stops_level", 0), "filling_mode": info.get("filling_mode", 0)}


def account_is_base(info: dict[str, Any], currency: str | None) -> bool:
    """Whether the account's currency is the base of this currency pair (USDJPY on a USD account):
    MetaTrader converts its profit, in the quote currency, at the symbol's own price, so a loss at
    the stop converts at the stop's price (``engine/domain/risk.py``). Only a pair (a forex calc
    mode) is priced in its base: a CFD's price is no rate, whatever its base currency."""
    return (bool(currency) and info.get("trade_calc_mode") in c.SYMBOL_CALC_FOREX
            and info.get("currency_base") == currency and info.get("currency_profit") != currency)


def loss_tick_value(info: dict[str, Any]) -> float:
    """What a tick is worth to a losing position, in the account's currency: risk is sized and
    ``max_risk_pct`` measured on the loss at the stop. MetaTrader's ``trade_tick_value`` is a
    winning one's (``trade_tick_value_profit``); a loss converts at the other side of the spread
    of the rate to the account's currency, and is the more. The larger of the two, should a
    terminal leave the loss's at 0."""
    return max(info["trade_tick_value"], info.get("trade_tick_value_loss") or 0.0)
