"""The web side: TradingView's webhook, /health and the JSON API, served by Hypercorn under Trio."""

from engine.interfaces.web.app import create_app, redacted
from engine.interfaces.web.clients import Gate, client_address
from engine.interfaces.web.connection import App, ShieldedHTTPConnection
from engine.interfaces.web.serve import ListenError, check_address, hypercorn_config, serve
from engine.interfaces.web.tokens import bearer, same
from engine.interfaces.web.webhook import Refused, Webhook, pop_secret

__all__ = ["App", "Gate", "ListenError", "Refused", "Webhook", "bearer", "check_address", "client_address",
           "create_app", "hypercorn_config", "pop_secret", "redacted", "same", "serve", "ShieldedHTTPConnection"]
