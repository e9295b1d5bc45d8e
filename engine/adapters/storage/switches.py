"""The safety switches, kept across restarts: the engine's pause and each plugin's on/off, with
who switched it, when and why.

One row per target (table ``switches``, migration 7): ``pause`` (state ``paused`` or
``running``), ``plugin:NAME`` (state ``enabled`` or ``disabled``), and ``guard:FILE`` (state
``guard`` while the file's last loaded version is a guard, else ``plain``: a guard that does not
load at the next start is known for one), and ``served:NAME`` (state: the file the plugin
NAME was last loaded from, for a name two files claim at a start), and ``account`` (state: the
account the last run traded on, at: since when, ``engine/core/account_change.py``). Only the last
switch of each is kept. What the states mean at a start is the engine's (``engine/core/switchboard.py``).

A switch is written on the engine's connection with ``synchronous=FULL`` for its own commit:
durable once ``set`` returns, through a power cut too, unlike the engine's other writes,
which wait for the journal's next fsync. Switches are rare; an unsafe one lost is not.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from engine.adapters.storage.database import Database

PAUSE = "pause"
PLUGIN = "plugin:"  # + the plugin's name
GUARD = "guard:"  # + the script's file name
SERVED = "served:"  # + the plugin's name; state: the file that served it last


@dataclass(frozen=True)
class Switch:
    """One kept switch. ``by``: api, telegram:<user id>, breaker, reload; ``at``: the engine's
    clock (seconds since the epoch); ``digest``: the plugin's source when it was switched."""

    target: str
    state: str
    by: str
    at: float
    reason: str | None = None
    digest: str | None = None

    def to_plain(self) -> dict[str, Any]:
        return {"by": self.by, "at": self.at, "reason": self.reason}


class Switches:
    """Over the table ``switches``; reads and writes go through the connection's lock."""

    def __init__(self, database: Database):
        self._d = database

    def all(self) -> dict[str, Switch]:
        """Every kept switch by target."""
        with self._d.lock:
            rows = self._d.db.execute("SELECT target, state, by, at, reason, digest FROM switches").fetchall()
        return {row[0]: Switch(*row) for row in rows}

    def get(self, target: str) -> Switch | None:
        with self._d.lock:
            row = self._d.db.execute("SELECT target, state, by, at, reason, digest FROM switches WHERE target = ?",
                                     [target]).fetchone()
        return Switch(*row) if row else None

    def set(self, switch: Switch) -> None:
        """Keeps ``switch`` in place of the target's last one; durable (fsynced) once this returns.
        Raises sqlite3.Error if it cannot be written: the switch is then not kept. The
        connection must have the shared (re-entrant) lock, as the engine's has."""
        with self._d.lock:  # no other write may commit under this connection's FULL meanwhile
            conn = self._d.db.conn
            (before,) = conn.execute("PRAGMA synchronous").fetchone()
            conn.execute("PRAGMA synchronous=FULL")
            try:
                with self._d.transaction() as db:
                    db.execute(
                        "INSERT INTO switches (target, state, by, at, reason, digest) VALUES (?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT (target) DO UPDATE SET state = excluded.state, by = excluded.by, "
                        "at = excluded.at, reason = excluded.reason, digest = excluded.digest",
                        [switch.target, switch.state, switch.by, switch.at, switch.reason, switch.digest])
            finally:
                conn.execute(f"PRAGMA synchronous={int(before)}")
