"""Alerts: TradingView's webhook bodies parsed into validated, normalised ``Alert`` objects."""

from engine.domain.alerts.model import ACTION_ALIASES, TREND_STATES, Action, Alert, AlertError
from engine.domain.alerts.body import MAX_DEPTH, check_json, read_body
from engine.domain.alerts.parse import MAX_EXPIRY, parse_body, parse_json, parse_text, parse_value
from engine.domain.alerts.secrets import without_secrets
from engine.domain.alerts.symbols import SymbolMap

__all__ = [
    "ACTION_ALIASES", "TREND_STATES", "Action", "Alert", "AlertError", "SymbolMap",
    "MAX_DEPTH", "MAX_EXPIRY", "check_json", "parse_body", "parse_json", "parse_text", "parse_value", "read_body",
    "without_secrets",
]
