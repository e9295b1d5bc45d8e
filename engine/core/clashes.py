"""A plugin name claimed by two files at a start, the lifecycle's part (``lifecycle.py``).

Files load at a start in name order, and the first to name a plugin takes it: a draft saved
as ``a_copy.lua`` with the ``plugin.name`` of ``demo.lua`` would take ``demo`` over, and the
real file be refused (a guard's replacement, the engine paused; a strategy's, replaced without
a word). So the order does not decide: the file that served the name when moonhook last ran
serves it; if that is not known, none of them does, the administrators are told, and if one of
them is a guard the engine pauses, as it does when a guard does not load."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.core.loader import NameTaken
from engine.core.plugins import Plugin, PluginError

log = logging.getLogger("moonhook.plugins")


class NameClashes:
    """Mixed into ``Lifecycle``, whose state and methods these use."""

    if TYPE_CHECKING:  # the lifecycle's
        config: Any
        errors: dict[str, str]
        taken: dict[str, NameTaken]
        _plugins: Any
        _switchboard: Any
        _notifier: Any

        async def _reload(self, path: Path, force: bool = False, announce: bool = True) -> None: ...
        def _out_of_service(self, plugins: list[Plugin]) -> None: ...

    async def _settle_names(self) -> None:
        """After the start's loads: each name two files claim goes to the one that served it
        last, or to none of them. Called holding the lifecycle's lock."""
        claims: dict[str, list[NameTaken]] = {}
        for error in self.taken.values():
            claims.setdefault(error.name, []).append(error)
        for name, refused in sorted(claims.items()):
            live = self._plugins.get(name)
            if live is None:
                continue
            files = sorted({live.path.name, *(e.file for e in refused)})
            last = self._switchboard.served_last(name)
            if last not in files:
                self._out_of_service([live])
                for file in files:
                    other = next(f for f in files if f != file)
                    self.taken[file] = NameTaken(file, name, other, live.meta.guard)
                    self._refuse(file, f"plugin {name!r} is named by {' and '.join(files)}: none of them is loaded, "
                                       "as which one served it last is not known; give one another plugin.name")
                told = (f"plugin {name} not loaded: {' and '.join(files)} all name it, and which one served it "
                        "last is not known; give one another plugin.name and save it")
                log.error("%s", told)
                self._notifier.send("errors", told, key=f"clash:{name}")
                self._switchboard.name_clash_at_start(name, files, live.meta.guard or any(e.guard for e in refused))
                continue
            if last != live.path.name:
                self._out_of_service([live])
                await self._reload(self.config.scripts / last, force=True)
            for file in files:
                if file != last:
                    self.taken[file] = NameTaken(file, name, last, False)
                    self._refuse(file, f"plugin {name!r} is {last}'s, which served it when moonhook last ran; "
                                       "give this file another plugin.name")
            told = (f"plugin {name} is named by {' and '.join(files)}: {last} serves it, as it did when moonhook "
                    "last ran")
            log.error("%s", told)
            self._notifier.send("errors", told, key=f"clash:{name}")

    async def _retry_taken(self, changed: set[str]) -> None:
        """The files refused for a plugin name that a file among ``changed`` (saved, deleted)
        held: tried again, their cause gone perhaps. Called holding the lifecycle's lock."""
        for file, error in sorted(self.taken.items()):
            path = self.config.scripts / file
            if error.holder in changed and file not in changed and path.is_file():
                await self._reload(path, force=True)

    def _refuse(self, file: str, message: str) -> None:
        self.errors[file] = str(PluginError(file, message).finding())
