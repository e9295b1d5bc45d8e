"""Where a running ``moonhook run`` listens, for the commands that talk to it (``send``, ``status``):
``DATA/moonhook.port``. Its port may be none they can read elsewhere: the system's choice
(``[server] port = 0``), or ``MOONHOOK_PORT`` in its environment and not in theirs.

``moonhook run`` writes the port there once it is bound, whole (a file of its own renamed over
the name, so a reader never sees half of it), and holds an flock on the file while it runs; it
removes the file at its stop. An engine killed leaves the file, but its lock went with the process
(as the data folder's, storage/claim.py): a reader that can take the lock knows the port is no
longer that engine's, whoever listens there now. The engine locks its file before the name points
at it, so a reader's brief lock never stands in an engine's way."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

try:
    import fcntl
except ImportError:   # Windows, where no moonhook runs (cli.NOT_ON_WINDOWS): no record is ever live
    fcntl = None

RECORD_NAME = "moonhook.port"


@contextmanager
def recorded(folder: Path, port: int) -> Iterator[None]:
    """Records ``port`` in ``folder`` (the engine's data folder, which it holds) for the block.
    Raises OSError when the record cannot be written."""
    record = folder / RECORD_NAME
    draft = folder / f".{RECORD_NAME}.{os.getpid()}"
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)   # a file no one else knows yet: never refused
        os.write(fd, f"{port}\n".encode("ascii"))
        os.replace(draft, record)   # over one a killed engine left
    except BaseException:
        os.close(fd)
        draft.unlink(missing_ok=True)
        raise
    try:
        yield
    finally:
        record.unlink(missing_ok=True)
        os.close(fd)


def recorded_port(folder: Path) -> int | None:
    """The port the engine running on ``folder`` listens on, as it recorded it; None when no engine
    runs there: no record, or one an engine killed left (its lock is free), or one unreadable."""
    if fcntl is None:
        return None
    try:
        fd = os.open(folder / RECORD_NAME, os.O_RDONLY)
    except OSError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:   # held: its engine runs
            text = os.read(fd, 32).decode("ascii", "replace").strip()
            return int(text) if text.isdecimal() else None
        return None   # taken at once: the engine that wrote it is gone
    finally:
        os.close(fd)
