"""One engine per data folder. ``claim`` holds an exclusive lock on ``DATA/moonhook.lock``
while an engine runs on the folder's journal.

Two engines on one journal would each recover the other's alerts in flight and run the same
plugins' timers: orders sent twice. The lock is the operating system's (flock; on Windows,
msvcrt's, through filelock), so it goes with the process that holds it, ``kill -9`` included:
a crash never leaves a stale lock behind. Readers of the journal (``moonhook replay``, the
editor's replay) do not claim it."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

LOCK_NAME = "moonhook.lock"
PID_NAME = "moonhook.pid"  # the holder's process id, for the message of the one refused


class FolderInUse(Exception):
    """Another engine holds the data folder, or it cannot be made or written."""


@contextmanager
def claim(folder: Path) -> Iterator[None]:
    """Holds ``folder`` (made if missing) for the block. Raises FolderInUse naming the folder
    and the holder's process id when another engine, in this process or another, holds it, or
    saying why when the folder cannot be made or its lock written (a path under a file, no
    permission)."""
    lock = FileLock(str(folder / LOCK_NAME), timeout=0, mode=0o600)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)  # private, as the journal's (database.private_file)
        lock.acquire()
    except Timeout:  # before OSError: filelock's Timeout is a TimeoutError
        raise FolderInUse(f"the data folder {folder.resolve()} is in use by another moonhook{_holder(folder)}: stop it "
                          "first, or give this one its own [engine] data folder") from None
    except OSError as e:
        where = f" ({e.filename})" if e.filename and str(e.filename) != str(folder) else ""
        raise FolderInUse(f"the data folder {folder} cannot be used: {e.strerror or e}{where}; set [engine] data "
                          "to a folder this user can write") from None
    try:
        (folder / PID_NAME).write_text(f"{os.getpid()}\n", encoding="ascii")
        yield
    finally:
        (folder / PID_NAME).unlink(missing_ok=True)
        lock.release()


def check_free(folder: Path) -> None:
    """Raises FolderInUse as ``claim`` would, holding nothing after: a start's first look, so
    that the same moonhook started twice is told which process holds its folder before it is
    told, say, that its port is taken."""
    with claim(folder):
        pass


def _holder(folder: Path) -> str:
    try:
        pid = int((folder / PID_NAME).read_text(encoding="ascii"))
    except (OSError, ValueError):
        return ""
    return f" (process {pid})"
