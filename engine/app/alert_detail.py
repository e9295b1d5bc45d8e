"""An alert's detail as ``GET /api/alerts/<id>`` and the dashboard answer it: what each plugin
decided, and its timings, from the journal's row and the ledger's orders."""

from __future__ import annotations

from typing import Any


def completed(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (the journal's entry with its ``orders`` from the ledger) given its ``decisions``
    (the outcome's on_alert steps) and ``timings``: receipt and finish, receipt to the broker
    and to finish in ms, and each order's."""
    outcome = row.get("outcome") or {}
    row["decisions"] = outcome.get("plugins") or []
    finished = row["updated_at"] if row["status"] != "received" else None
    row["timings"] = {"received_at": row["received_at"], "finished_at": finished,
                      "to_broker_ms": outcome.get("latency_ms"),
                      "total_ms": round((finished - row["received_at"]) * 1000, 3) if finished else None,
                      "orders": [{"client_id": o["client_id"], "to_broker_ms": o["latency_ms"],
                                  "answered_at": o["done_at"]} for o in row["orders"]]}
    return row
