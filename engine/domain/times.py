"""How moonhook writes a moment for people: the log, notifications, ``moonhook status`` and
replay's problems all say ``2026-12-03 20:57:12 UTC``."""

from __future__ import annotations

import time


def when(at: float) -> str:
    """``at`` (seconds since the epoch) as ``YYYY-MM-DD HH:MM:SS UTC``."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))
