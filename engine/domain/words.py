"""How moonhook says a count in words, the same in the CLI, replay's reports, the overview's line
and the notifications: "1 alert", "2 alerts", "1,204 alerts"."""

from __future__ import annotations


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural (``plural``, else ``noun`` + "s") unless ``n`` is 1;
    thousands grouped with commas."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"
