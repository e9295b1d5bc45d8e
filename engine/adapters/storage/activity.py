"""What the order ledger tells about recent activity, for the dashboard's overview and trades:
the day's orders, the receipt-to-broker latency of the last hour, the last refusals, and
which plugin opened a position.

Read-only queries over the ``orders`` table that ``ledger.py`` writes; ``created_at`` is
indexed (migration 8), so a window of time costs the rows in it, not the whole ledger; so are
the refusals by time and the orders that opened positions by ticket (migration 13).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from engine.adapters.storage.database import Database, select

# The ticket an order's result names, as the index orders_opened (migration 13) has it, word for
# word, so that SQLite uses it.
TICKET = "CASE WHEN json_valid(result) THEN json_extract(result, '$.ticket') END"
SENT = ("done", "refused")        # reached the broker (a vetoed order never did)
REFUSED = ("refused", "vetoed")   # by the broker, or by a plugin's on_order


class OrderActivity:
    def __init__(self, database: Database):
        self._d = database

    def counts_since(self, since: float) -> dict[str, int]:
        """Orders sent to the broker at or after ``since`` (Unix time), those whose answer is
        not known yet with them (the broker may have executed them), and orders refused (by the
        broker or vetoed by a plugin)."""
        with self._d.lock:
            sent, refused = self._d.db.execute(
                "SELECT count(*) FILTER (WHERE status IN ('done', 'refused', 'unknown')), "
                "count(*) FILTER (WHERE status IN ('refused', 'vetoed')) FROM orders WHERE created_at >= ?",
                [since]).fetchone()
        return {"sent": sent, "refused": refused}

    def latencies_since(self, since: float) -> list[tuple[float, float]]:
        """(when, milliseconds from the alert's receipt to the broker call) of each order of an
        alert written at or after ``since``, oldest first."""
        with self._d.lock:
            rows = self._d.db.execute(
                "SELECT created_at, latency_ms FROM orders WHERE created_at >= ? AND latency_ms IS NOT NULL "
                "ORDER BY created_at", [since]).fetchall()
        return [(at, ms) for at, ms in rows]

    def refused(self, limit: int) -> list[dict[str, Any]]:
        """The last ``limit`` orders refused or vetoed, newest first: {at, alert_id, plugin,
        client_id, kind, symbol, error}."""
        with self._d.lock:
            rows = select(self._d.db,
                          "SELECT client_id, alert_id, plugin, kind, request, result, created_at FROM orders "
                          "WHERE status IN ('refused', 'vetoed') ORDER BY created_at DESC LIMIT ?", [limit])
        out = []
        for r in rows:
            request = json.loads(r["request"])
            result = json.loads(r["result"]) if r["result"] else {}
            out.append({"at": r["created_at"], "alert_id": r["alert_id"], "plugin": r["plugin"],
                        "client_id": r["client_id"], "kind": r["kind"], "symbol": request.get("symbol"),
                        "error": result.get("error")})
        return out

    def openers(self, tickets: Iterable[int]) -> dict[int, str]:
        """Ticket -> the plugin whose market or pending order the broker answered with that
        ticket: the plugin that opened the position of that ticket (a position is numbered
        after the order that opened it, at the paper broker and at MetaTrader 5 alike)."""
        wanted = sorted({int(t) for t in tickets if t is not None})
        found: dict[int, str] = {}
        for start in range(0, len(wanted), 500):  # SQLite's limit on parameters, well within
            chunk = wanted[start:start + 500]
            with self._d.lock:
                rows = self._d.db.execute(
                    f"SELECT {TICKET}, plugin FROM orders WHERE kind IN ('market', 'pending') AND status = 'done' "
                    f"AND {TICKET} IN ({', '.join('?' * len(chunk))})",
                    chunk).fetchall()
            found.update({int(ticket): plugin for ticket, plugin in rows})
        return found
