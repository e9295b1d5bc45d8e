"""From TradingView's ticker to the broker's symbol."""

from __future__ import annotations

import re
from typing import Mapping

from engine.domain.alerts.model import AlertError

# MetaTrader symbols: letters, digits and a few separators ("EURUSD.m", "US30.cash", "#AAPL").
_VALID = re.compile(r"^[A-Za-z0-9#._\-]{1,32}$")
# TradingView's exchanges (OANDA, CME_MINI, FX_IDC): a spread's chart ("OANDA:EURUSD/OANDA:GBPUSD") is none
_EXCHANGE = re.compile(r"^[A-Za-z0-9._\-]{1,32}$")


class SymbolMap:
    """Applies the configured map from TradingView names to broker names, upper-cased: a key
    with its exchange (``{"OANDA:XAUUSD": "GOLD"}``) matches that exchange's ticker only, and
    is tried first; a key without (``{"XAUUSD": "GOLD"}``) matches the ticker from any exchange.
    Unmapped, the name is the ticker without its exchange ("OANDA:EURUSD" is "EURUSD"). A
    continuous future's ticker ("CME_MINI:ES1!") is no broker symbol, and must be mapped."""

    def __init__(self, mapping: Mapping[str, str] | None = None):
        self._map: dict[str, str] = {}
        written: dict[str, str] = {}
        for key, value in (mapping or {}).items():
            if (first := written.setdefault(key.strip().upper(), key)) != key:  # one of the two would be dropped
                raise ValueError(f"symbol_map: {first!r} and {key!r} are one ticker (read in any case): keep one")
            self._map[key.strip().upper()] = value.strip()
        for tv, broker in self._map.items():
            if not _VALID.match(broker):
                raise ValueError(f"symbol_map: {tv!r} maps to {broker!r}, which is not a valid symbol")

    def follow(self, other: "SymbolMap") -> None:
        """Maps as ``other`` does from now on (moonhook.toml saved while running): the engine's
        parts hold this object."""
        self._map = other._map

    def normalize(self, raw: str, field: str = "symbol") -> str:
        """The broker's symbol for TradingView's ``raw``. A mapped ticker may be any name
        (futures' "ES1!"); an unmapped one must be a broker symbol. Raises AlertError."""
        name = raw.strip().upper()
        if ":" in name and (exact := self._map.get(name)) is not None:
            return exact
        exchange, _, ticker = name.rpartition(":")
        ticker = ticker.strip()
        mapped = self._map.get(ticker) if not exchange or _EXCHANGE.match(exchange.strip()) else None
        if mapped is not None:
            return mapped
        if not _VALID.match(ticker) or (exchange and not _EXCHANGE.match(exchange.strip())):
            shown = repr(raw if len(raw) <= 40 else raw[:36] + "...")
            raise AlertError(field, f"{shown} is not a symbol (letters, digits and . _ - #, at most 32, after an "
                                    "exchange's name and ':'); engine.symbol_map can name the broker's for it")
        return ticker
