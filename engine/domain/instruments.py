"""Symbol specifications: built in for common FX pairs, metals, indices and crypto (typical
MetaTrader 5 retail values), overridable from the config, and the tick value in the
account currency that sizing needs."""

from __future__ import annotations

import math
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any, Callable, Mapping


def pip_size(spec: Mapping[str, Any]) -> float:
    """A pip of a symbol as brokers answer it (``point``, ``digits``): ten points on 5- and
    3-digit quotes (FX), else one point."""
    return spec["point"] * (10 if spec["digits"] in (3, 5) else 1)


def on_tick_grid(price: float | None, spec: Mapping[str, Any]) -> float | None:
    """``price`` on the symbol's tick grid: the nearest multiple of its tick size (MetaTrader's
    ``trade_tick_size``, the engine's ``tick_size``; else its point), to its digits. None and 0
    (no stop) as they are. The trade server takes no other price, so MetaTrader 5's broker moves
    every price there (5123.37 is 5123.25 on an index quoted in quarters); sizing and
    ``max_risk_pct`` measure a stop where it will be, not where the alert put it. A price too
    far for its count of ticks to be a number (1e308) is as it is: the broker answers it."""
    if not price:
        return price
    tick = spec.get("trade_tick_size") or spec.get("tick_size") or spec["point"]
    digits = spec.get("digits")   # without them, to ten decimals: float noise only
    ticks = price / tick
    if not math.isfinite(ticks):   # round() raised OverflowError: an internal error, not an answer
        return price
    return round(round(ticks) * tick, 10 if digits is None else int(digits))


@dataclass(frozen=True)
class SymbolSpec:
    name: str
    quote: str            # the currency prices are in
    digits: int
    contract_size: float
    volume_min: float
    volume_step: float
    volume_max: float
    stops_level: int = 0  # points a stop must keep from the price: MetaTrader 5's trade_stops_level

    @property
    def point(self) -> float:
        return 10.0 ** -self.digits

    @property
    def tick_size(self) -> float:
        return self.point

    def stops(self) -> dict[str, Any]:
        """Its stops level as ``rules.check_stops`` takes it."""
        return {"level": self.stops_level, "point": self.point, "symbol": self.name}

    def tick_value(self, account_currency: str, price_of: Callable[[str], float | None]) -> float | None:
        """What one tick is worth for one lot, in the account currency; None without a rate.

        ``price_of(symbol)`` gives a mid price, used to convert from the quote currency."""
        in_quote = self.contract_size * self.tick_size
        if self.quote == account_currency:
            return in_quote
        direct = price_of(self.quote + account_currency)
        if direct:
            return in_quote * direct
        inverse = price_of(account_currency + self.quote)
        if inverse:
            return in_quote / inverse
        return None

    def account_is_base(self, account_currency: str) -> bool:
        """Whether the account's currency is the symbol's base (USDJPY on a USD account): its
        profit converts through the symbol's own price (``tick_value``'s inverse rate), so a loss
        at the stop converts at the stop's price (``engine/domain/risk.py``)."""
        return self.quote != account_currency and self.name == account_currency + self.quote

    def to_plain(self, account_currency: str, price_of: Callable[[str], float | None]) -> dict[str, Any]:
        """As ``market.symbol`` answers a script."""
        return {
            "digits": self.digits, "point": self.point, "volume_min": self.volume_min,
            "volume_step": self.volume_step, "volume_max": self.volume_max,
            "contract_size": self.contract_size, "tick_size": self.tick_size,
            "tick_value": self.tick_value(account_currency, price_of),
            "account_is_base": self.account_is_base(account_currency), "stops_level": self.stops_level,
        }


def _fx(name: str) -> SymbolSpec:
    return SymbolSpec(name, name[3:], 3 if name.endswith("JPY") else 5, 100_000, 0.01, 0.01, 100)


