"""The application: ``open_engine`` composes the core and its adapters; ``Operations`` is the
one facade the web API, Telegram, the CLI and ``/metrics`` read and act through."""

from engine.app.compose import Service, open_engine
from engine.app.operations import Operations

__all__ = ["Operations", "Service", "open_engine"]
