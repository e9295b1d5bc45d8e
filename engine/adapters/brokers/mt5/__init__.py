"""MetaTrader 5: orders through the MetaTrader5 package (or mt5linux), in a worker process.
Its settings, ``[mt5]``, are ``engine.domain.config.mt5``."""

from engine.adapters.brokers.mt5.broker import MT5Broker

__all__ = ["MT5Broker"]
