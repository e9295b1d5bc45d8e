"""The services a plugin's script calls: account, market, positions, orders, risk, trend,
store, notify, log and time, bound to one plugin by ``host_functions``."""

from .api import SERVICE_API, host_functions
from .risk import Sizing, lot_size

__all__ = ["SERVICE_API", "Sizing", "host_functions", "lot_size"]
