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
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import trio

KINDS = ("market", "pending", "close", "modify")
SIDES = ("buy", "sell")
PENDING_TYPES = ("limit", "stop")


class BrokerError(Exception):
    """The broker cannot serve at all (disconnected, misconfigured): not a refused order."""


def shallow(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, without ``asdict``'s deep copy: these hold plain values,
    and the copy cost half a millisecond per alert."""
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


@dataclass(frozen=True)
class OrderRequest:
    """One thing to do at the broker.

    market: ``symbol``, ``side``, ``volume``, optional ``sl``/``tp``; ``price`` is the price
    the alert saw (the paper broker fills at it; a real broker uses its own quote).
    pending: also ``type`` ("limit" | "stop") and ``price``.
    close: ``ticket`` (a position, optionally ``volume`` for part of it; or a pending order,
    which is cancelled), or ``symbol`` with an optional ``side``: every matching position.
    modify: ``ticket`` with ``sl`` and/or ``tp`` (0 removes one); a pending order's ``price``.
    """

    kind: str
    client_id: str
    symbol: str | None = None
    side: str | None = None
    volume: float | None = None
    price: float | None = None
    type: str | None = None
    sl: float | None = None
    tp: float | None = None
    ticket: int | None = None
    comment: str | None = None
    plugin: str | None = None
    alert_id: int | None = None

    def with_changes(self, changes: dict[str, Any]) -> "OrderRequest":
        return replace(self, **changes)

    def to_plain(self) -> dict[str, Any]:
        """As a script's ``on_order`` sees it."""
        return {k: v for k, v in shallow(self).items() if v is not None}


@dataclass(frozen=True)
class OrderResult:
    ok: bool
    ticket: int | None = None
    price: float | None = None
    volume: float | None = None
    error: str | None = None
    duplicate: bool = False   # this client id ran before; this is its first result
    closed: list[int] = field(default_factory=list)  # tickets a close by symbol closed

    @classmethod
    def refused(cls, error: str) -> "OrderResult":
        return cls(ok=False, error=error)

    def to_plain(self) -> dict[str, Any]:
        """As ``orders.*`` answers a script: {ok=true, ticket=, price=, volume=} or {ok=false, error=}."""
        out = {k: v for k, v in shallow(self).items() if v is not None and v != [] and v is not False}
        if "closed" in out:
            out["closed"] = list(out["closed"])
        out["ok"] = self.ok
        return out

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> "OrderResult":
        return cls(**{k: v for k, v in data.items() if k in _RESULT_FIELDS})


_RESULT_FIELDS = {"ok", "ticket", "price", "volume", "error", "duplicate", "closed"}


@dataclass(frozen=True)
class Fill:
    """A deal: a position opened ("in") or reduced or closed ("out")."""

    deal: int
    order: int
    position: int
    symbol: str
    side: str                 # the deal's direction
    volume: float
    price: float
    entry: str                # in | out
    reason: str               # market | pending | close | sl | tp
    time: float
    profit: float = 0.0       # gross, in the account currency ("out" deals)
    commission: float = 0.0   # negative, as MetaTrader books it: balance moves by profit + commission
    plugin: str | None = None
    client_id: str | None = None
    alert_id: int | None = None

    def to_plain(self) -> dict[str, Any]:
        return {k: v for k, v in shallow(self).items() if v is not None}


@dataclass(frozen=True)
class Closed:
    """A position that is now fully closed, as ``on_close`` sees it: ``volume`` and ``profit``
    (gross) add up every "out" deal of it, partial closes included; ``price_close`` is the last."""

    ticket: int
    symbol: str
    side: str
    volume: float
    price_open: float
    price_close: float
    profit: float
    reason: str               # close | sl | tp
    time: float
    plugin: str | None = None
    sl: float | None = None
    tp: float | None = None

    def to_plain(self) -> dict[str, Any]:
        return {k: v for k, v in shallow(self).items() if v is not None}


@dataclass(frozen=True)
class Connection:
    """The broker lost its connection to the trading server (``connected`` False), or has it
    again; ``detail`` says why, as the broker knows it."""

    connected: bool
    detail: str = ""


Event = Fill | Closed | Connection
Listener = Callable[[Event], None]


class Broker(ABC):
    """What the engine needs of a broker. All answers are plain data, as the scripts see them."""

    name: str = "broker"
    state: str = "connected"  # what /health shows: connected, or why not

    def __init__(self) -> None:
        self._listener: Listener | None = None

    def listen(self, listener: Listener) -> None:
        """``listener(event)`` is called, without awaiting, for every fill and close, and
        whenever the connection is lost or found again."""
        self._listener = listener

    def _emit(self, event: Event) -> None:
        if self._listener is not None:
            self._listener(event)

    async def start(self) -> None:
        """Connects; called once before any other call."""

    async def stop(self) -> None:
        """Disconnects; nothing is called after it."""

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The broker's own background work (watching its connection, reading what happened
        at the broker), in the engine's nursery until it is cancelled. None by default."""
        task_status.started()

    @property
    def connected(self) -> bool:
        return True

    @abstractmethod
    async def account(self) -> dict[str, Any]:
        """{balance, equity, margin, margin_free, currency}"""

    @abstractmethod
    async def symbol(self, symbol: str) -> dict[str, Any] | None:
        """{digits, point, volume_min, volume_step, volume_max, contract_size, tick_size,
        tick_value}, or None for a symbol the broker does not know."""

    @abstractmethod
    async def price(self, symbol: str) -> dict[str, Any] | None:
        """{bid, ask, time}, or None when no price is known."""

    @abstractmethod
    async def positions(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """[{ticket, symbol, side, volume, price_open, sl, tp, profit, plugin, comment, opened_at}]"""

    @abstractmethod
    async def orders(self, symbol: str | None = None) -> list[dict[str, Any]]:
        """Pending orders: [{ticket, symbol, side, type, price, volume, sl, tp, plugin, comment, created_at}]"""

    @abstractmethod
    async def execute(self, request: OrderRequest) -> OrderResult:
        """Executes ``request`` once per client id; a refused order is ``ok=False`` with the
        reason, never an exception. A client id seen before answers its first result."""

    async def quote(self, symbol: str, price: float, time: float) -> None:
        """A price seen in an alert. The paper broker trades on it; a live broker has its own."""
