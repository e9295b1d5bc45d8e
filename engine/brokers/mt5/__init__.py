"""MetaTrader 5: orders through the MetaTrader5 package (or mt5linux), in a worker process."""

from .broker import MT5Broker
from .config import MODULES, MT5Config

__all__ = ["MODULES", "MT5Broker", "MT5Config"]
