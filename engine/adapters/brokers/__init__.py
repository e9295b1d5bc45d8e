"""Brokers: where orders go. ``base`` is the interface every broker implements; ``paper``
is the embedded default; ``mt5`` trades on MetaTrader 5. What they share without I/O (orders,
symbol specifications, the checks of a request) is in ``engine.domain``."""

from __future__ import annotations

import time
from typing import Callable

from engine.adapters.storage import Database
from engine.adapters.brokers.base import Broker
from engine.adapters.brokers.mt5 import MT5Broker
from engine.adapters.brokers.paper import PaperBroker
from engine.domain.config import MT5Config, PaperConfig


def open_broker(name: str, database: Database, paper: PaperConfig, mt5: MT5Config,
                clock: Callable[[], float] = time.time) -> Broker:
    """The broker ``engine.broker`` names: "paper" or "mt5"."""
    if name == "mt5":
        return MT5Broker(database, mt5, clock=clock)
    return PaperBroker(database, paper, clock=clock)


__all__ = ["Broker", "MT5Broker", "PaperBroker", "open_broker"]
