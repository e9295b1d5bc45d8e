"""Orders and what brokers answer: the requests the pipeline sends, their results, and the
events (fills, closes, connection changes) a broker reports. Plain values, no I/O.

Every request carries a client id derived from its alert and plugin; a broker executes a
client id once (see ``engine.adapters.brokers.base``).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable

KINDS = ("market", "pending", "close", "modify")
OPENING = ("market", "pending")  # the kinds that open a position (or a pending order for one)
SIDES = ("buy", "sell")
PENDING_TYPES = ("limit", "stop")


class BrokerError(Exception):
    """The broker cannot serve at all (disconnected, misconfigured): not a refused order."""


def ours(row: dict[str, Any]) -> bool:
    """Whether a broker's position or pending order row was placed through moonhook (by a
    plugin, an alert or an admin): one placed by hand in the terminal names no plugin."""
    return row.get("plugin") is not None


def shallow(obj: Any) -> dict[str, Any]:
    """A dataclass's fields as a dict, without ``asdict``'s deep copy: these hold plain values,
    and the copy cost half a millisecond per alert."""
    return {name: getattr(obj, name) for name in obj.__dataclass_fields__}


@dataclass(frozen=True)
class OrderRequest:
    """One thing to do at the broker.

    market: ``symbol``, ``side``, ``volume``, optional ``sl``/``tp``; ``price`` is the price
    the alert saw (the paper broker fills at it; a real broker uses its own quote).
    pending: also ``type`` ("limit" | "stop") and ``price``; ``expiry``, the seconds it may wait
    at the broker from its placing before it is removed (None: until filled or cancelled).
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
    expiry: float | None = None

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
    unknown: bool = False     # not ok, yet it may have reached the broker: never to be retried as another order
    note: str | None = None   # done, and what else met it: a close by symbol's position closed before it (its sl)

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
        return cls(**{k: v for k, v in data.items() if k in RESULT_FIELDS})


RESULT_FIELDS = {"ok", "ticket", "price", "volume", "error", "duplicate", "closed", "unknown", "note"}


@dataclass(frozen=True)
class Fill:
    """A deal: a position opened ("in") or reduced or closed ("out"). The balance moves by its
    ``profit + commission + swap``."""

    hook = "on_fill"   # (not a field) the plugins' hook it runs; after "on_", the run's origin

    deal: int
    order: int
    position: int
    symbol: str
    side: str                 # the deal's direction
    volume: float
    price: float
    entry: str                # in | out
    reason: str               # market | pending | close | sl | tp | stop_out
    time: float
    profit: float = 0.0       # gross, in the account currency ("out" deals)
    commission: float = 0.0   # all the deal cost (MetaTrader's fee too), negative as MetaTrader books it
    plugin: str | None = None
    client_id: str | None = None
    alert_id: int | None = None
    swap: float = 0.0         # the overnight interest a closing deal books (MetaTrader's; 0 on paper)
    left: float | None = None  # an "out" deal's: the lots of the position still open after it (0: closed whole)
    again: bool | None = None  # told at a start: booked before a crash, which came before it was told (or while)
    asked: float | None = None   # an opening deal of part of its order (MetaTrader): the lots the order asked,
    filled: float | None = None  # and those of it filled so far, this deal's included

    def to_plain(self) -> dict[str, Any]:
        return {k: v for k, v in shallow(self).items() if v is not None}


@dataclass(frozen=True)
class Closed:
    """A position that is now fully closed, as ``on_close`` sees it: ``volume`` and ``profit``
    (gross) add up every "out" deal of it, partial closes included; ``price_close`` is the last.
    ``commission`` (fees too) and ``swap`` add up every deal of it, the opening one too: the
    balance moved by ``profit + commission + swap`` (its net), in ``currency``, the account's."""

    hook = "on_close"   # (not a field)

    ticket: int
    symbol: str
    side: str
    volume: float
    price_open: float
    price_close: float
    profit: float
    reason: str               # close | sl | tp | stop_out (the broker's stop-out)
    time: float
    plugin: str | None = None
    sl: float | None = None
    tp: float | None = None
    commission: float = 0.0
    swap: float = 0.0
    currency: str | None = None
    again: bool | None = None  # told at a start: booked before a crash, which came before it was told (or while)

    @property
    def net(self) -> float:
        """What the position made, after its commission and swap (as the trades' view counts it)."""
        return round(self.profit + self.commission + self.swap, 2) + 0.0

    def to_plain(self) -> dict[str, Any]:
        return {k: v for k, v in shallow(self).items() if v is not None}


