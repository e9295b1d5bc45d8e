"""Which files of a scripts folder are plugins, and what tells one write of a file from another."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

log = logging.getLogger("moonhook.plugins")


def is_script(path: Path) -> bool:
    """A plugin file: ``*.lua``, not an editor's hidden or backup file (``.x.lua``, ``#x.lua#``),
    named in UTF-8 (a plugin's name goes into the journal, JSON and Telegram, which hold nothing else)."""
    return path.suffix == ".lua" and not path.name.startswith((".", "#")) and _utf8(path.name)


def scripts_in(folder: Path) -> list[Path]:
    """The plugin files of ``folder`` (``is_script``), by name; [] when it is not a folder. A
    ``*.lua`` file whose name is not UTF-8 is said in the log: it would otherwise seem loaded."""
    found = []
    for path in folder.glob("*.lua"):
        if not path.is_file():
            continue
        if is_script(path):
            found.append(path)
        elif not _utf8(path.name):
            shown = path.name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            log.error("%s: not loaded: the file's name is not UTF-8 (rename it)", shown)
    return sorted(found)


def identity(path: Path) -> tuple[int, ...] | None:
    """What tells one write of ``path`` from another of the same bytes (None: no file)."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def digest(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes the file system gave that are not UTF-8 (surrogate escapes)
        return False
    return True
