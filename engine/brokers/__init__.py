"""Brokers: where orders go. ``base`` is the interface every broker implements; ``paper``
is the embedded default; symbol specifications are shared."""

from .base import Broker, BrokerError, Closed, Event, Fill, OrderRequest, OrderResult
from .paper import PaperBroker, PaperConfig
from .symbols import BUILTIN, SymbolSpec, symbol_table

__all__ = [
    "BUILTIN", "Broker", "BrokerError", "Closed", "Event", "Fill", "OrderRequest", "OrderResult",
    "PaperBroker", "PaperConfig", "SymbolSpec", "symbol_table",
]
