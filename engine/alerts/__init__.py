"""Alerts: TradingView's webhook bodies parsed into validated, normalised ``Alert`` objects."""

from .model import ACTION_ALIASES, TREND_STATES, Action, Alert, AlertError
from .parse import parse_body, parse_json, parse_text
from .symbols import SymbolMap

__all__ = [
    "ACTION_ALIASES", "TREND_STATES", "Action", "Alert", "AlertError", "SymbolMap",
    "parse_body", "parse_json", "parse_text",
]
