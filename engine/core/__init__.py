"""The core: an alert journaled, run through the plugins it concerns, in order per symbol,
and executed at the broker; the plugins' lifecycle and the services their scripts call.

The names are imported when first used (PEP 562), so that what needs one module of the core
(``moonhook init``'s editor definitions read ``plugins`` and ``services``) does not load the engine."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from engine.core.engine import Engine
    from engine.core.plugins import HOOKS, Plugin, PluginError, PluginMeta
    from engine.core.roster import PluginSet, Roster
    from engine.core.switchboard import HeldChanged

__all__ = ["HOOKS", "Engine", "HeldChanged", "Plugin", "PluginError", "PluginMeta", "PluginSet", "Roster"]
_HOMES = {"Engine": "engine.core.engine", "HOOKS": "engine.core.plugins", "Plugin": "engine.core.plugins",
          "PluginError": "engine.core.plugins", "PluginMeta": "engine.core.plugins", "PluginSet": "engine.core.roster",
          "Roster": "engine.core.roster", "HeldChanged": "engine.core.switchboard"}


def __getattr__(name: str):
    if name in _HOMES:
        return getattr(import_module(_HOMES[name]), name)
    raise AttributeError(f"module 'engine.core' has no attribute {name!r}")
