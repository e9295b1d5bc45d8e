"""An alert check (``POST /api/alerts/check``) in words, for ``moonhook send --dry-run`` and
Telegram's ``/check``: plain data in, lines out, so the command line loads nothing of the engine."""

from __future__ import annotations

from typing import Any


def check_text(view: dict[str, Any]) -> str:
    """``/api/alerts/check``'s answer in lines: the alert as read, each order it would place
    (and a limit's refusal), the plugins that would see it first; nothing was sent."""
    fields = {k: v for k, v in (view.get("alert") or {}).items() if k not in ("source", "raw_symbol")}
    lines = ["read as: " + " ".join(f"{k}={v}" for k, v in fields.items())]
    for o in view.get("orders") or ():
        what = " ".join(str(o[k]) for k in ("kind", "side", "type", "volume", "symbol") if o.get(k) is not None)
        what += "".join(f" {k} {o[k]:g}" for k in ("price", "sl", "tp") if o.get(k))
        what += f" ticket {o['ticket']}" if o.get("ticket") else ""
        what += f" expiring after {o['expiry']:g} s" if o.get("expiry") else ""
        lines.append(f"would send: {what}" + (f"\n  refused: {o['refused']}" if o.get("refused") else ""))
    for key in ("note", "error"):
        if view.get(key):
            lines.append(f"{key}: {view[key]}")
    if view.get("plugins"):
        lines.append(f"plugins that would see it first: {', '.join(view['plugins'])} ({view.get('plugins_note')})")
    if view.get("paused"):
        lines.append("the engine is paused: a real alert would be journaled, not executed")
    lines.append("nothing was sent (a dry run)")
    return "\n".join(lines)
