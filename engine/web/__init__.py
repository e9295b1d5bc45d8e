"""The web side: TradingView's webhook, /health and the JSON API, served by Hypercorn under Trio."""

from .app import create_app, redacted
from .clients import Gate, client_address
from .connection import App, ShieldedHTTPConnection
from .health import health
from .serve import hypercorn_config, serve
from .tokens import bearer, same
from .webhook import Refused, Webhook, pop_secret

__all__ = ["App", "Gate", "Refused", "Webhook", "bearer", "client_address", "create_app", "health", "hypercorn_config",
           "pop_secret", "redacted", "same", "serve", "ShieldedHTTPConnection"]
