"""Which files of a scripts folder are plugins, and what tells one write of a file from another."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import signal
from pathlib import Path

try:
    from fcntl import F_RDLCK, F_SETLEASE, F_SETSIG, F_UNLCK, fcntl
except ImportError:  # not Linux: whether a file is being written is not told
    F_SETLEASE = None

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


def unsettled(path: Path, seen: tuple[int, ...] | None) -> bool:
    """Whether what was read of ``path`` (``seen``: its identity before the read) may be a save's first
    part: the file is open for writing now, or was written as it was read. Its writer's close (or the
    next write's) is a save of its own, seen by the watcher: that one is read whole."""
    return _open_for_writing(path) or identity(path) != seen


def _open_for_writing(path: Path) -> bool:
    """Whether a process holds ``path`` open for writing now: Linux refuses a read lease then. False
    where it cannot be told (not Linux, a file system without leases, another user's file)."""
    if F_SETLEASE is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        # A writer opening it in the instant the lease is held would be told to us by SIGIO, which ends a
        # process; SIGURG, ignored by default, instead. The lease goes at once: the writer is not held up.
        fcntl(fd, F_SETSIG, signal.SIGURG)
        fcntl(fd, F_SETLEASE, F_RDLCK)
        fcntl(fd, F_SETLEASE, F_UNLCK)
    except OSError as e:
        return e.errno == errno.EAGAIN
    finally:
        os.close(fd)
    return False


def digest(source: bytes) -> str:
    return hashlib.sha256(source).hexdigest()


def _utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # bytes the file system gave that are not UTF-8 (surrogate escapes)
        return False
    return True
