"""Saves in scripts/ (and of moonhook.toml) as they happen: watchfiles under Trio.

Events are grouped: a batch is handed over once no new event came for ``STEP_MS``, or after
``DEBOUNCE_MS`` at most, so a burst of saves (or an editor's temporary file and rename) is
one batch, and each file in it is looked at once, as it is by then.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Awaitable, Callable

import trio
from watchfiles import awatch

log = logging.getLogger("moonhook.watch")

STEP_MS = 20
DEBOUNCE_MS = 200
# The watcher's thread comes back this often when nothing happens; its first return tells
# that the watch is in place (watchfiles sets it up inside its generator, unseen).
IDLE_MS = 250


async def watch(folders: list[Path], wanted: Callable[[Path], bool],
                changed: Callable[[set[Path]], Awaitable[None]], stop: trio.Event,
                task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Calls ``changed(paths)`` for each batch of changes to files in ``folders`` (not their
    subfolders) that ``wanted`` accepts, until ``stop`` is set (which ends it at once;
    cancelling would wait for the watcher's thread). Started once the watch is in place."""
    ready = False
    async for changes in awatch(*folders, watch_filter=lambda _, path: wanted(Path(path)),
                                debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop,
                                rust_timeout=IDLE_MS, yield_on_timeout=True, recursive=False):
        if not ready:
            ready = True
            task_status.started()
        if changes:
            paths = {Path(path) for _, path in changes}
            log.debug("changed: %s", ", ".join(sorted(p.name for p in paths)))
            await changed(paths)
