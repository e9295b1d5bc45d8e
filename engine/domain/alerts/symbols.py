"""From TradingView's ticker to the broker's symbol."""

from __future__ import annotations

import re
from typing import Mapping

from engine.domain.alerts.model import AlertError

# MetaTrader symbols: letters, digits and a few separators ("EURUSD.m", "US30.cash", "#AAPL").
_VALID = re.compile(r"^[A-Za-z0-9#._\-]{1,32}$")


class SymbolMap:
    """Applies the configured map from TradingView names to broker names, upper-cased: a key
    with its exchange (``{"OANDA:XAUUSD": "GOLD"}``) matches that exchange's ticker only, and
    is tried first; a key without (``{"XAUUSD": "GOLD"}``) matches the ticker from any exchange.
    Unmapped, the name is the ticker without its exchange ("OANDA:EURUSD" is "EURUSD")."""

    def __init__(self, mapping: Mapping[str, str] | None = None):
        self._map = {k.strip().upper(): v.strip() for k, v in (mapping or {}).items()}
        for tv, broker in self._map.items():
            if not _VALID.match(broker):
                raise ValueError(f"symbol_map: {tv!r} maps to {broker!r}, which is not a valid symbol")

    def normalize(self, raw: str, field: str = "symbol") -> str:
        name = raw.strip()
        if ":" in name and (exact := self._map.get(name.upper())) is not None:
            return exact
        if ":" in name:
            name = name.rsplit(":", 1)[1].strip()
        name = name.upper()
        if not _VALID.match(name):
            raise AlertError(field, f"{raw!r} is not a symbol (letters, digits and . _ - #, at most 32)")
        return self._map.get(name, name)
