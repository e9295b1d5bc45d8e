"""The live scripts folder deleted or moved while ``moonhook run`` runs, and back.

The watcher (``watch.py``) hands the folder itself over when it goes (a move tells none of its
files) and when it is back. Live plugins are not unloaded for it (a folder renamed must not stop
live trading): they serve on, while saves there are unseen. So the trader is told loudly: the
watcher's WARNING line, the administrators' notification, and ``/health`` (``scripts_unwatched``,
degraded) and ``moonhook status`` until it is back. Back, its files are looked at (those saved,
added or deleted meanwhile applied as saves) and that is told too.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Callable

from engine.domain.times import when

if TYPE_CHECKING:
    from engine.adapters.notify import Notifier
    from engine.core.lifecycle import Lifecycle
    from engine.core.roster import PluginSet


class ScriptsFolder:
    """The live lifecycle's saves, with its folder's going and coming back told (``changed``)."""

    def __init__(self, lifecycle: Lifecycle, plugins: PluginSet, notifier: Notifier, clock: Callable[[], float]):
        self.lifecycle, self.plugins, self.notifier, self.clock = lifecycle, plugins, notifier, clock
        self.gone_since: float | None = None   # when the folder was seen gone; None while it is there

    @property
    def unwatched(self) -> str | None:
        """What ``/health`` says while the folder is gone, None while it is there."""
        if self.gone_since is None:
            return None
        return (f"{self.lifecycle.config.scripts} deleted or moved at {when(self.gone_since)}: its plugins serve on, "
                "saves there are not seen until it is back")

    async def changed(self, paths: set[Path]) -> None:
        """A batch of saves, applied by the lifecycle; the folder among them gone, told; back,
        told, and each of its plugins' files looked at with those in it now."""
        folder = self.lifecycle.config.scripts
        if folder in paths:
            if not folder.is_dir():
                if self.gone_since is None:
                    self.gone_since = self.clock()
                    self.notifier.send("admin", f"scripts folder {folder} was deleted or moved: its plugins serve on, "
                                       "but saves there are not seen until it is back", key="scripts:gone")
            else:
                paths = paths | {p.path for p in self.plugins} | {folder / name for name in self.lifecycle.errors}
                if self.gone_since is not None:
                    self.gone_since = None
                    self.notifier.send("admin", f"scripts folder {folder} is back: saves there are seen again",
                                       key="scripts:back")
        await self.lifecycle.changed(paths)
