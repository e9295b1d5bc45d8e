"""The order ledger: every order request the engine made, with what became of it.

Each request is written here before the broker's call (status "unknown") and finished with
its answer after it: a crash in between leaves the request known, so that the alert processed
again is held to the order it first asked for, and the entry counts toward the hour's entries
(``entries_since``). A broker keeps the trace that
makes a call safe to repeat in its own books: the paper broker records client ids in the same
transaction as the fill; MetaTrader 5, which cannot, writes each send down before the call
(engine/brokers/mt5/book.py), and reconciliation resolves what a crash mid-call left open.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable

from engine.domain.orders import OPENING, RESULT_FIELDS, OrderRequest, OrderResult
from engine.adapters.storage.database import Database, select
from engine.adapters.storage.journal import ALERT_BY_ID, UNFINISHED, decoded

STATUSES = ("done", "refused", "vetoed", "unknown")
_OF_ALERT = "SELECT * FROM orders WHERE alert_id = ? ORDER BY created_at, client_id"
_IDENTITY = ("kind", "symbol", "side", "ticket", "type")  # what makes two requests the same order


@dataclass(frozen=True)
class Settled:
    """What ``OrderLedger.settled`` wrote: the order's row (its ``plugin``, ``alert_id`` and plain
    ``request``) and ``alert_status``, its alert's status now, when its outcome took the answer
    (None for an order of no alert, or of an alert whose outcome is written from its rows later)."""

    plugin: str
    alert_id: int | None
    request: dict[str, Any]
    alert_status: str | None
    was: str = "unknown"   # the row's status before: "refused" for one the broker did (more of) later


class OrderLedger:
    def __init__(self, database: Database):
        self._d = database

    def finish(self, request: OrderRequest, status: str, result: OrderResult | None,
               latency_ms: float | None = None) -> None:
        if status not in STATUSES:
            raise ValueError(f"unknown order status {status!r} (known: {', '.join(STATUSES)})")
        self._write(request, status, result, latency_ms)

    def sending(self, request: OrderRequest) -> None:
        """``request`` written down before the broker's call, as "unknown", unless its client
        id has a row already: the first request under a client id stays (see ``clash``)."""
        with self._d.transaction() as db:
            db.execute("INSERT INTO orders (client_id, alert_id, plugin, kind, request, status, created_at) "
                       "VALUES (?, ?, ?, ?, ?, 'unknown', ?) ON CONFLICT (client_id) DO NOTHING",
                       [request.client_id, request.alert_id, request.plugin, request.kind,
                        json.dumps(request.to_plain()), time.time()])

    def unsent(self, client_id: str) -> None:
        """The request under ``client_id``, written down by ``sending``, never went: the broker
        could not serve, and sent nothing (``Broker.execute`` raised BrokerError). Its row goes,
        unless an earlier call left it answered: no expired alert says it may be live, and no
        look for it at the broker follows. The alert run again writes it anew."""
        with self._d.transaction() as db:
            db.execute("DELETE FROM orders WHERE client_id = ? AND status = 'unknown' AND result IS NULL", [client_id])

    def answered(self, client_id: str, result: OrderResult) -> None:
        """The broker's ``result`` for the first request under ``client_id``, if a crash left
        its answer unknown (the request now asked under it is another: ``clash``)."""
        with self._d.transaction() as db:
            db.execute("UPDATE orders SET status = ?, result = ?, done_at = ? "
                       "WHERE client_id = ? AND status = 'unknown'",
                       ["done" if result.ok else "refused", json.dumps(result.to_plain()), time.time(), client_id])

    def settled(self, client_id: str, result: OrderResult, alone: bool = False,
                also: Callable[[Any, Settled], None] | None = None) -> Settled | bool:
        """``answered``, for an order whose answer was lost, now known at the broker (``unsettled.py``),
        and in the same transaction its alert's outcome: its record there takes ``result``, and an
        alert failed for no other reason than orders now all done is done. What was written
        (``Settled``); True if nothing was: answered meanwhile (its alert run again, another look);
        False while its alert's outcome is not written yet (its run goes on: looked at again later),
        unless ``alone``: the row alone, for an alert expiring now, whose outcome is written from its rows.
        A row refused takes a ``result`` done: the broker judged a lost answer not executed, and it executed later;
        or one refused still that closed more (a close by symbol's part executed later, another part refused).
        ``also(db, settled)`` writes more in the same transaction (the trader's message of it: told once, whatever
        crash comes)."""
        with self._d.transaction() as db:
            row = db.execute("SELECT o.status, a.id, a.status, a.outcome, o.plugin, o.alert_id, o.request, o.result "
                             "FROM orders o LEFT JOIN alerts a ON a.id = o.alert_id WHERE o.client_id = ?",
                             [client_id]).fetchone()
            overturned = row is not None and row[0] == "refused" and (result.ok or _more(row[7], result))
            if row is None or row[0] != "unknown" and not overturned:
                return True
            if row[2] in UNFINISHED and not alone:
                return False
            db.execute("UPDATE orders SET status = ?, result = ?, done_at = ? WHERE client_id = ?",
                       ["done" if result.ok else "refused", json.dumps(result.to_plain()), time.time(), client_id])
            status = None
            if row[3] is not None and row[2] not in UNFINISHED:
                status, outcome = _told(row[2], json.loads(row[3]), client_id, result)
                db.execute("UPDATE alerts SET status = ?, outcome = ? WHERE id = ?",
                           [status, json.dumps(outcome, default=str), row[1]])
            written = Settled(row[4], row[5], json.loads(row[6]), status, row[0])
            if also is not None:
                also(db, written)
        return written

    def _write(self, request: OrderRequest, status: str, result: OrderResult | None,
               latency_ms: float | None) -> None:
        now = time.time()
        with self._d.transaction() as db:
            db.execute(
                "INSERT INTO orders (client_id, alert_id, plugin, kind, request, status, result, created_at, "
                "done_at, latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (client_id) DO UPDATE SET "
                "request = excluded.request, status = excluded.status, result = excluded.result, "
                "done_at = excluded.done_at, latency_ms = COALESCE(excluded.latency_ms, orders.latency_ms)",
                [request.client_id, request.alert_id, request.plugin, request.kind,
                 json.dumps(request.to_plain()), status,
                 json.dumps(result.to_plain()) if result is not None else None, now,
                 now, latency_ms])

    def clash(self, request: OrderRequest) -> str | None:
        """Why ``request`` is not the order its client id was first given to, or None (the
        same order, or none recorded). An alert processed again after a crash meets its
        client ids again; a plugin deciding otherwise the second time asks for another order
        under a client id the broker has already executed."""
        with self._d.lock:
            row = self._d.db.execute("SELECT request FROM orders WHERE client_id = ?", [request.client_id]).fetchone()
        if row is None:
            return None
        first = json.loads(row[0])
        now = request.to_plain()
        if all(first.get(k) == now.get(k) for k in _IDENTITY):
            return None
        return (f"not sent: {request.client_id} was {_named(first)} before a restart, and is {_named(now)} now "
                "(the plugin decided otherwise the second time); the first order stands")

    def request(self, client_id: str) -> dict[str, Any] | None:
        """The request first written under ``client_id`` (plain, as ``OrderRequest.to_plain``), None if none."""
        with self._d.lock:
            row = self._d.db.execute("SELECT request FROM orders WHERE client_id = ?", [client_id]).fetchone()
        return None if row is None else json.loads(row[0])

    def refusal(self, client_id: str) -> str | None:
        """The error of the refusal ``client_id`` was answered, None if it was not refused."""
        with self._d.lock:
            row = self._d.db.execute("SELECT result FROM orders WHERE client_id = ? AND status = 'refused'",
                                     [client_id]).fetchone()
        return (json.loads(row[0]) or {}).get("error") if row and row[0] else None

    def entries_since(self, since: float) -> list[float]:
        """When each entry the broker made after ``since`` was asked, oldest first: the last
        hour's count for ``engine.max_entries_per_hour`` survives a restart. An entry whose
        answer a crash left unknown counts: it may have been made."""
        with self._d.lock:
            rows = self._d.db.execute(
                f"SELECT created_at FROM orders WHERE created_at > ? AND status IN ('done', 'unknown') AND kind IN "
                f"({', '.join('?' * len(OPENING))}) ORDER BY created_at", [since, *OPENING]).fetchall()
        return [row[0] for row in rows]

    def plugin_entries_since(self, since: float) -> list[tuple[str, float]]:
        """Which plugin asked each entry of no alert (from its timers and broker events) after
        ``since``, and when, oldest first, whatever the answer: ``engine.max_plugin_entries_per_minute``
        counts what a script placed, and its count survives a restart."""
        with self._d.lock:
            rows = self._d.db.execute(
                f"SELECT plugin, created_at FROM orders WHERE created_at > ? AND alert_id IS NULL AND kind IN "
                f"({', '.join('?' * len(OPENING))}) ORDER BY created_at", [since, *OPENING]).fetchall()
        return [(row[0], row[1]) for row in rows]

    def unknown_not_run_again(self) -> list[str]:
        """The client ids whose answer is unknown and which no alert runs again, oldest first: an
        administrator's, a timer's, a broker event's order, and one of an alert that is over (an
        alert that expired, or was settled with it unknown, is never run again to meet it)."""
        with self._d.lock:
            # Through the index orders_unknown (migration 16), each order's alert by its id.
            rows = self._d.db.execute("SELECT o.client_id FROM orders o LEFT JOIN alerts a ON a.id = o.alert_id "
                                      "WHERE o.status = 'unknown' AND (o.alert_id IS NULL OR a.status NOT IN "
                                      "('received', 'paused')) ORDER BY o.created_at").fetchall()
        return [row[0] for row in rows]

    def for_alert(self, alert_id: int) -> list[dict[str, Any]]:
        return self._rows(_OF_ALERT, [alert_id])

    def for_alerts(self, alert_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
        """The orders of each of ``alert_ids`` (an alerts' page: at most 500), by alert, in one read."""
        marks = ", ".join("?" * len(alert_ids))
        found: dict[int, list[dict[str, Any]]] = {}
        for row in self._rows(f"SELECT * FROM orders WHERE alert_id IN ({marks}) ORDER BY created_at, client_id",
                              list(alert_ids)) if alert_ids else ():
            found.setdefault(row["alert_id"], []).append(row)
        return found

    def alert_with_orders(self, alert_id: int) -> dict[str, Any] | None:
        """The journal's row of the alert with its ``orders``, read in one read transaction on this
        connection: the orders as new as their alert (two reads let a commit between them, a lost
        answer settled, show an order done beside its alert still failed). None if there is no such alert."""
        with self._d.lock:
            db = self._d.db
            db.execute("BEGIN")
            try:
                alerts = select(db, ALERT_BY_ID, [alert_id])
                orders = select(db, _OF_ALERT, [alert_id]) if alerts else []
            finally:
                db.execute("COMMIT")
        if not alerts:
            return None
        return {**decoded(alerts[0]), "orders": [_order(r) for r in orders]}

    def recent(self, limit: int = 50) -> list[dict[str, Any]]:
        return self._rows("SELECT * FROM orders ORDER BY created_at DESC LIMIT ?", [limit])

    def _rows(self, sql: str, params: list) -> list[dict[str, Any]]:
        with self._d.lock:
            rows = select(self._d.db, sql, params)
        return [_order(r) for r in rows]


def _order(row: dict[str, Any]) -> dict[str, Any]:
    """A row of ``orders`` as read, its JSON columns (``request``, ``result``) read."""
    row["request"] = json.loads(row["request"])
    row["result"] = json.loads(row["result"]) if row["result"] else None
    return row


def _told(status: str, outcome: dict[str, Any], client_id: str, result: OrderResult) -> tuple[str, dict[str, Any]]:
    """An alert's ``status`` and ``outcome`` once the order ``client_id``, its answer lost, has
    ``result`` at the broker: its record takes it (the request's fields stay); "failed" for
    that order alone, not for an error of the alert's, is "done" once every order is."""
    orders = [{**{k: v for k, v in o.items() if k not in RESULT_FIELDS}, **result.to_plain()}
              if isinstance(o, dict) and o.get("client_id") == client_id else o for o in outcome.get("orders") or ()]
    outcome = {**outcome, "orders": orders} if "orders" in outcome else outcome
    if status == "failed" and "error" not in outcome and orders and all(o.get("ok") for o in orders):
        status = "done"
    return status, outcome


def _more(was: str | None, result: OrderResult) -> bool:
    """Whether ``result`` closed positions the refusal ``was`` (plain JSON) did not."""
    return bool(set(result.closed or ()) - set((json.loads(was) if was else {}).get("closed") or ()))


def _named(request: dict[str, Any]) -> str:
    words = [request.get("kind"), request.get("type"), request.get("side"), request.get("symbol")]
    if request.get("ticket") is not None:
        words.append(f"ticket {request['ticket']}")
    return "a " + " ".join(str(w) for w in words if w)
