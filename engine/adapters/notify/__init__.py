"""Notifications: what the engine tells its administrators, queued durably."""

from engine.adapters.notify.notifier import KINDS, Notifier

__all__ = ["KINDS", "Notifier"]
