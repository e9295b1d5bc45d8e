"""The paper broker: the engine's embedded default, trading on the prices alerts carry.

Its books (account, last prices, orders, positions, deals and the answer to every client id)
live in the engine's SQLite file (trades are booked by ``books.py``), so a restart finds them
as they were. A request runs in one transaction with the record of its client id: executed
once, answered alike ever after. Pending orders and stops trigger on the prices ``quote``
records; across a gap a stop fills at the worse price, as in a real market; then, below
``stop_out_pct``, the account is stopped out (``stopout.py``). A pending order
given an expiry is removed when it comes (told as a Dropped "expired"), whether or not a price
comes then: ``run`` watches the next. Money is in the account currency, converted from a
symbol's quote currency at the last mid price of the pair that links them (``market.py``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from dataclasses import replace
from contextlib import nullcontext
from typing import Any, Callable, ContextManager, Sequence

import trio

from engine.adapters.storage.database import Database, select
from engine.adapters.storage.untold import UntoldEvents
from engine.adapters.brokers.base import Broker, Seen
from engine.domain.orders import Dropped, Event, OrderRequest, OrderResult, shallow
from engine.domain.rules import Refused, check_stops, side_of
from engine.domain.instruments import SymbolSpec, symbol_table
from engine.domain.config.paper import PaperConfig
from engine.domain.trade_pages import TradeKey
from engine.adapters.brokers.paper.books import Books, open_account
from engine.adapters.brokers.paper.history import deals as deal_history
from engine.adapters.brokers.paper import closes, trades
from engine.adapters.brokers.paper.margin import figures
from engine.adapters.brokers.paper.market import Market
from engine.adapters.brokers.paper.prices import Prices
from engine.adapters.brokers.paper.stopout import PaperStopOut
from engine.adapters.brokers.paper.rules import (
    PENDING_CROSSED, STOPS_CROSSED, crossed, pending_fill, stop_hit, stop_of, volume_of,
)

log = logging.getLogger("moonhook.paper")
EXPIRY_LOOK = 1.0  # seconds between looks while a pending order waits to expire
EXPIRED = "SELECT * FROM paper_orders WHERE state = 'placed' AND expires IS NOT NULL AND expires <= ? ORDER BY expires"
NEXT_EXPIRY = "SELECT MIN(expires) FROM paper_orders WHERE state = 'placed' AND expires IS NOT NULL"


class PaperBroker(Broker):
    """Fills a market order at the last quote (an alert's price, quoted as the bid before its orders; the
    ask is the spread above it), or at the request's price before any quote of its symbol."""

    name = "paper"
    trading_on = "paper"

    def __init__(self, database: Database, config: PaperConfig = PaperConfig(),
                 clock: Callable[[], float] = time.time):
        super().__init__()
        self._d, self.config, self._clock = database, config, clock
        self._placed = trio.Event()  # set when an order with an expiry is placed: the watch wakes
        self._table: dict[str, SymbolSpec] = symbol_table(config.symbols, where="paper.symbols")
        with database.transaction() as db:   # [paper] opens the account until it trades; then the books win
            self.currency, kept = open_account(db, config.balance, config.currency)
            self._prices = Prices(db)   # in memory, written with the next trade
        if kept is not None:
            log.warning("paper: %s", kept)
        self._market = Market(self._table, self._prices, config, self.currency)
        self._books = Books(self._market)
        self._stop_out = PaperStopOut(self._market, self._books, self._table, config.stop_out_pct)
        self.untold = UntoldEvents(database)

    # -- reading ------------------------------------------------------------------------------

    async def account(self) -> dict[str, Any]:
        """Equity counts floating profit at the last prices; margin is each symbol's, hedged
        volume charged ``[paper] hedged_margin`` of the contract (``margin.py``); a symbol with no
        rate to convert with is left out of ``margin`` (so ``margin_free`` is equity - known margin)."""
        with self._d.lock:
            return self._account(self._d.db)

    def _account(self, db: Any) -> dict[str, Any]:
        balance = db.execute("SELECT balance FROM paper_account WHERE id = 1").fetchone()[0]
        # The positions of one symbol and side count as one (profit and margin are linear in
        # volume and open price), kept by triggers (storage migration 10): every market order
        # asks this, a row a symbol and side, not a row a position.
        rows = db.execute("SELECT symbol, side, volume, weighted FROM paper_exposure WHERE positions > 0")
        return figures(self._market, self._table, balance, rows, self.currency)

    def _legs(self, db: Any, symbol: str) -> dict[str, tuple[float, float]]:
        """The open positions of ``symbol``: each side's volume and volume x open price."""
        return {side: (volume, weighted) for side, volume, weighted in db.execute(
            "SELECT side, volume, weighted FROM paper_exposure WHERE symbol = ? AND positions > 0", [symbol])}

    async def symbol(self, symbol: str) -> dict[str, Any] | None:
        spec = self._table.get(symbol)
        if spec is None:
            return None
        return {"name": spec.name, **spec.to_plain(self.currency, self._prices.mid),
                "commission": self._market.round_trip()}

    async def symbol_seen(self, symbol: str, seen: Seen | None) -> dict[str, Any] | None:
        with self._seeing(seen):   # symbol() awaits nothing: no other task reads the seen quote
            return await self.symbol(symbol)

    def _seeing(self, seen: Seen | None) -> ContextManager[None]:
        """The alert's market price ``seen`` quoted as ``quote`` would, for the reads inside only
        (not at all when it would not: a late alert's)."""
        quote = self.quote_of(*seen) if seen else None
        return nullcontext() if quote is None else self._prices.seeing(seen[0], quote["bid"], quote["ask"])

    async def price(self, symbol: str) -> dict[str, Any] | None:
        row = self._prices.get(symbol)
        return {"bid": row[0], "ask": row[1], "time": row[2]} if row else None

    async def stop(self) -> None:
        """Saves the last prices; on a file that cannot be written they are left (the next alert
        brings its price), and the engine closes its files all the same."""
        try:
            with self._d.transaction() as db:
                self._prices.save(db)
        except sqlite3.Error as e:
            log.warning("paper: the last prices were not saved at the stop: %s", e)

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Removes each pending order when its expiry comes: looked at every second while one
        waits to expire (the clock may be a test's or a replay's), not at all while none does."""
        task_status.started()
        while True:
            self._placed = trio.Event()
            following = await self.expire()
            if following is None:
                await self._placed.wait()
            else:
                await trio.sleep(min(max(following - self._clock(), 0.0), EXPIRY_LOOK))

    async def expire(self) -> float | None:
        """Removes the pending orders whose expiry has come (told as Dropped "expired"); the
        next expiry to come, or None."""
        now = self._clock()
        with self._d.lock:
            due = bool(select(self._d.db, EXPIRED, [now]))
        if due:
            events: list[Event] = []
            await self._d.writable()
            with self._d.transaction() as db:
                for o in select(db, EXPIRED, [now]):
                    events.append(self._expired(db, o))
                self.untold.keep(db, events)
            for event in events:
                self._emit(event)
        with self._d.lock:
            return self._d.db.execute(NEXT_EXPIRY).fetchone()[0]

    def _expired(self, db: Any, o: dict[str, Any]) -> Dropped:
        db.execute("UPDATE paper_orders SET state = 'expired', done_at = ? WHERE ticket = ?",
                   [o["expires"], o["ticket"]])
        return Dropped.expired(o["ticket"], o["symbol"], o["side"], o["type"], o["volume"], o["price"], o["created_at"],
                               o["expires"], o["plugin"], o["alert_id"])

    async def positions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """Profit is at the last price (a buy at the bid, a sell at the ask); 0 with none yet."""
        where, args = (" WHERE symbol = ?", [symbol]) if symbol is not None else ("", [])
        with self._d.lock:
            db = self._d.db
            rows = select(db, f"SELECT * FROM paper_positions{where} ORDER BY ticket", args)
            profits = [self._market.floating(self._table[p["symbol"]], p) if p["symbol"] in self._table else 0.0
                       for p in rows]
        keys = ("ticket", "symbol", "side", "volume", "price_open", "sl", "tp")
        return [{**{k: p[k] for k in keys}, "profit": profit, "plugin": p["plugin"], "comment": p["comment"],
                 "opened_at": p["opened_at"]} for p, profit in zip(rows, profits)]

    async def orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        where, args = (" AND symbol = ?", [symbol]) if symbol is not None else ("", [])
        keys = ("ticket", "symbol", "side", "type", "price", "volume", "sl", "tp", "plugin", "comment", "created_at",
                "expires")
        with self._d.lock:  # the pending orders' index: ORDER BY ticket alone made SQLite scan every order ever
            rows = select(self._d.db, "SELECT * FROM paper_orders INDEXED BY paper_orders_placed "
                          f"WHERE state = 'placed'{where} ORDER BY ticket", args)
        return [{k: o[k] for k in keys} for o in rows]

    async def history(self, since: float | None = None) -> list[dict[str, Any]]:
        """The deals of the books (``paper_deals``): a long read off the event loop (history.py)."""
        return await deal_history(self._d, since, self._clock())

    async def trade_summary(self, limit: int, before: TradeKey | None = None, openers: Any = None) -> dict[str, Any]:
        """From the positions summed up in SQL (trades.py): their openers are the books' own."""
        return await trades.summary(self._d, limit, before)

    async def closed_deals(self, since: float) -> list[dict[str, Any]] | None:
        return await trades.closed_deals(self._d, since)

    # -- prices ---------------------------------------------------------------------------------

    def quote_of(self, symbol: str, price: float, fired: float | None = None) -> dict[str, Any] | None:
        if self._prices.late(symbol, fired):
            return None
        spec = self._table.get(symbol)
        quoted = None if spec is None else self._market.quoted(spec, price)
        return None if quoted is None else {"bid": quoted[0], "ask": quoted[1]}

    async def quote(self, symbol: str, price: float, time: float, fired: float | None = None) -> None:
        """Records ``price`` as the bid, then fills the pending orders and stops it crossed.
        A price that is not a positive number, is 0 on the symbol's grid or past 1e15 is ignored; an unknown
        symbol's is kept (ask = bid), as a conversion rate. So is one whose alert was ``fired`` (timenow)
        before the symbol's last price was (``Prices.late``): the market had left it, and its alert's
        market entry fills at the last price, as all do (``_market_checked``), where its sizing measures it.
        One at which the account's sums raise (ArithmeticError) is logged, not taken: kept, every alert failed."""
        if self._prices.late(symbol, fired):
            return
        spec = self._table.get(symbol)
        quoted = self._market.quoted(spec, price)
        if quoted is None:
            return
        bid, ask = quoted
        try:   # a read first, at the new price: most quotes trigger nothing and need no write
            with self._d.lock, self._prices.seeing(symbol, bid, ask):
                busy = spec is not None and (self._trigger(self._d.db, spec, bid, ask, time, None)
                                             or self._stop_out.due(self._account(self._d.db)))
        except ArithmeticError as e:   # the last line: kept, this price failed every later alert
            log.error("paper: %s's price %r is not taken: the account's sums fail at it (%r)", symbol, price, e)
            return
        self._prices.record(symbol, bid, ask, time, fired)
        if spec is None or not busy:
            return
        events: list[Event] = []
        await self._d.writable()
        with self._d.transaction() as db:
            self._prices.save(db)
            self._trigger(db, spec, bid, ask, time, events)
            events += self._stop_out.run(db, self._account, time)   # after its own triggers, as MetaTrader 5
            self.untold.keep(db, events)
        for event in events:
            self._emit(event)

    def _trigger(self, db: Any, spec: SymbolSpec, bid: float, ask: float, at: float,
                 events: list[Event] | None) -> bool:
        """Fills what this quote crosses, inside a transaction; with ``events`` None, only says
        whether anything would be."""
        # Only rows this quote crosses are read, by index: a quote is on every alert's path.
        for o in crossed(db, PENDING_CROSSED, [spec.name, ask, bid]):
            fill = pending_fill(o["side"], o["type"], o["price"], bid, ask)
            if fill is not None:
                if events is None:
                    return True
                if o["expires"] is not None and o["expires"] <= self._clock():  # its time came before this price
                    events.append(self._expired(db, o))
                    continue
                price = round(fill, spec.digits)
                try:   # as MetaTrader: without the margin the order is rejected when its price comes
                    self._market.check_margin(spec, o["side"], o["volume"], price, self._account(db)["margin_free"],
                                              self._legs(db, spec.name))
                except Refused as refusal:
                    db.execute("UPDATE paper_orders SET state = 'rejected', done_at = ? WHERE ticket = ?",
                               [at, o["ticket"]])
                    events.append(Dropped(o["ticket"], spec.name, o["side"], o["type"], o["volume"], price, "rejected",
                                          str(refusal), at, o["plugin"], o["alert_id"]))
                    continue
                db.execute("UPDATE paper_orders SET state = 'filled', done_at = ? WHERE ticket = ?", [at, o["ticket"]])
                events.append(self._books.open_position(db, spec, o, price, "pending", at))
        for p in crossed(db, STOPS_CROSSED, [spec.name, bid, ask]):
            hit = stop_hit(p, bid, ask)
            if hit is not None and self._market.tick_value(spec) is not None:   # no rate: cannot book it yet
                if events is None:
                    return True
                meta = {"plugin": p["plugin"], "client_id": None, "alert_id": p["alert_id"], "comment": None}
                events += self._books.close_position(db, spec, p, p["volume"], round(hit[1], spec.digits), hit[0],
                                                     meta, at)
        return bool(events)

    # -- requests -------------------------------------------------------------------------------

    async def execute(self, request: OrderRequest) -> OrderResult:
        cid = request.client_id
        if not (isinstance(cid, str) and cid):
            return OrderResult.refused(f"client_id: required, got {cid!r}")
        handler = {"market": self._market_order, "pending": self._pending_order, "close": self._close_request,
                   "modify": self._modify}.get(request.kind)
        events: list[Event] = []
        await self._d.writable()
        with self._d.transaction() as db:
            row = db.execute("SELECT result FROM paper_requests WHERE client_id = ?", [cid]).fetchone()
            if row is not None:
                return replace(OrderResult.from_plain(json.loads(row[0])), duplicate=True)
            self._prices.save(db)
            db.execute("SAVEPOINT request")
            try:
                if handler is None:
                    raise Refused(f"kind: expected market, pending, close or modify, got {request.kind!r}")
                result = handler(db, request, events)
                db.execute("RELEASE request")
            except Refused as refusal:
                db.execute("ROLLBACK TO request")
                db.execute("RELEASE request")
                events.clear()
                result = OrderResult.refused(str(refusal))
            db.execute("INSERT INTO paper_requests (client_id, result, time) VALUES (?, ?, ?)",
                       [cid, json.dumps(shallow(result)), self._clock()])
            self.untold.keep(db, events)
        for event in events:
            self._emit(event)
        return result

    async def first_result(self, client_id: str) -> OrderResult | None:
        with self._d.lock:
            row = self._d.db.execute("SELECT result FROM paper_requests WHERE client_id = ?", [client_id]).fetchone()
        return None if row is None else OrderResult.from_plain(json.loads(row[0]))

    async def check(self, request: OrderRequest, before: Sequence[OrderRequest] = (),
                    seen: Seen | None = None) -> str | None:
        """What ``execute`` would refuse the entry or stop change ``request`` for now (its volume,
        stops, price, margin), doing nothing, measured with the price ``seen`` quoted if it is its
        symbol's; None if it would fill, place or change it. Closes are not checked."""
        try:
            with self._d.lock, self._seeing(seen):
                if request.kind == "market":
                    self._market_checked(self._d.db, request)
                elif request.kind == "pending":
                    self._market.pending(request)
                elif request.kind == "modify":
                    self._market.change(self._d.db, request)
        except Refused as e:
            return str(e)
        return None

    def _market_checked(self, db: Any, r: OrderRequest) -> tuple[SymbolSpec, str, float, float, Any, Any]:
        """A market order's symbol, side, volume, fill price, sl and tp, checked; raises Refused."""
        spec, side = self._market.spec(r.symbol), side_of(r.side)
        volume = volume_of(spec, r.volume)
        bid, ask = self._market.at_market(spec, r.price)
        price = ask if side == "buy" else bid
        sl, tp = stop_of(spec, "sl", r.sl), stop_of(spec, "tp", r.tp)
        # Against where the position closes (a buy's bid, a sell's ask), as MetaTrader checks
        # them: a stop inside the spread is refused live, so it is here.
        closes, what = (bid, "the bid") if side == "buy" else (ask, "the ask")
        check_stops(side, closes, sl, tp, what, **spec.stops())
        self._market.rate(spec)
        self._market.check_margin(spec, side, volume, price, self._account(db)["margin_free"],
                                  self._legs(db, spec.name))
        return spec, side, volume, price, sl, tp

    def _market_order(self, db: Any, r: OrderRequest, events: list[Event]) -> OrderResult:
        spec, side, volume, price, sl, tp = self._market_checked(db, r)
        now = self._clock()
        order = self._books.new_order(db, r, spec.name, side, "market", price, volume, sl, tp, "filled", now)
        events.append(self._books.open_position(db, spec, order, price, "market", now))
        return OrderResult(True, order["ticket"], price, volume)

    def _pending_order(self, db: Any, r: OrderRequest, events: list[Event]) -> OrderResult:
        spec, side, price, volume, sl, tp = self._market.pending(r)
        order = self._books.new_order(db, r, spec.name, side, r.type, price, volume, sl, tp, "placed",
                                      self._clock())
        if r.expiry:
            self._placed.set()  # the expiry watch looks at it
        return OrderResult(True, order["ticket"], price, volume)

    def _close_request(self, db: Any, r: OrderRequest, events: list[Event]) -> OrderResult:
        return closes.close(db, self._market, self._books, r, self._clock(), events)

    def _modify(self, db: Any, r: OrderRequest, events: list[Event]) -> OrderResult:
        ticket, position, price, sl, tp, volume = self._market.change(db, r)
        if position:
            db.execute("UPDATE paper_positions SET sl = ?, tp = ? WHERE ticket = ?", [sl, tp, ticket])
            return OrderResult(True, ticket, None, volume)
        db.execute("UPDATE paper_orders SET price = ?, sl = ?, tp = ? WHERE ticket = ?", [price, sl, tp, ticket])
        return OrderResult(True, ticket, price, volume)

