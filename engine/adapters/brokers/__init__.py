"""Brokers: where orders go. ``base`` is the interface every broker implements; ``paper``
is the embedded default; ``mt5`` trades on MetaTrader 5. What they share without I/O (orders,
symbol specifications, the checks of a request) is in ``engine.domain``.

The brokers are imported when first used (PEP 562): an engine on the paper broker does not
load MetaTrader 5's modules, nor a command that needs only ``base``."""

from __future__ import annotations

import time
from importlib import import_module
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from engine.adapters.brokers.base import Broker
    from engine.adapters.brokers.mt5 import MT5Broker
    from engine.adapters.brokers.paper import PaperBroker
    from engine.adapters.storage import Database
    from engine.domain.config import MT5Config, PaperConfig

__all__ = ["Broker", "MT5Broker", "PaperBroker", "open_broker"]
_HOMES = {"Broker": "engine.adapters.brokers.base", "MT5Broker": "engine.adapters.brokers.mt5",
          "PaperBroker": "engine.adapters.brokers.paper"}


def open_broker(name: str, database: Database, paper: PaperConfig, mt5: MT5Config,
                clock: Callable[[], float] = time.time) -> Broker:
    """The broker ``engine.broker`` names: "paper" or "mt5"."""
    if name == "mt5":
        return __getattr__("MT5Broker")(database, mt5, clock=clock)
    return __getattr__("PaperBroker")(database, paper, clock=clock)


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'engine.adapters.brokers' has no attribute {name!r}")
