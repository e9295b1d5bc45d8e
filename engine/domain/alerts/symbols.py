"""From TradingView's ticker to the broker's symbol."""

from __future__ import annotations

import re
from typing import Mapping

from engine.domain.alerts.model import AlertError

# MetaTrader symbols: letters, digits and a few separators ("EURUSD.m", "US30.cash", "#AAPL").
_VALID = re.compile(r"^[A-Za-z0-9#._\-]{1,32}$")


class SymbolMap:
    """Drops an exchange prefix ("OANDA:EURUSD"), upper-cases, then applies the configured map
    from TradingView names to broker names (``{"XAUUSD": "GOLD"}``)."""

    def __init__(self, mapping: Mapping[str, str] | None = None):
        self._map = {k.strip().upper(): v.strip() for k, v in (mapping or {}).items()}
        for tv, broker in self._map.items():
            if not _VALID.match(broker):
                raise ValueError(f"symbol_map: {tv!r} maps to {broker!r}, which is not a valid symbol")

    def normalize(self, raw: str, field: str = "symbol") -> str:
        name = raw.strip()
        if ":" in name:
            name = name.rsplit(":", 1)[1].strip()
        name = name.upper()
        if not _VALID.match(name):
            raise AlertError(field, f"{raw!r} is not a symbol (letters, digits and . _ - #, at most 32)")
        return self._map.get(name, name)
