"""Plans written ahead: the orders an alert's execution decided on, kept before the first
is sent, for the plans that cannot be worked out again after a crash.

Closing part of several positions closes some whole and one in part. Once some of them are
closed, the positions left no longer say which were meant, and planning again would close
more. A ``closeall`` closes each symbol with a position: once some are closed, planning again
would not name them, and their closes (done, or with a lost answer) would never be asked
again. The plan is written here first; an alert processed again after a crash sends the same
requests, which the broker finds done by their client ids.
"""

from __future__ import annotations

import json
import time

from engine.adapters.storage.database import Database
from engine.domain.orders import OrderRequest


class PlanBook:
    def __init__(self, database: Database):
        self._d = database

    async def written(self, alert_id: int) -> list[OrderRequest] | None:
        """The requests written for ``alert_id``, in order; None if none were."""
        with self._d.lock:
            row = self._d.db.execute("SELECT requests FROM plans WHERE alert_id = ?", [alert_id]).fetchone()
        return None if row is None else [OrderRequest(**r) for r in json.loads(row[0])]

    async def write(self, alert_id: int, requests: list[OrderRequest]) -> None:
        """Writes ``requests`` for ``alert_id`` durably (the first plan written stands)."""
        await self._d.writable()
        with self._d.transaction() as db:
            db.execute("INSERT OR IGNORE INTO plans (alert_id, requests, created_at) VALUES (?, ?, ?)",
                       [alert_id, json.dumps([r.to_plain() for r in requests]), time.time()])