BUILTIN: dict[str, SymbolSpec] = {
    **{n: _fx(n) for n in (
        "EURUSD", "GBPUSD", "AUDUSD", "NZDUSD", "USDCHF", "USDCAD", "USDJPY", "EURJPY", "GBPJPY",
        "EURGBP", "EURCHF", "AUDJPY", "EURAUD", "GBPCHF")},
    "XAUUSD": SymbolSpec("XAUUSD", "USD", 2, 100, 0.01, 0.01, 50),
    "XAGUSD": SymbolSpec("XAGUSD", "USD", 3, 5000, 0.01, 0.01, 50),
    "US30": SymbolSpec("US30", "USD", 1, 1, 0.1, 0.1, 100),
    "NAS100": SymbolSpec("NAS100", "USD", 1, 1, 0.1, 0.1, 100),
    "SPX500": SymbolSpec("SPX500", "USD", 1, 1, 0.1, 0.1, 100),
    "GER40": SymbolSpec("GER40", "EUR", 1, 1, 0.1, 0.1, 100),
    "UK100": SymbolSpec("UK100", "GBP", 1, 1, 0.1, 0.1, 100),
    "JPN225": SymbolSpec("JPN225", "JPY", 0, 1, 0.1, 0.1, 100),
    "BTCUSD": SymbolSpec("BTCUSD", "USD", 2, 1, 0.01, 0.01, 10),
    "ETHUSD": SymbolSpec("ETHUSD", "USD", 2, 1, 0.1, 0.1, 100),
}

_TYPES = {f.name: f.type for f in fields(SymbolSpec)}
_REQUIRED = [f.name for f in fields(SymbolSpec) if f.default is MISSING]


def symbol_table(overrides: Mapping[str, Mapping[str, Any]] | None = None,
                 where: str = "paper.symbols") -> dict[str, SymbolSpec]:
    """The built-in table with ``overrides`` applied: fields of a known symbol, or a whole new
    one. Refuses an unknown field, a wrong type or a missing field, naming its key path."""
    table = dict(BUILTIN)
    for name, given in (overrides or {}).items():
        path = f"{where}.{name}"
        if name not in table and (known := same_name(name, table)):  # a new symbol no alert would reach
            raise ValueError(f"{path}: the paper broker names this symbol {known}: write {known}")
        if not isinstance(given, Mapping):
            raise ValueError(f"{path}: expected a table of fields, got {type(given).__name__}")
        base = asdict(table[name]) if name in table else {"name": name}
        for key, value in given.items():
            if key not in _TYPES or key == "name":
                raise ValueError(f"{path}.{key}: unknown field (known: {', '.join(k for k in _TYPES if k != 'name')})")
            base[key] = _check(f"{path}.{key}", key, value)
        missing = [k for k in _REQUIRED if k not in base]
        if missing:
            raise ValueError(f"{path}: a new symbol needs {', '.join(missing)}")
        if base["volume_min"] > base["volume_max"]:
            raise ValueError(f"{path}: volume_min {base['volume_min']} is above volume_max {base['volume_max']}")
        table[name] = SymbolSpec(**base)
    return table


def same_name(name: str, table: Mapping[str, Any]) -> str | None:
    """The symbol of ``table`` that ``name`` names in another case (``eurusd``: EURUSD), if any."""
    return next((known for known in table if known.upper() == name.upper() and known != name), None)


def _check(path: str, key: str, value: Any) -> Any:
    if key in ("stops_level", "digits") and isinstance(value, float) and value.is_integer():
        value = int(value)   # 5.0 is 5, as the JSON Schema an editor checks moonhook.toml with reads it
    if key == "quote":
        if not (isinstance(value, str) and len(value) == 3 and value.isalpha()):
            raise ValueError(f"{path}: expected a 3-letter currency code, got {value!r}")
        return value.upper()
    if key == "stops_level":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{path}: expected a whole number of points, 0 or more, got {value!r}")
        return value
    if key == "digits":
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 8:
            raise ValueError(f"{path}: expected an integer from 0 to 8, got {value!r}")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{path}: expected a positive number, got {value!r}")
    if not value <= 1e15:   # as a price: past it a position's sums leave floats (a profit of inf)
        raise ValueError(f"{path}: expected a positive number up to 1e15, got {value!r}")
    return float(value)
