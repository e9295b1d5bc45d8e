"""The editor's save of a script (docs/dashboard.md): written only over the version it was
based on, tried by the lifecycle before it answers, and answered with how that version loaded.

The facade (``Operations.save_script``) holds the lock that keeps two saves from passing the same
version's check and passes it in; the files themselves are ``scripts.py``'s.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import trio

from engine.app import scripts as _scripts
from engine.core.loader import NameTaken

if TYPE_CHECKING:
    from engine.core import Engine


async def save(engine: Engine, saving: trio.Lock, name: str, text: str, allowed: bool, based_on: str | None,
               new: bool) -> dict[str, Any]:
    """Writes ``name`` atomically and answers once the engine has tried that version (see
    ``Operations.save_script``), ``saving`` held from the version's check to the write. Raises
    EditingOff unless ``allowed``, ScriptChanged, NameClash (nothing written), ScriptNameError, OSError."""
    if not allowed:
        raise _scripts.EditingOff("editing scripts from the dashboard is off (server.dashboard_edit)")
    lifecycle = engine.lifecycle
    folder = lifecycle.config.scripts
    path = _scripts.script_path(folder, name)

    async def write() -> None:
        await trio.to_thread.run_sync(_scripts.write_atomically, folder, name, text)

    async with saving:   # two saves never both pass the same version's check
        _scripts.unchanged(folder, name, based_on, new)
        # Tried in the lifecycle's turn, as a save seen by the watcher is, before it is
        # written (a plugin name another file serves is refused, nothing written); shielded
        # so that a client going away does not cut a load in half. Bounded by the loads' own
        # budgets (compiling and on_load, for this one and any ahead of it).
        with trio.CancelScope(shield=True):
            try:
                await lifecycle.save(path, text.encode("utf-8"), write)
            except NameTaken as e:
                raise _scripts.NameClash(f"{name} not saved: its plugin name {e.name!r} is {e.holder}'s, "
                                         f"which serves it; give it another plugin.name, or edit {e.holder}",
                                         e.holder) from None
    serving = engine.plugins.from_file(path)
    error = lifecycle.errors.get(path.name) or (serving.reload_error if serving is not None else None)
    return _scripts.load_answer(path.name, text, serving, error)

