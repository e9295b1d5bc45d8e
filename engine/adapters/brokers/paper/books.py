"""The paper broker's books, written inside the caller's transaction: orders numbered from
1001, positions opened and closed (whole or in part), and each deal booked to the balance
with its profit and commission, as MetaTrader books them.

A position's profit is converted at the market's rate (``market.py``), which refuses
(``Refused``) when no price links the symbol's quote currency to the account's.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from engine.adapters.brokers.paper.market import Market
from engine.adapters.brokers.paper.rules import lots, profit_of
from engine.domain.instruments import SymbolSpec
from engine.domain.orders import Closed, Event, Fill, OrderRequest, shallow

OPPOSITE = {"buy": "sell", "sell": "buy"}
# A Fill's fields paper_deals has no column for (paper fills whole: never ``asked``, ``filled``).
NOT_COLUMNS = ("deal", "order", "swap", "left", "again", "asked", "filled")


class Books:
    def __init__(self, market: Market):
        self._market = market

    def new_order(self, db: Any, r: OrderRequest, symbol: str, side: str, type_: str, price: float,
                  volume: float, sl: float | None, tp: float | None, state: str, at: float) -> dict[str, Any]:
        """An order row for ``r``, numbered after the last; ``state`` filled or placed."""
        ticket = db.execute("SELECT COALESCE(MAX(ticket), 1000) + 1 FROM paper_orders").fetchone()[0]
        order = {"ticket": ticket, "client_id": r.client_id, "symbol": symbol, "side": side, "type": type_,
                 "price": price, "volume": volume, "sl": sl, "tp": tp, "state": state, "plugin": r.plugin,
                 "alert_id": r.alert_id, "comment": r.comment, "created_at": at,
                 "done_at": at if state != "placed" else None,
                 "expires": at + r.expiry if r.expiry and state == "placed" else None}
        _insert(db, "paper_orders", order)
        return order

    def open_position(self, db: Any, spec: SymbolSpec, order: dict[str, Any], price: float, reason: str,
                      at: float) -> Fill:
        """Opens the position of a filled ``order`` at ``price`` (its ticket the order's): the "in" deal."""
        commission = self._market.commission(order["volume"])
        _insert(db, "paper_positions", {
            "ticket": order["ticket"], "symbol": spec.name, "side": order["side"], "volume": order["volume"],
            "price_open": price, "sl": order["sl"], "tp": order["tp"], "plugin": order["plugin"],
            "alert_id": order["alert_id"], "comment": order["comment"], "opened_at": at, "commission": commission})
        return self._deal(db, Fill(0, order["ticket"], order["ticket"], spec.name, order["side"], order["volume"],
                                   price, "in", reason, at, 0.0, commission, order["plugin"], order["client_id"],
                                   order["alert_id"]))

    def close_position(self, db: Any, spec: SymbolSpec, p: dict[str, Any], volume: float, price: float,
                       reason: str, meta: dict[str, Any], at: float) -> list[Event]:
        """Closes ``volume`` of position ``p`` at ``price``: an "out" deal (its order typed by the
        reason: close, sl or tp), and once none is left a Closed with the position's whole volume
        and total profit (gross, as MT5 reports profit; commission is booked on each deal, and
        the Closed adds up every deal's)."""
        profit = profit_of(spec, self._market.rate(spec), p, price, volume)
        side = OPPOSITE[p["side"]]
        order = self.new_order(db, OrderRequest("close", meta["client_id"], plugin=meta["plugin"],
                                                alert_id=meta["alert_id"], comment=meta["comment"]),
                               spec.name, side, reason, price, volume, None, None, "filled", at)
        commission = self._market.commission(volume)
        fill = self._deal(db, Fill(0, order["ticket"], p["ticket"], spec.name, side, volume, price, "out", reason,
                                   at, profit, commission, meta["plugin"], meta["client_id"], meta["alert_id"]))
        left = lots(p["volume"]) - lots(volume)
        fill = replace(fill, left=float(left))
        if left > 0:
            db.execute("UPDATE paper_positions SET volume = ?, commission = commission + ? WHERE ticket = ?",
                       [float(left), commission, p["ticket"]])
            return [fill]
        db.execute("DELETE FROM paper_positions WHERE ticket = ?", [p["ticket"]])
        total_profit, total_volume, total_commission = db.execute(
            "SELECT SUM(CASE WHEN entry = 'out' THEN profit END), SUM(CASE WHEN entry = 'out' THEN volume END), "
            "SUM(commission) FROM paper_deals WHERE position = ?", [p["ticket"]]).fetchone()
        return [fill, Closed(p["ticket"], spec.name, p["side"], round(total_volume, 8), p["price_open"],
                             price, round(total_profit, 2) + 0.0, reason, at, p["plugin"], p["sl"], p["tp"],
                             commission=round(total_commission, 2) + 0.0, currency=self._market.currency)]

    def _deal(self, db: Any, fill: Fill) -> Fill:
        """Books ``fill`` (profit and commission to the balance) and numbers it."""
        row = {k: v for k, v in shallow(fill).items() if k not in NOT_COLUMNS}
        deal = _insert(db, "paper_deals", {**row, "order_ticket": fill.order})
        db.execute("UPDATE paper_account SET balance = round(balance + ?, 2) WHERE id = 1",
                   [fill.profit + fill.commission])
        return replace(fill, deal=deal)


def _insert(db: Any, table: str, row: dict[str, Any]) -> int:
    """A plain INSERT (sqlite-utils' insert reads the table's schema on every call)."""
    sql = f"INSERT INTO {table} ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})"
    return db.execute(sql, list(row.values())).lastrowid


def open_account(db: Any, balance: float, currency: str) -> tuple[str, str | None]:
    """The paper account's currency, opened with ``[paper]``'s ``balance`` and ``currency``, which
    it takes at each start until it has placed an order; then its books keep theirs. The second
    value says so when the file's differ from those it opened with (None: they do not)."""
    db.execute("INSERT OR IGNORE INTO paper_account (id, balance, currency) VALUES (1, ?, ?)", [balance, currency])
    if db.execute("SELECT 1 FROM paper_orders LIMIT 1").fetchone() is None:   # it never traded
        db.execute("UPDATE paper_account SET balance = ?, currency = ? WHERE id = 1", [balance, currency])
        return currency, None
    held, kept = db.execute("SELECT balance, currency FROM paper_account WHERE id = 1").fetchone()
    booked, deals = db.execute("SELECT COALESCE(SUM(round(COALESCE(profit, 0) + COALESCE(commission, 0), 2)), 0), "
                               "COUNT(*) FROM paper_deals").fetchone()
    opened = held - booked
    if kept == currency and abs(opened - balance) < 0.01 * (deals + 1):   # each deal booked to the cent
        return kept, None
    return kept, (f"[paper] balance {balance:,.2f} {currency} is not the paper account's: it opened with "
                  f"{opened:,.2f} {kept} and has traded since, and its books keep their balance and currency "
                  "(a new paper account: another [engine] data folder)")
