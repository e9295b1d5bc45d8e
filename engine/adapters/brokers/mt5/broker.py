"""The MetaTrader 5 broker: the engine's orders sent to a terminal through the MetaTrader5
package (or mt5linux), held by a worker process of its own (``link.py``).

Never twice (``send.py``): each send is written down with its tag before it goes; one whose
answer was lost (a timeout, a worker that died or hung) is looked for by its tag at the broker
(``lost.py``), never failed and never sent again; a client id asked again answers its first
result. The connection is watched (``session.py``): lost, it is told and found again.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from functools import partial
from typing import Any, Callable, Sequence

import trio

from engine.adapters.storage import Database
from engine.adapters.brokers.base import Broker
from engine.domain.orders import OPENING, BrokerError, OrderRequest, OrderResult
from engine.domain.rules import Refused, close_by_symbol, filled_meanwhile, ticket_of
from engine.adapters.brokers.mt5 import by_symbol, change, closing, constants as c, deal_reads, netting, symbol_names
from engine.adapters.brokers.mt5.accounts import settle_account
from engine.adapters.brokers.mt5.book import Book
from engine.domain.config.mt5 import MT5Config
from engine.adapters.brokers.mt5.history import History
from engine.adapters.brokers.mt5.link import TerminalLink
from engine.adapters.brokers.mt5.lost import LostAnswers
from engine.adapters.brokers.mt5.magic import ENGINE, Magics
from engine.adapters.brokers.mt5.clock import ServerClock
from engine.adapters.brokers.mt5.orders import entry_request, expiration, fresh_price, tag_for
from engine.adapters.brokers.mt5.pending import PendingWatch
from engine.adapters.brokers.mt5.rows import doubt_row, order_row, position_row, symbol_spec
from engine.adapters.brokers.mt5.send import Sender, plain
from engine.adapters.brokers.mt5.session import Session, Unknown

log = logging.getLogger("moonhook.mt5")

TAKEN_DAYS = 90  # a magic number seen in this much deal history is another's (``magic.py``)
# Seconds a symbol's specification is used before it is read again. Its tick value moves with
# the rate between its profit currency and the account's (USDJPY's in a USD account, EURGBP's
# with GBPUSD), and a broker widens stops levels around news: read once for the engine's life,
# risk was sized on the rate of the day it was first traded.
SPEC_SECONDS = 60.0


class MT5Broker(deal_reads.DealReads, Broker):  # the deal history's reads: deal_reads.py
    name = "mt5"
    trading_on = property(lambda self: self._session.trading_on)  # type: ignore[assignment]
    account_key = property(lambda self: self._session.account)  # type: ignore[assignment]

    def __init__(self, database: Database, config: MT5Config, clock: Callable[[], float] = time.time):
        super().__init__()
        self.config = config
        self.clock = clock
        self.book = Book(database, config.magic_base)
        self.deals, self.lost, self.whole = History(self), LostAnswers(self), deal_reads.Whole()  # deal_reads.py
        self.pending = PendingWatch(self, self.lost)  # pending orders gone without a fill, not at moonhook's asking
        self._database = database
        self._link = TerminalLink(config.module, config.host, config.port, config.timeout, lambda: self.ending)
        self._session = Session(self._link, config, self._emit, partial(settle_account, self), clock)
        self._sender = Sender(self._session, self.book, self.deals, self.lost, self.write, config)
        self._infos: dict[str, tuple[dict[str, Any], float]] = {}  # broker name -> (symbol_info, read at)
        self.magics = Magics(self)  # each plugin's magic number

    # -- connection ------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._session.connected

    async def wait_connected(self, seconds: float) -> bool:
        return await self._session.wait_up(seconds)

    @property
    def state(self) -> str:
        return self._session.state

    @property
    def server_clock(self) -> ServerClock:
        """The trade server's clock, which every time the terminal gives or reads is written in."""
        return self._session.clock

    @property
    def warnings(self) -> tuple[str, ...]:
        return tuple(self._session.warnings)

    def helper_pids(self) -> list[int]:
        return [] if self._link.pid is None else [self._link.pid]

    async def start(self) -> None:
        """Connects once; if MetaTrader cannot be reached, ``run`` goes on trying."""
        try:
            await self._connect()
        except BrokerError as e:
            if not self._session.retry.wait:   # failed after the login: the clock's read
                self._session.retry.failed(e)
            log.error("MetaTrader 5: %s; trying again in %s", e, self._session.retry.later())

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Reconciles what was left unknown, then polls deals and watches the connection."""
        if self.connected:
            await self._reconcile()
        task_status.started()
        retry = self._session.retry   # a failed try, the start's too, waits its turn (``retry.py``)
        while True:
            if not self.connected:
                await retry.turn()
                try:
                    await self._connect()
                    await self._reconcile()
                    if not self.connected:
                        raise BrokerError(f"lost again while catching up ({self.state})")
                except BrokerError as e:
                    if not retry.wait:   # failed after the login (the clock's read), or lost catching up
                        retry.failed(e)
                    log.warning("MetaTrader 5: %s; trying again in %s", e, retry.later())
                    continue
            await self._session.wait_lost(self.config.poll_seconds)
            if self.connected:
                await self._poll()

    async def stop(self) -> None:
        await self._session.close()

    def retry_login(self, config: MT5Config) -> bool:
        """``[mt5]`` of a saved moonhook.toml: after a refused login, one that changes only its login, password or
        server is taken and tried at once, not when the next try was due (minutes away); whether it was."""
        login = ("login", "password", "server")
        if self.connected or not self._session.retry.refusals or config == self.config or replace(
                config, **{k: getattr(self.config, k) for k in login}) != self.config:
            return False
        self.config = self._session.config = config
        log.info("MetaTrader 5: the login saved in the settings is tried now")
        self._session.retry.now()
        return True

    async def adopt(self) -> None:
        await self.magics.adopt()

    async def _connect(self) -> None:
        self._infos.clear()  # the login may be another account, at another server (read there once it is up)
        await self._session.connect()

    async def query(self, fn: str, *args: Any, deadline: float | None = None, **kwargs: Any) -> Any:
        """``fn`` in the worker (``Session.call``): its value, or None; Unknown if it cannot be reached."""
        return await self._session.call(fn, *args, deadline=deadline, **kwargs)

    async def write(self, fn: Callable[..., Any], *args: Any) -> Any:
        """A write to the book, in the engine's turn (see ``Database.writable``)."""
        await self._database.writable()
        return fn(*args)

    # -- what the engine reads -------------------------------------------------------------

    async def account(self) -> dict[str, Any]:
        a = await self._read("account_info")
        return {k: a.get(k) for k in ("balance", "equity", "margin", "margin_free", "currency", "login", "server")}

    async def symbol(self, symbol: str) -> dict[str, Any] | None:
        info = await self._info(symbol)
        if info is None:
            return None
        return symbol_spec(symbol, info, self._session.currency)

    async def unknown_symbol(self, symbol: str) -> str:
        return await symbol_names.unknown(self, symbol)   # with the names the broker has for it

    async def price(self, symbol: str) -> dict[str, Any] | None:
        if await self._info(symbol) is None:
            return None
        tick = await self._read("symbol_info_tick", self.config.to_broker(symbol), none_ok=True)
        return {"bid": tick["bid"], "ask": tick["ask"], "time": self.server_clock.utc(tick["time"])} if tick else None

    async def positions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """Every open position; those moonhook did not open have ``external`` true."""
        rows = await self._read("positions_get", **self._where(symbol))
        return [position_row(p, self.book, self.config, self.server_clock) for p in rows or ()]

    async def orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        rows = await self._read("orders_get", **self._where(symbol))
        return [order_row(o, self.book, self.config, self.server_clock) for o in rows or ()]

    async def in_doubt(self) -> list[dict[str, Any]]:
        return [doubt_row(send, self.config) for send in self.book.in_doubt()]

    def _where(self, symbol: str | None) -> dict[str, Any]:
        return {"symbol": self.config.to_broker(symbol)} if symbol is not None else {}

    async def _read(self, fn: str, *args: Any, none_ok: bool = False, **kwargs: Any) -> Any:
        try:
            value = await self.query(fn, *args, **kwargs)
        except Unknown as e:
            raise BrokerError(str(e)) from None
        if value is None and not none_ok:
            raise BrokerError(f"MetaTrader 5 {fn} gave nothing")
        return value

    async def _info(self, symbol: str) -> dict[str, Any] | None:
        """The symbol's specification, selected in Market Watch at its first use, read again
        when older than SPEC_SECONDS."""
        name = self.config.to_broker(symbol)
        known = self._infos.get(name)
        if known is not None and self.clock() - known[1] <= SPEC_SECONDS:
            return known[0]
        if known is None and not await self._read("symbol_select", name, True, none_ok=True):
            return None
        info = await self._read("symbol_info", name, none_ok=True)
        if info is None:
            self._infos.pop(name, None)
            return None
        self._infos[name] = (info, self.clock())
        return info

    # -- orders ------------------------------------------------------------------------------

    async def first_result(self, client_id: str) -> OrderResult | None:
        first = self.book.first_result(client_id)
        return None if first is None else OrderResult.from_plain(first)

    async def execute(self, request: OrderRequest) -> OrderResult:
        cid = request.client_id
        if not (isinstance(cid, str) and cid):
            return OrderResult.refused(f"client_id: required, got {cid!r}")
        first = self.book.result(cid)
        if first is not None:
            return replace(OrderResult.from_plain(first), duplicate=True)
        handler = {"market": self._enter, "pending": self._enter, "close": self._close,
                   "modify": self._modify}.get(request.kind)
        try:
            if handler is None:
                raise Refused(f"kind: expected market, pending, close or modify, got {request.kind!r}")
            result = await handler(request)
        except Refused as e:
            result = OrderResult.refused(str(e))
        except (Unknown, BrokerError) as e:
            if self.book.unsettled(cid):   # not known, with what its other sends did (a close by symbol's parts)
                return OrderResult.from_plain(self.book.cut_short(cid, str(e)))
            raise BrokerError(f"not done: {e}. {self.book.sent_so_far(cid)}") from None   # the alert waits
        if result.unknown:  # neither is written as the final result: a repeat of this client id looks again
            return result
        if (overturned := await self.write(self.book.conclude, cid, plain(result))) is not None:
            result = OrderResult.from_plain(overturned)   # a send of it overturned meanwhile (``Book.conclude``)
        if result.ok and request.kind == "pending" and result.ticket:
            await self.pending.placed(result.ticket)
        if result.ok:  # the fill, told at once; the pending orders are read only when one was placed
            await self._poll(orders=request.kind == "pending", watch=False)
        return result

    async def _enter(self, r: OrderRequest) -> OrderResult:
        if (earlier := await self._sender.sent_before(tag_for(r.client_id, r.alert_id))) is not None:
            return earlier  # a repeat: never checked against the market again
        request, fills = await self._entry(r)
        fresh = partial(self._fresh_price, r.symbol, r.side) if r.kind == "market" else None
        magic = await self.magics.number(r.plugin or ENGINE)
        return await self._sender.send(r, {**request, "magic": magic}, fills, fresh)

    async def check(self, r: OrderRequest, before: Sequence[OrderRequest] = (), seen: Any = None) -> str | None:
        """The trade server's ``order_check`` of the entry ``r``, sending nothing (the dry run's):
        None if it would take it, else why not; a stop change as ``execute`` measures it
        (``change.check``); a close is not checked."""
        if r.kind not in OPENING:
            return await change.check(self, r) if r.kind == "modify" else None
        try:
            answer = await self._read("order_check", (await self._entry(r, before))[0])
        except Refused as e:
            return str(e)
        code = answer["retcode"]
        return None if code in (0, *c.DONE_CODES) else c.describe_retcode(code, answer.get("comment"))

    async def _entry(self, r: OrderRequest, before: Sequence[OrderRequest] = ()) -> tuple[dict[str, Any], list[int]]:
        info = await self.symbol_info(r.symbol)
        await netting.check_entry(self, r, before)  # on a netting account, onto a flat symbol only
        tick = await self.tick(r.symbol)   # a pending order's price is measured from the market too
        return entry_request(r, info, tick, self.config.deviation, expiration(r, info, self.server_clock, self.clock()))

    async def _close(self, r: OrderRequest) -> OrderResult:
        if r.ticket is not None:
            ticket = ticket_of(r.ticket)
            found = await self.query("positions_get", ticket=ticket)
            if found and r.type is None:
                return await self._close_position(r, found[0], r.volume)
            if await self.query("orders_get", ticket=ticket):
                request = {"action": c.ACTION_REMOVE, "order": ticket, "comment": tag_for(r.client_id, r.alert_id)}
                return await self.pending.removal(ticket, await self._sender.send(r, request, []))
            return await self._gone(r, ticket, filled=bool(found))
        close_by_symbol(r.symbol or None, r.volume)
        mine = sorted((p for p in await self.query("positions_get", symbol=self.config.to_broker(r.symbol)) or ()
                       if self.book.plugin_of(p["magic"]) is not None
                       and (r.side is None or c.POSITION_SIDES.get(p["type"]) == r.side)),
                      key=lambda p: (p.get("time_msc") or p["time"] * 1000, p["ticket"]))  # oldest first: FIFO
        before, lost = await self._sender.closed_before(r.client_id)   # before a power cut, or a lost answer
        results = [await self._close_position(r, p, None, part=str(p["ticket"])) for p in mine]
        return await by_symbol.folded(self.lost, r, before, mine, results, lost)

    async def _close_position(self, r: OrderRequest, p: dict[str, Any], volume: float | None,
                              part: str = "") -> OrderResult:
        """Closes ``volume`` lots of position ``p`` (all of it when None): ``closing.close``."""
        return await closing.close(self, self._sender, r, p, volume, part)

    async def _modify(self, r: OrderRequest) -> OrderResult:
        row, position = await change.target(self, ticket := ticket_of(r.ticket))
        if row is None:
            return await self._gone(r, ticket)
        if (earlier := await self._sender.sent_before(tag_for(r.client_id, r.alert_id))) is not None:
            return earlier  # run again after a restart: its change is not measured against the market of now
        request = await change.request(self, r, row, position)
        result = await self._sender.send(r, request, []) if request else OrderResult(ok=True, ticket=ticket)
        return result if position else await self.pending.removal(ticket, result, "changed")   # filled meanwhile?

    async def _gone(self, r: OrderRequest, ticket: int, filled: bool = False) -> OrderResult:
        """For a request on ``ticket``, no longer open (``filled``: a removal finding a position):
        what its own send did before a restart (it closed or removed it), else refused."""
        earlier = await self._sender.sent_before(tag_for(r.client_id, r.alert_id))
        if earlier is None:
            raise filled_meanwhile(ticket) if filled else change.gone(ticket)
        return earlier

    async def settle(self, tag: str, result: OrderResult, stands: bool = False) -> OrderResult:
        """The send tagged ``tag`` is over, written down with its result (``Sender.settle``)."""
        return await self._sender.settle(tag, result, stands)

    async def _reconcile(self) -> None:
        """At start and after a reconnection: every send left unknown is resolved; positions
        opened outside moonhook are listed, not touched. If the connection is lost meanwhile,
        what is left waits: run reconnects, then reconciles again."""
        try:
            await self.deals.start()
            await self.pending.start()
            # read here, not at a plugin's first order, which a long history would hold up
            await self.magics.read(TAKEN_DAYS)
            for send in self.book.unresolved():
                await self._sender.resolve_left(send["tag"])
            external = [p for p in await self.query("positions_get") or ()
                        if self.book.plugin_of(p["magic"]) is None]
        except Unknown:
            return
        if external:
            log.info("MetaTrader 5: opened outside moonhook, shown and not touched (%d): %s", len(external),
                     ", ".join(f"position {p['ticket']} {p['symbol']}" for p in external[:10]))
        await self._poll()

    async def _poll(self, orders: bool = True, watch: bool = True) -> None:
        """The deals' events (and with ``orders`` the pending orders'), and with ``watch`` the terminal's
        state first (``Session.watch``: another account logged in to, its history is not read as this one's);
        not right after an order, whose send has just compared the account (``Session.same_account``)."""
        try:
            if watch:
                await self._session.watch()
            for send in self.book.unresolved():  # those being sent now are left to their sender
                await self._sender.resolve_left(send["tag"])
            for event in await self.deals.poll():
                self._emit(event)
            for event in await self.pending.poll() if orders else ():
                self._emit(event)
        except Unknown:
            pass  # the connection is lost: run reconnects, then reconciles

    async def symbol_info(self, symbol: str | None) -> dict[str, Any]:
        """The terminal's ``symbol_info`` of ``symbol``; Refused for one the broker does not know."""
        if not symbol:
            raise Refused("symbol: required")
        info = await self._info(symbol)
        if info is None:
            raise Refused(f"unknown symbol {symbol} at the broker ({self.config.to_broker(symbol)})")
        return info

    async def tick(self, symbol: str) -> dict[str, Any]:
        """The bid and ask now; Refused without them (a closed market)."""
        tick = await self.price(symbol)
        if not tick or not tick["bid"] or not tick["ask"]:
            raise Refused(f"no price for {symbol}: the market may be closed")
        return tick

    async def _fresh_price(self, symbol: str, side: str, request: dict[str, Any]) -> float:
        return fresh_price(side, await self.tick(symbol), request, await self.symbol_info(symbol))

