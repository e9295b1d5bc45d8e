"""Brokers: where orders go (the paper broker, MetaTrader 5). Symbol specifications so far."""

from .symbols import BUILTIN, SymbolSpec, symbol_table

__all__ = ["BUILTIN", "SymbolSpec", "symbol_table"]
