"""Scripts' ``plugin`` tables by the hash of their source, kept across restarts, so that a
plugin's budget is known before its script runs (see ``engine/core/loader.py``)."""

from __future__ import annotations

import json
import time
from typing import Any

from engine.adapters.storage.database import Database

MAX_ENTRIES = 10_000  # the oldest are forgotten beyond this (a cache: losing one costs a compile)
KEEP = 9_000          # what forgetting leaves: the whole table is sorted once in MAX_ENTRIES - KEEP new scripts


class MetaCache:
    def __init__(self, database: Database):
        self._d = database
        with database.lock:
            self._known: dict[str, Any] = {
                digest: json.loads(meta) for digest, meta in database.db.execute(
                    "SELECT digest, meta FROM plugin_meta ORDER BY seen_at DESC LIMIT ?", [MAX_ENTRIES])}

    def get(self, digest: str) -> Any:
        return self._known.get(digest)

    def put(self, digest: str, meta: Any) -> None:
        """Remembers ``meta`` (plain data) for ``digest``; written at once, on the engine's connection.
        Each save of a script is a new digest (an editor saving as the trader types makes thousands):
        past MAX_ENTRIES the oldest are forgotten, in the file and here, down to KEEP at once. Sorting
        the table at every save held the event loop for longer with each (10 ms at 4,000), and
        memory kept every digest of the run."""
        self._known[digest] = meta
        with self._d.transaction() as db:
            db.execute("INSERT INTO plugin_meta (digest, meta, seen_at) VALUES (?, ?, ?) ON CONFLICT (digest) "
                       "DO UPDATE SET meta = excluded.meta, seen_at = excluded.seen_at",
                       [digest, json.dumps(meta), time.time()])
            if len(self._known) > MAX_ENTRIES:
                db.execute("DELETE FROM plugin_meta WHERE digest NOT IN "
                           "(SELECT digest FROM plugin_meta ORDER BY seen_at DESC LIMIT ?)", [KEEP])
                kept = {row[0] for row in db.execute("SELECT digest FROM plugin_meta")}
                self._known = {known: m for known, m in self._known.items() if known in kept}
