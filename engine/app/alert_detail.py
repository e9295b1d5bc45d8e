"""An alert's detail as ``GET /api/alerts/<id>`` and the dashboard answer it: what each plugin
decided, the version of each plugin that decided it, and its timings, from the journal's row and
the ledger's orders; the versions and timings said in words too, as the overview's panels are
(``words``: the page shows them, the JSON keeps the keys)."""

from __future__ import annotations

from typing import Any, Callable

from engine.domain.orders import OPENING
from engine.domain.times import when
from engine.domain.words import millis


def completed(row: dict[str, Any]) -> dict[str, Any]:
    """``row`` (the journal's entry with its ``orders`` from the ledger) given its ``decisions``
    (the outcome's on_alert steps) and ``timings``: receipt and finish, receipt to the broker
    and to finish in ms, and each order's; and ``words``: the versions that decided it and the
    timings as the dashboard says them."""
    outcome = row.get("outcome") or {}
    row["decisions"] = outcome.get("plugins") or []
    finished = row["updated_at"] if row["status"] != "received" else None
    row["timings"] = {"received_at": row["received_at"], "finished_at": finished,
                      "to_broker_ms": outcome.get("latency_ms"),
                      "total_ms": round((finished - row["received_at"]) * 1000, 3) if finished else None,
                      "orders": [{"client_id": o["client_id"], "to_broker_ms": o["latency_ms"],
                                  "answered_at": o["done_at"]} for o in row["orders"]]}
    row["words"] = {"versions": versions(outcome), "timings": words(row["timings"]), "parts": parts(row)}
    return row


def listed(rows: list[dict[str, Any]], orders_of: Callable[[list[int]], dict[int, list[dict[str, Any]]]]
           ) -> list[dict[str, Any]]:
    """``rows`` (the journal's entries of ``/api/alerts``) with their outcome's records of entries filled in part
    given ``asked`` and ``part`` as the detail gives them (``parts``): the list read 0.3 lots filled of 0.5 asked
    as a whole fill. ``orders_of`` (the ledger's) reads the orders of those with any, in one read; none is kept."""
    ordered = orders_of([row["id"] for row in rows if (row.get("outcome") or {}).get("orders")])
    for row in rows:
        if row["id"] in ordered:
            parts({**row, "orders": ordered[row["id"]]})
    return rows


def parts(row: dict[str, Any]) -> list[str]:
    """Marks each entry the market filled in part (MetaTrader 5: a thin book), its ledger order's and its
    outcome's record, with ``asked`` (the request's lots) and ``part`` ("filled in part, 0.3 of 0.5 lots asked;
    ..."): the outcome has the lots filled only, and read as a whole fill of a smaller order. Returns those
    words, each after its plugin and order ("trend: buy GBPUSD filled in part, ..."), for the detail's line."""
    records = {o.get("client_id"): o for o in (row.get("outcome") or {}).get("orders") or () if isinstance(o, dict)}
    said = []
    for order in row["orders"]:
        request, result = order["request"] or {}, order["result"] or {}
        asked, filled = request.get("volume"), result.get("volume")
        if request.get("kind") not in OPENING or not result.get("ok") or not asked or filled is None \
                or filled >= asked - 1e-9:
            continue
        rest = "the rest is pending" if request["kind"] == "pending" else "the market filled no more"
        order["part"] = f"filled in part, {filled:g} of {asked:g} lots asked; {rest}"
        if (record := records.get(order["client_id"])) is not None:
            record.update(asked=asked, part=order["part"])
        said.append(f"{order['plugin']}: {request.get('side')} {request.get('symbol')} {order['part']}")
    return said


def versions(outcome: dict[str, Any]) -> list[list[str]]:
    """Each plugin whose hooks decided the alert (its on_alert, its orders' on_order) and the
    version it ran, as ``/api/plugins`` says the version serving: ``[plugin, version]`` pairs, in
    the order they were called. An alert decided before moonhook kept them says so."""
    if outcome.get("versions"):
        return [[plugin, version] for plugin, version in outcome["versions"].items()]
    if "versions" not in outcome and outcome.get("plugins"):
        return [["Versions", "not kept: decided before moonhook kept them"]]
    return [["Versions", "none: no plugin has decided it"]]


def words(timings: dict[str, Any]) -> list[list[str]]:
    """``timings`` as ``[label, value]`` pairs: the moments in UTC, the spans with their unit, a
    pair for each order (its client id, how long after the receipt it reached the broker, and
    when the broker answered)."""
    said = [["Received", when(timings["received_at"])],
            ["Finished", _moment(timings["finished_at"])],
            ["Receipt to the broker", _span(timings["to_broker_ms"], "no order sent")],
            ["Receipt to finish", _span(timings["total_ms"], "not finished yet")]]
    for order in timings["orders"]:
        answered = f"answered {when(order['answered_at'])}" if order["answered_at"] is not None else "no answer yet"
        sent = f"{millis(ms)} after receipt, " if (ms := order["to_broker_ms"]) is not None else ""
        said.append([f"Order {order['client_id']}", sent + answered])
    return said


def _moment(at: float | None) -> str:
    return when(at) if at is not None else "not yet"


def _span(ms: float | None, missing: str) -> str:
    return millis(ms) if ms is not None else missing