@dataclass(frozen=True)
class Connection:
    """The broker lost its connection to the trading server (``connected`` False), or has it
    again; ``detail`` says why, as the broker knows it. ``at_start``: not lost, never had: the
    start could not connect."""

    connected: bool
    detail: str = ""
    at_start: bool = False


@dataclass(frozen=True)
class Dropped:
    """A pending order that left the book without a fill and without moonhook asking:
    ``reason`` "rejected" when its price came (not enough free margin, as MetaTrader rejects it
    at activation), "cancelled" at the broker (deleted in the terminal), or "expired". The
    administrators are told, and the plugins of its symbol see it in ``on_cancel``."""

    hook = "on_cancel"   # (not a field)

    ticket: int
    symbol: str
    side: str
    type: str                 # limit | stop
    volume: float
    price: float              # where it would have filled
    reason: str
    detail: str               # why, as the broker says it
    time: float
    plugin: str | None = None
    alert_id: int | None = None
    again: bool | None = None  # told at a start: booked before a crash, which came before it was told (or while)

    @classmethod
    def expired(cls, ticket: int, symbol: str, side: str, type: str, volume: float, price: float, placed_at: float,
                expires: float, plugin: str | None, alert_id: int | None) -> "Dropped":
        """An order removed when the expiry it was given came (the paper broker's, replay's)."""
        return cls(ticket, symbol, side, type, volume, price, "expired",
                   f"its expiry came, {round(expires - placed_at)} s after it was placed", expires, plugin, alert_id)

    def to_plain(self) -> dict[str, Any]:
        return {k: v for k, v in shallow(self).items() if v is not None}


@dataclass(frozen=True)
class Notice:
    """What the administrators should know of the broker (a netting account; Algo Trading switched
    off, or on again; a login refused after a loss). ``key`` throttles repeats of one notice."""

    text: str
    key: str


STOP_OUT = "stop_out"   # the close reason of a stop-out (MetaTrader 5's deal reason SO)


@dataclass(frozen=True)
class StopOut:
    """One stop-out: the broker closed positions because the account's margin level fell below
    its stop-out level, those closed in one go (on one quote on paper, in one read of MetaTrader's
    history). Told once to the administrators (``core/stopouts.py``), never to the plugins (each
    close is, as ``on_close`` with the reason ``stop_out``). ``positions``: each one's ticket,
    symbol, side, volume, price_close, net, plugin and ``said``, the closing deal's comment where
    the broker wrote the account's state ("[so 36.39%/1800.00/4946.00]": margin level, equity,
    margin), None otherwise."""

    positions: tuple[dict[str, Any], ...]
    time: float
    currency: str | None = None
    again: bool | None = None  # told at a start: booked before a crash, which came before it was told (or while)
    more: bool | None = None   # more of the last stop-out told (MetaTrader's closes of one go, read by a later poll)

    @classmethod
    def of(cls, closes: list[tuple[Closed, str | None]]) -> "StopOut | None":
        """The stop-out of the (Closed, its deal's comment) pairs that one go closed, or None
        when none of them was a stop-out's."""
        stopped = [(c, said) for c, said in closes if c.reason == STOP_OUT]
        if not stopped:
            return None
        return cls(tuple({"ticket": c.ticket, "symbol": c.symbol, "side": c.side, "volume": c.volume,
                          "price_close": c.price_close, "net": c.net, "plugin": c.plugin, "said": said}
                         for c, said in stopped), stopped[0][0].time, stopped[0][0].currency)

    def to_plain(self) -> dict[str, Any]:
        return {k: v for k, v in shallow(self).items() if v is not None}


@dataclass(frozen=True)
class Overturned:
    """A request the broker answered refused, its answer lost and judged not done (a removal whose
    order was still there), that the trade server did after all: its order's record, and its alert's,
    are asked of the broker again (``Broker.first_result``). Told to no plugin: the order was theirs."""

    client_id: str
    again: bool | None = None  # told at a start: booked before a crash, which came before it was told (or while)

    def to_plain(self) -> dict[str, Any]:
        return {k: v for k, v in shallow(self).items() if v is not None}


Event = Fill | Closed | Dropped | Connection | Notice | StopOut | Overturned
Listener = Callable[[Event], None]
