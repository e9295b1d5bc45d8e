"""Telegram as an interface: the admin commands, the bots' updates (long polling or
webhook) and the hub that runs them with the courier, as a ``Service`` of ``open_engine``."""

from engine.interfaces.telegram.hub import TelegramHub

__all__ = ["TelegramHub"]
