"""The pipeline: alerts through the plugins they concern, in order per symbol, to the broker."""

from .engine import Engine, open_engine
from .plugins import HOOKS, Plugin, PluginError, PluginMeta
from .roster import PluginSet, Roster

__all__ = ["HOOKS", "Engine", "Plugin", "PluginError", "PluginMeta", "PluginSet", "Roster", "open_engine"]
