"""A crash at a chosen commit to the journal's file: installed as ``sitecustomize.py`` on the
PYTHONPATH of a ``moonhook run`` (``install``), it counts the commits the process makes to
``moonhook.db`` (a COMMIT, or a write outside a transaction, which commits by itself) on both of
the engine's connections, and kills the process (SIGKILL) right after the chosen one (or right
before it runs, with ``CRASH_POINT_BEFORE=1``). Test-only: nothing of it is in the product.

    CRASH_POINT_AT=N            the Nth commit of the process
    CRASH_POINT_AT=WRITE#K      the Kth commit that writes a statement starting with WRITE
                                (``INSERT INTO paper_deals#2``): the same step of the session
                                whatever the tasks' commits around it, which batch as they come
    CRASH_POINT_BEFORE=1        die before that commit runs, not after
    CRASH_POINT_TRACE=FILE      each commit appended to FILE as "N: its writes", to count them

Other processes (the sandbox's workers, ``moonhook init``) open no ``moonhook.db`` for writing
and are left alone; a read-only connection (``mode=ro``) is never counted.
"""

from __future__ import annotations

import os
import shutil
import signal
import sqlite3
import threading
from pathlib import Path

_AT = os.environ.get("CRASH_POINT_AT", "")
_WRITE, _, _NTH = _AT.rpartition("#")  # "" and N for a plain count
_BEFORE = os.environ.get("CRASH_POINT_BEFORE") == "1"
_TRACE = os.environ.get("CRASH_POINT_TRACE")
_WRITES = ("INSERT", "UPDATE", "DELETE", "REPLACE", "CREATE", "DROP", "ALTER")
_counts = {"": 0}  # commits in all (""), and those that wrote _WRITE
_lock = threading.Lock()  # the journal commits in a thread, the engine's connection on the loop


def _first(sql: str) -> str:
    words = sql.lstrip().split(None, 1)
    return words[0].upper() if words else ""


def _commits(conn: sqlite3.Connection, sql: str) -> bool:
    first = _first(sql)
    return first in ("COMMIT", "END") or (first in _WRITES and not conn.in_transaction)


def _counted(conn: "_Counting", sql: str, run):
    first = _first(sql)
    if first in _WRITES:
        conn.written.append(" ".join(sql.split()[:3]))
    if first == "ROLLBACK":
        conn.written = []
    if not _commits(conn, sql):
        return run()
    written, conn.written = conn.written, []
    with _lock:  # one commit counted at a time: the chosen one is one statement, whichever thread runs it
        _counts[""] += 1
        if _WRITE and any(w.upper().startswith(_WRITE.upper()) for w in written):
            _counts[_WRITE] = _counts.get(_WRITE, 0) + 1
        chosen = _counts.get(_WRITE, 0) == int(_NTH) if _WRITE else _counts[""] == int(_NTH or 0)
        if _TRACE:
            with open(_TRACE, "a", encoding="utf-8") as f:
                f.write(f"{_counts['']}: {'; '.join(dict.fromkeys(written))}\n")
        if chosen and _BEFORE:
            os.kill(os.getpid(), signal.SIGKILL)
        result = run()
        if chosen:
            os.kill(os.getpid(), signal.SIGKILL)
        return result


class _Counting(sqlite3.Connection):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.written: list[str] = []  # the writes of the transaction so far

    def execute(self, sql, *args):
        return _counted(self, sql, lambda: super(_Counting, self).execute(sql, *args))

    def executemany(self, sql, *args):
        return _counted(self, sql, lambda: super(_Counting, self).executemany(sql, *args))

    def executescript(self, script):
        assert not _commits(self, script), "a write script is not counted statement by statement"
        return super().executescript(script)


_connect = sqlite3.connect


def _connect_counting(database, *args, **kwargs):
    if str(database).endswith("moonhook.db") and not kwargs.get("uri") and "factory" not in kwargs:
        kwargs["factory"] = _Counting
    return _connect(database, *args, **kwargs)


def install(site: Path) -> None:
    """This module copied to ``site`` as its ``sitecustomize.py`` (``site`` on the PYTHONPATH)."""
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy(__file__, site / "sitecustomize.py")


if __name__ == "sitecustomize" and (_AT or _TRACE):
    sqlite3.connect = _connect_counting
