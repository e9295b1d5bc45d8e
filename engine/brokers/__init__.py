"""Brokers: where orders go. ``base`` is the interface every broker implements; ``paper``
is the embedded default; ``mt5`` trades on MetaTrader 5; symbol specifications are shared."""

from __future__ import annotations

import time
from typing import Callable

from ..storage import Database
from .base import Broker, BrokerError, Closed, Connection, Event, Fill, OrderRequest, OrderResult
from .mt5 import MT5Broker, MT5Config
from .paper import PaperBroker, PaperConfig
from .symbols import BUILTIN, SymbolSpec, symbol_table


def open_broker(name: str, database: Database, paper: PaperConfig, mt5: MT5Config,
                clock: Callable[[], float] = time.time) -> Broker:
    """The broker ``engine.broker`` names: "paper" or "mt5"."""
    if name == "mt5":
        return MT5Broker(database, mt5, clock=clock)
    return PaperBroker(database, paper, clock=clock)


__all__ = [
    "BUILTIN", "Broker", "BrokerError", "Closed", "Connection", "Event", "Fill", "MT5Broker", "MT5Config",
    "OrderRequest", "OrderResult", "PaperBroker", "PaperConfig", "SymbolSpec", "open_broker", "symbol_table",
]
