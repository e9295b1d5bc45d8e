"""Interfaces: how people and programs reach the engine. ``web`` (the webhook, the JSON API,
/health, /metrics), ``telegram`` (the admin commands and the bots' updates) and ``cli``."""
