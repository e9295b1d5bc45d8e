"""Alerts: TradingView's webhook bodies parsed into validated, normalised ``Alert`` objects."""

from .model import ACTION_ALIASES, TREND_STATES, Action, Alert, AlertError
from .parse import MAX_DEPTH, check_json, parse_body, parse_json, parse_text, parse_value, read_body
from .symbols import SymbolMap

__all__ = [
    "ACTION_ALIASES", "TREND_STATES", "Action", "Alert", "AlertError", "SymbolMap",
    "MAX_DEPTH", "check_json", "parse_body", "parse_json", "parse_text", "parse_value", "read_body",
]
