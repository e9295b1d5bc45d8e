"""What ``moonhook run`` looks at before it starts anything: the config file's mode (it holds the
secrets) and the scripts folders it would watch."""

from __future__ import annotations

import logging
from pathlib import Path

from engine.domain.config import EngineConfig

log = logging.getLogger("moonhook")


def warn_if_exposed(path: Path) -> None:
    """Warns when the config file, which holds the secrets, can be read by other users."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return
    if mode & 0o077:
        log.warning("%s can be read by other users of this machine (mode %03o) and holds the webhook secret "
                    "and the API token: chmod 600 %s", path, mode & 0o777, path)


def missing_folder(engine: EngineConfig, path: Path) -> str | None:
    """Why ``run`` cannot watch the scripts folders: one that is not there (a typo in its key
    ended the start in a traceback); None when both are. Never made here: an empty folder would
    run the alerts without the trader's strategies and guards."""
    live = engine.scripts.name
    for key, folder, what in (
            ("engine.scripts", engine.scripts, "of your strategies (`moonhook init` writes scripts/ with an example)"),
            ("shadow.scripts", engine.shadow.scripts, "of the next version of your strategies (a copy of "
                                                      f"{live}/ to change: docs/shadow.md), or remove [shadow]")):
        if folder is not None and not folder.is_dir():
            return f"{key}: the folder {folder} is not there: set it in {path} to the folder {what}"
    return None
