"""The services a plugin's script calls (account, market, positions, orders, risk, trend,
store, notify, log). Sizing is here now; the rest arrives with the pipeline (issue 3)."""

from .risk import Sizing, lot_size

__all__ = ["Sizing", "lot_size"]
