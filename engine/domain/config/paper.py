"""``[paper]``: the paper broker's starting account, spreads, commission and symbols."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from engine.domain.rules import MAX_PRICE, is_number
from engine.domain.instruments import same_name, symbol_table


@dataclass(frozen=True)
class PaperConfig:
    """``[paper]``: the starting account, spreads in points, commission per lot, the stop-out level, the
    hedged margin, symbols."""

    balance: float = 10_000.0
    currency: str = "USD"
    leverage: float = 100.0
    spread_points: float = 0.0
    spreads: Mapping[str, float] = field(default_factory=dict)
    commission_per_lot: float = 0.0
    stop_out_pct: float = 50.0   # MetaTrader 5's stop-out margin level, as brokers commonly set it; 0: none
    hedged_margin: float = 0.5   # of the contract, on hedged volume: MT5 brokers' common 50,000 of 100,000
    symbols: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, positive in (("balance", True), ("leverage", True), ("spread_points", False),
                              ("commission_per_lot", False), ("stop_out_pct", False)):
            value = getattr(self, key)
            if not (is_number(value) and (value > 0 if positive else value >= 0)):
                what = "a positive number" if positive else "a number, 0 or more"
                raise ValueError(f"paper.{key}: must be {what}, got {value!r}")
            if key != "stop_out_pct" and value > MAX_PRICE:   # past it the sums leave floats (a balance of -inf)
                raise ValueError(f"paper.{key}: must be at most 1e15, got {value!r}")
        if not (is_number(self.hedged_margin) and 0 <= self.hedged_margin <= 1):
            raise ValueError(f"paper.hedged_margin: must be a number from 0 to 1 (of the contract), "
                             f"got {self.hedged_margin!r}")
        if not (isinstance(self.currency, str) and len(self.currency) == 3 and self.currency.isalpha()):
            raise ValueError(f"paper.currency: expected a 3-letter currency code, got {self.currency!r}")
        object.__setattr__(self, "currency", self.currency.upper())
        for key in ("spreads", "symbols"):
            if not isinstance(getattr(self, key), Mapping):
                raise ValueError(f"paper.{key}: expected a table, got {type(getattr(self, key)).__name__}")
        table = symbol_table(self.symbols, where="paper.symbols")
        for name, value in self.spreads.items():
            if name not in table and (known := same_name(name, table)):
                raise ValueError(f"paper.spreads.{name}: the paper broker names this symbol {known}: write {known}")
            if name not in table:
                raise ValueError(f"paper.spreads.{name}: unknown symbol (define it under paper.symbols)")
            if not (is_number(value) and 0 <= value <= MAX_PRICE):
                raise ValueError(f"paper.spreads.{name}: must be a number of points, 0 to 1e15, got {value!r}")
