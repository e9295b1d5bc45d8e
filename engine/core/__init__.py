"""The core: an alert journaled, run through the plugins it concerns, in order per symbol,
and executed at the broker; the plugins' lifecycle and the services their scripts call."""

from engine.core.engine import Engine
from engine.core.plugins import HOOKS, Plugin, PluginError, PluginMeta
from engine.core.roster import PluginSet, Roster

__all__ = ["HOOKS", "Engine", "Plugin", "PluginError", "PluginMeta", "PluginSet", "Roster"]
