"""``/health``'s view: whether the engine is "ok" or "degraded", and what makes it so.

Read from the engine's state only (nothing asked of the broker), so ``/health`` answers at once,
and ``status`` and the dashboard's overview start from the same dict (``Operations.health``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.app import shadow as _shadow

if TYPE_CHECKING:
    from engine.core import Engine


def view(engine: Engine) -> dict[str, Any]:
    """"ok" or "degraded" (a file that does not load, the scripts folder gone (``scripts_unwatched``:
    its plugins serve on, its saves unseen), paused, the broker disconnected, the journal unable to
    write), with what makes it so; and the saves that did not load while the version before them
    serves on (``reload_errors``), which leave it "ok"."""
    plugins = list(engine.plugins)
    journal = engine.writer.trouble
    errors = engine.lifecycle.errors
    unwatched = engine.scripts_folder.unwatched
    degraded = (bool(errors) or unwatched is not None or engine.paused or not engine.broker.connected
                or journal is not None)
    return {
        "status": "degraded" if degraded else "ok",
        "journal": "ok" if journal is None else f"cannot write: {journal}",
        "uptime_s": round(max(0.0, engine.clock() - engine.started), 3),
        "plugins": {"loaded": len(plugins), "enabled": sum(1 for p in plugins if p.enabled)},
        "load_errors": dict(errors),  # the object /api/plugins answers: file -> why
        # file -> why its last save did not load; the version before it serves on, so never degrading
        "reload_errors": {p.path.name: p.reload_error for p in plugins if p.reload_error is not None},
        "scripts_unwatched": unwatched,   # the folder deleted or moved while running: saves unseen
        "shadow_load_errors": _shadow.load_errors(engine.shadow),  # the shadow's, never degrading
        "broker": engine.config.broker,
        "broker_connected": engine.broker.connected,
        "broker_state": engine.broker.state,
        "broker_warnings": list(engine.broker.warnings),
        "paused": engine.paused,
        "last_stop_out": engine.stop_outs.last,   # kept across restarts (engine/core/stopouts.py)
        **(engine.notifier.telegram() if engine.notifier.telegram is not None else {}),  # Courier.health
    }
