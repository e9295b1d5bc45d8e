"""The pipeline: alerts through the plugins they concern, in order per symbol, to the broker."""

from .engine import Engine, open_engine
from .plugins import HOOKS, Plugin, PluginError, PluginMeta, PluginSet

__all__ = ["HOOKS", "Engine", "Plugin", "PluginError", "PluginMeta", "PluginSet", "open_engine"]
