"""The alert: one trading instruction from TradingView, validated and normalised."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any


class AlertError(ValueError):
    """An alert that cannot be accepted. ``field`` names what is wrong (None: the whole body)."""

    def __init__(self, field: str | None, message: str):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


class Action(str, Enum):
    BUY = "buy"
    SELL = "sell"
    BUY_LIMIT = "buylimit"
    SELL_LIMIT = "selllimit"
    BUY_STOP = "buystop"
    SELL_STOP = "sellstop"
    CLOSE_LONG = "closelong"
    CLOSE_SHORT = "closeshort"
    CLOSE_ALL = "closeall"
    CLOSE = "close"
    CANCEL_LONG = "cancellong"
    CANCEL_SHORT = "cancelshort"
    CANCEL_ALL = "cancelall"
    CANCEL = "cancel"
    NEW_SLTP = "newsltp"
    TREND = "trend"

    @property
    def is_entry(self) -> bool:
        return self in _ENTRIES

    @property
    def is_pending(self) -> bool:
        return self in _PENDING

    @property
    def is_cancel(self) -> bool:
        """Removes pending orders (the symbol's, or every one with cancelall)."""
        return self in _CANCELS

    @property
    def side(self) -> str | None:
        """"buy" or "sell" for entries, None otherwise."""
        if self in (Action.BUY, Action.BUY_LIMIT, Action.BUY_STOP):
            return "buy"
        if self in (Action.SELL, Action.SELL_LIMIT, Action.SELL_STOP):
            return "sell"
        return None


_PENDING = frozenset({Action.BUY_LIMIT, Action.SELL_LIMIT, Action.BUY_STOP, Action.SELL_STOP})
_ENTRIES = frozenset({Action.BUY, Action.SELL}) | _PENDING
_CANCELS = frozenset({Action.CANCEL, Action.CANCEL_LONG, Action.CANCEL_SHORT, Action.CANCEL_ALL})

# Words traders and TradingView use for the same command.
ACTION_ALIASES: dict[str, Action] = {
    **{a.value: a for a in Action},
    "long": Action.BUY,
    "short": Action.SELL,
    "buy_limit": Action.BUY_LIMIT,
    "sell_limit": Action.SELL_LIMIT,
    "buy_stop": Action.BUY_STOP,
    "sell_stop": Action.SELL_STOP,
    "close_long": Action.CLOSE_LONG,
    "close_short": Action.CLOSE_SHORT,
    "close_all": Action.CLOSE_ALL,
    "cancel_long": Action.CANCEL_LONG,
    "cancel_short": Action.CANCEL_SHORT,
    "cancel_all": Action.CANCEL_ALL,
    "exit": Action.CLOSE,
    "flat": Action.CLOSE,
}

# Names a size, a stop or a target go by in other bots' messages (TradersPost's quantity and stopLoss,
# TradingView's {{strategy.order.contracts}}, ...): kept as extra fields for the plugins, never read as
# the entry's (Alert.unread).
LOOKALIKES = {
    "size": frozenset({"qty", "quantity", "contracts", "contract", "size", "amount", "lot", "lotsize", "lot_size"}),
    "sl": frozenset({"stop_loss", "stoploss", "stop_price", "stopprice", "sl_price", "slprice"}),
    "tp": frozenset({"take_profit", "takeprofit", "tp_price", "tpprice", "profit_target"}),
}

TREND_STATES = ("up", "down", "flat")
POSITIONS = ("long", "short", "flat")  # TradingView's {{strategy.market_position}}


@dataclass(frozen=True)
class Alert:
    """A parsed alert. ``symbol`` is the broker's name for it; ``raw_symbol`` what was sent.

    ``action`` is None for an alert that carries no trading command (plugins still see it).
    ``extra`` keeps every field of a JSON alert that is not one of the fields below.
    """

    action: Action | None
    symbol: str | None = None
    raw_symbol: str | None = None
    price: float | None = None
    volume: float | None = None
    risk: float | None = None
    risk_amount: float | None = None  # the money (the account's currency) lost at the stop
    units: float | None = None       # the size in units (TradingView's contracts), lots = units / contract size
    position: str | None = None      # a strategy's position after this order: long, short or flat (strategy.py)
    position_size: float | None = None  # its size then, in units (0 when flat)
    sl: float | None = None
    tp: float | None = None
    sl_pips: float | None = None
    tp_pips: float | None = None
    ttl: float | None = None         # seconds after receipt past which it expires (engine/core/expiry.py)
    expiry: float | None = None      # seconds a pending order waits at the broker before it is removed
    timenow: float | None = None     # when TradingView fired it ({{timenow}}), Unix seconds: its age counts from then
    id: str | None = None
    comment: str | None = None
    timeframe: str | None = None
    state: str | None = None
    source: str = "json"
    extra: dict[str, Any] = field(default_factory=dict)

    def to_plain(self) -> dict[str, Any]:
        """The alert as plugins see it: plain data, the extra fields beside the known ones."""
        out: dict[str, Any] = dict(self.extra)
        for name in _PLAIN_FIELDS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value.value if isinstance(value, Action) else value
        if self.action is not None and self.action.side:
            out["side"] = self.action.side
        return out

    @property
    def market_price(self) -> float | None:
        """The market price of ``symbol`` the alert saw, which a broker trading on alerts' prices
        (paper) quotes before deciding it: its ``price``, unless that is a pending order's trigger."""
        if self.symbol and self.price and not (self.action and self.action.is_pending):
            return self.price
        return None

    def unread(self, what: str) -> str | None:
        """The extra field whose name gives ``what`` ("size", "sl" or "tp", LOOKALIKES) in other
        bots' and templates' messages (``"contracts"``, ``"stop_loss"``...): moonhook does not read it."""
        return next((key for key in self.extra if key.strip().lower() in LOOKALIKES[what]), None)

    @classmethod
    def from_plain(cls, data: dict[str, Any]) -> "Alert":
        """The alert ``to_plain`` gave (as journaled), for recovery: no check is run again. An
        older moonhook's row is taken as that version read it: a ``timenow`` it kept as its text
        stays an extra field (the alert's age counts from its receipt), not a time to compare."""
        known = {k: data[k] for k in _PLAIN_FIELDS if k in data}
        extra = {k: v for k, v in data.items() if k not in _PLAIN_FIELDS and k not in _DERIVED}
        if isinstance(known.get("timenow"), (str, bool)):   # an older moonhook's, which kept it unread, as sent
            extra["timenow"] = known.pop("timenow")
        action = known.pop("action", None)
        return cls(action=Action(action) if action is not None else None, extra=extra, **known)


# Every field but `extra`, in declaration order (read by to_plain at call time).
_PLAIN_FIELDS = tuple(f.name for f in fields(Alert) if f.name != "extra")
_DERIVED = {"side"}
