"""Notifications: what the engine tells its administrators, queued durably."""

from .notifier import KINDS, Notifier

__all__ = ["KINDS", "Notifier"]
