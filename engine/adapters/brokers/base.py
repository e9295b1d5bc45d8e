"""The broker interface: what the pipeline asks of the paper broker and of MetaTrader 5 alike.

Every request carries a client id derived from its alert and plugin. A broker refuses to
execute a client id twice: asked again, it answers with the first result, marked
``duplicate``. That is what makes recovery safe: replaying an alert after a crash can only
ever find the orders it already sent, never send them again.

Fills and closes are reported as events through the listener the engine sets, whether they
follow a request (a market fill) or a price (a pending order triggered, a stop hit).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Awaitable, Callable, Iterable, Sequence

import trio

from engine.adapters.storage.untold import UntoldEvents
from engine.domain.trade_pages import TradeKey
from engine.domain.orders import Event, Listener, OrderRequest, OrderResult

Openers = Callable[[set[int]], Awaitable[dict[int, str]]]  # positions -> the plugin whose order opened each
Seen = tuple[str, float, "float | None"]  # an alert's symbol, market price and timenow, for a dry run


EARLY_EVENTS = 1000  # events kept for a listener that is not there yet
CONNECTED_POLL = 0.5  # seconds between two looks at a lost connection (wait_connected)


class Broker(ABC):
    """What the engine needs of a broker. All answers are plain data, as the scripts see them."""

    name: str = "broker"
    state: str = "connected"  # what /health shows: connected, or why not
    warnings: tuple[str, ...] = ()  # what the trader should know while connected (a netting account ...)
    # The highest alert id the broker's own records outside the journal carry (MetaTrader's tags):
    # the journal numbers its alerts past it. None such on paper, whose books are in the journal's file.
    alerts_seen: int = 0
    # The newest alert journaled before this start: only those can have had an order sent in a run
    # whose records a journal restored from a backup lacks (MetaTrader looks for them by tag).
    alerts_journaled: int = 0
    # The client ids, each with its plugin, an entry of an alert may have had from the plugins loaded
    # now (``execution.entry_ids``); None until they are loaded. MetaTrader reads a plugin's magic
    # number a restored file lacks off its orders' comments by them (``Broker.adopt``).
    entry_ids: Callable[[int], list[tuple[str, str]]] | None = None
    # Where a broker keeps the events it booked until the engine has told them (the paper broker's
    # books, MetaTrader's deals); None: told as they come, and a crash before they are told loses them.
    untold: UntoldEvents | None = None
    # The account the broker trades on, as it says itself ("paper"; MetaTrader's "mt5 LOGIN@SERVER",
    # set at each connection): the journal's last is compared with it (``account_change.py``). None: not
    # known (never connected yet, or a broker that does not say), moonhook.toml's account is taken.
    trading_on: str | None = None
    ending = False  # the engine stops: its cancels of the calls in flight are no fault (``stopping``)

    def __init__(self) -> None:
        self._listener: Listener | None = None
        self._early: list[Event] = []  # told before anyone listened (at ``start``): kept for the listener

    def listen(self, listener: Listener) -> None:
        """``listener(event)`` is called, without awaiting, for every fill and close, whenever
        the connection is lost or found again, and for the broker's notices; first for what was
        told before (a notice at ``start``), and for what a stop left untold (``untold``), oldest first."""
        self._listener = listener
        early, self._early = self._early, []
        for event in [*early, *(self.untold.left() if self.untold is not None else ())]:
            listener(event)

    def _emit(self, event: Event) -> None:
        if self._listener is not None:
            self._listener(event)
        elif len(self._early) < EARLY_EVENTS:  # a broker no one will ever listen to keeps no more
            self._early.append(event)

    async def start(self) -> None:
        """Connects; called once before any other call."""

    def told(self, event: Event) -> None:
        """The engine has told ``event`` (the trades chat, the plugins' hooks): a broker keeping
        its events forgets it."""
        if self.untold is not None:
            self.untold.told(event)

    async def adopt(self) -> None:
        """Takes back what the broker's records outside the journal say is the plugins' (``entry_ids``
        now set): MetaTrader's magic numbers a file restored from a backup lacks. Nothing by default."""

    def stopping(self) -> None:
        """The engine is about to cancel what it runs, the broker's calls in flight among them (its stop): a call
        cut short from now on is the stop's doing, not a fault (``ending``; MetaTrader's link says it quietly)."""
        self.ending = True

    async def stop(self) -> None:
        """Disconnects; nothing is called after it."""

    def retry_login(self, config: Any) -> bool:
        """The broker's section of a saved moonhook.toml (``[mt5]``): taken at once if it corrects a login the
        broker refused, else left for the next start; whether it was taken. Never, by default."""
        return False

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The broker's own background work (watching its connection, reading what happened
        at the broker), in the engine's nursery until it is cancelled. None by default."""
        task_status.started()

    @property
    def connected(self) -> bool:
        return True

    async def wait_connected(self, seconds: float) -> bool:
        """Waits up to ``seconds`` for a lost connection to be found again; whether it is. This
        one looks every CONNECTED_POLL seconds; a broker that knows the moment says it sooner."""
        with trio.move_on_after(seconds):
            while not self.connected:
                await trio.sleep(CONNECTED_POLL)
        return self.connected

    @abstractmethod
    async def account(self) -> dict[str, Any]:
        """{balance, equity, margin, margin_free, currency}"""

    @abstractmethod
    async def symbol(self, symbol: str) -> dict[str, Any] | None:
        """{digits, point, volume_min, volume_step, volume_max, contract_size, tick_size,
        tick_value, account_is_base}, and ``commission``, what one lot pays to open and close (the
        round trip, in the account's currency) where it is known in advance (the paper broker's;
        not on MetaTrader 5); None for a symbol the broker does not know. ``account_is_base``: the
        account's currency is the pair's base (USDJPY on a USD account), its profit converted at
        its own price, a loss at the stop at the stop's (``engine/domain/risk.py``)."""

    async def symbol_seen(self, symbol: str, seen: Seen | None) -> dict[str, Any] | None:
        """``symbol`` as ``symbol`` says it once ``seen``, an alert's symbol, market price and
        timenow, is quoted, recording nothing: what a dry run sizes with where the broker trades on alerts'
        prices (``quote``); as ``symbol`` where the broker has its own."""
        return await self.symbol(symbol)

    @abstractmethod
    async def price(self, symbol: str) -> dict[str, Any] | None:
        """{bid, ask, time}, or None when no price is known."""

    @abstractmethod
    async def positions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """[{ticket, symbol, side, volume, price_open, sl, tp, profit, plugin, comment, opened_at}]"""

    @abstractmethod
    async def orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """Pending orders: [{ticket, symbol, side, type, price, volume, sl, tp, plugin, comment, created_at,
        expires (Unix time, None: it waits until filled or cancelled)}]"""

    @abstractmethod
    async def execute(self, request: OrderRequest) -> OrderResult:
        """Executes ``request`` once per client id; a refused order is ``ok=False`` with the
        reason, never an exception. A client id seen before answers its first result. Raises
        BrokerError when the broker cannot serve (disconnected) and nothing was sent: the alert
        waits for it and runs again, and a script is told it cannot answer now."""

    @abstractmethod
    async def history(self, since: float | None = None) -> list[dict[str, Any]]:
        """The deals made (each fill: a position opened, or closed whole or in part) at or after
        ``since`` (Unix time; None: all the broker keeps), oldest first: [{ticket (the deal's),
        position, symbol, side, entry ("in" or "out"), volume, price, profit, commission, swap,
        time, comment, magic}]. ``profit`` is gross (an "in" deal's is 0); ``commission`` is all
        the deal cost (MetaTrader's fee too); ``swap`` is 0 where the broker charges none;
        ``magic`` is None where the broker has none. Commission charged apart from the deals (at
        the end of a day) is a deal of its own: side None, position 0, entry "in", its amount
        the commission. Money paid in or out (a deposit, a withdrawal; the broker's corrections)
        is a row of entry "balance", side None, position 0, its signed ``amount``, its profit,
        commission and swap 0 (it is no trading). Raises BrokerError when the broker cannot be asked."""

    async def trade_summary(self, limit: int, before: TradeKey | None = None,
                            openers: Openers | None = None) -> dict[str, Any] | None:
        """The whole history summed up where the broker can query it, so that the Trades page
        reads what it shows, not every deal: {closed (how many positions are closed), page (the
        ``limit`` positions closed last below the key ``before``, (closed_at, position): the last
        shown, engine/domain/trade_pages.py; newest first), newer (how many closed positions are
        at or above ``before``: 0 without it), deals (those
        positions' deals, oldest first, as ``history`` gives them), by_opener ({the plugin whose
        order opened the position, None for none: {trades (positions with a deal out), profit,
        commission, swap}}, unrounded), first (the first deal's time, None without deals), moves
        ([(time, profit + commission + swap, money paid in or out)] of each deal that moved the
        balance or closed, oldest first) or, where the curve is drawn from its hours
        (engine/domain/curve.py's ``by_hours``), None and blocks (the hours' ``Block``, oldest
        first), and where payments move the balance, profit_blocks (the same of the profit alone,
        drawn when the balance is not known)}. ``openers``: the plugin whose order opened each of
        some positions (the order ledger's), asked by a broker that keeps no opener of its own
        (MetaTrader 5). None (the default): the caller makes them of ``history``. Raises
        BrokerError when the broker cannot be asked."""
        return None

    async def closed_deals(self, since: float) -> list[dict[str, Any]] | None:
        """The deals, oldest first, as ``history`` gives them, of every position closed at
        ``since`` or later, wherever it opened, where the broker can find those positions without
        reading the history before them; None (the default): the caller looks in ``history``.
        Raises BrokerError when the broker cannot be asked."""
        return None

    async def position_deals(self, positions: Iterable[int]) -> list[dict[str, Any]] | None:
        """Every deal, oldest first, as ``history`` gives them, of each of ``positions``, where the
        broker can read a position's deals apart (MetaTrader 5's ``history_deals_get(position=)``):
        a trade held longer than a read of recent history reaches is made of them, not of the whole
        history. None (the default): the caller reads the whole history. Raises BrokerError when the
        broker cannot be asked."""
        return None

    async def unknown_symbol(self, symbol: str) -> str:
        """Why ``symbol``, which ``symbol()`` does not know, is refused: its alert's error."""
        return f"unknown symbol {symbol} at the broker"

    async def check(self, request: OrderRequest, before: Sequence[OrderRequest] = (),
                    seen: Seen | None = None) -> str | None:
        """Why the broker would refuse the entry or stop change (a modify) ``request`` now, in the
        words ``execute`` would, sending nothing (a dry run's question); None if it would take it
        (a change to what is there already is done), or cannot tell beforehand (a close). ``before``:
        the orders its alert sends ahead of it (a reversal's closes), not sent either. ``seen``: the
        symbol and market price its alert carries, which a broker trading on alerts' prices
        (``quote``) would take first: measured from it. Raises BrokerError when the broker cannot
        be asked."""
        return None

    async def first_result(self, client_id: str) -> OrderResult | None:
        """The result ``client_id`` had if it was executed, or may have been (its answer lost, not
        found yet: ``unknown``, looked for again by ``execute``, never sent again), None if it was
        not (or the broker keeps no such record). ``execute`` would answer it again."""
        return None

    async def in_doubt(self) -> list[dict[str, Any]]:
        """The entries whose answer was lost, not found at the broker yet, which it may still
        execute (a slow trade server, a bridge's far side): [{client_id, symbol, side, type,
        volume, comment (the one its position or order will carry)}]; none where no answer is
        ever lost (the paper broker)."""
        return []

    def helper_pids(self) -> list[int]:
        """The processes the broker runs beside the engine (the monitor counts their memory)."""
        return []

    def quote_of(self, symbol: str, price: float, fired: float | None = None) -> dict[str, Any] | None:
        """The quote (bid, ask) ``quote`` would make of an alert's ``price`` (its alert ``fired``
        then, if it says), recording nothing; None where ``quote`` would not take it, and where the
        broker has its own prices (a live one)."""
        return None

    async def quote(self, symbol: str, price: float, time: float, fired: float | None = None) -> None:
        """A price seen in an alert, at ``time``; ``fired``: when TradingView fired the alert, if it
        says (its ``timenow``). The paper broker trades on it; a live broker has its own."""
