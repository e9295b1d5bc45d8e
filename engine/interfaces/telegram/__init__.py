"""Telegram as an interface: the admin commands, the bots' updates (long polling or
webhook) and the hub that runs them with the courier."""
