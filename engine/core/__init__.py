"""The core: an alert journaled, run through the plugins it concerns, in order per symbol,
and executed at the broker; the plugins' lifecycle and the services their scripts call."""

from engine.core.engine import Engine
from engine.core.plugins import HOOKS, Plugin, PluginError, PluginMeta
from engine.core.roster import PluginSet, Roster
from engine.core.switchboard import HeldChanged

__all__ = ["HOOKS", "Engine", "HeldChanged", "Plugin", "PluginError", "PluginMeta", "PluginSet", "Roster"]
