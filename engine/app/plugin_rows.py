"""The plugins' rows as ``/api/plugins``, the dashboard, ``moonhook status`` and Telegram's
``/plugins`` show them: one row per plugin file, each with the same keys, and its state said in
words (``state_words``), so that a save that did not load while the version before serves on is
told apart from a file nothing serves."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def rows(engine: Any) -> list[dict[str, Any]]:
    """Those serving (with stats, ``version`` and memory), then the files with no version
    serving, failed (with why) or loading."""
    served = [row(engine, p) for p in engine.plugins]
    files = {r["file"] for r in served}
    errors = engine.lifecycle.errors
    served += [_unserved(file, "failed", error) for file, error in sorted(errors.items()) if file not in files]
    served += [_unserved(file, "loading") for file in sorted(engine.lifecycle.loading)
               if file not in files and file not in errors]
    return served


def row(engine: Any, plugin: Any) -> dict[str, Any]:
    """``plugin``'s row: its own (``Plugin.to_plain``), its worker's memory, its state in words."""
    plain = plugin.to_plain()
    try:
        plain["memory_bytes"] = engine.pool.memory(plugin.pool_id)
    except Exception:  # not yet called, or its worker is being replaced
        plain["memory_bytes"] = None
    plain["state_words"] = state_words(plain)
    return plain


def state_words(plain: dict[str, Any]) -> str:
    """The state as a trader reads it: ``failed`` alone said a save that did not load (its version
    from before serves on) as it says a file nothing serves."""
    if plain["state"] == "failed" and plain.get("version"):   # switched off, it stays loaded and decides nothing
        return f"save failed: the version before {'serves' if plain['enabled'] else 'is off'}"
    if plain["state"] == "failed":
        return "failed: nothing serves"
    return plain["state"]


def _unserved(file: str, state: str, error: str | None = None) -> dict[str, Any]:
    """The row of a file no version of which serves: nothing to count yet."""
    plain = {"name": Path(file).stem, "file": file, "enabled": False, "state": state, "symbols": None,
             "priority": None, "guard": None, "hooks": [], "version": None, "budget": None, "calls": 0, "errors": 0,
             "timeouts": 0, "p50_us": None, "p99_us": None, "last_error": error, "memory_bytes": None}
    plain["state_words"] = state_words(plain)
    return plain
