"""The application: ``open_engine`` composes the core and its adapters; ``Operations`` is the
one facade the web API, Telegram, the CLI and ``/metrics`` read and act through.

The names are imported when first used (PEP 562), so that a command that only reads the
settings (``moonhook send``, ``status``) does not load the whole engine."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.app.compose import REFUSED, Service, open_engine
    from engine.app.operations import Operations

__all__ = ["Operations", "REFUSED", "Service", "open_engine"]
_HOMES = {"Operations": "engine.app.operations", "REFUSED": "engine.app.compose", "Service": "engine.app.compose",
          "open_engine": "engine.app.compose"}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'engine.app' has no attribute {name!r}")
