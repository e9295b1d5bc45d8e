"""What the MT5 broker writes down: each send before it goes (by its tag), each request's
final result (by its client id), each plugin's magic number, and how far the deal history
has been read. A restart reads it back: nothing sent is forgotten, nothing is sent twice."""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from typing import Any, Iterator

from engine.adapters.brokers.mt5.constants import ACTION_MODIFY, ACTION_REMOVE, ACTION_SLTP, CLOSED_OTHERWISE, \
    NOT_EXECUTED
from engine.adapters.brokers.mt5.orders import tag_for
from engine.adapters.storage import Database, select
from engine.adapters.storage.untold import UntoldEvents
from engine.domain.orders import Event, Overturned

OPEN_STATES = ("sending", "unknown")
SEND_STATES = (*OPEN_STATES, "lost", "refused", "done")
# A send of a close in flight, or whose answer was lost and is looked for (no result of its own yet).
_NOT_KNOWN = ("not known: the close of position {} was sent, its answer not known yet; it is looked for, never "
              "sent again")
# How long an entry whose answer was lost, never found, holds its place in engine.max_open_positions
# (``in_doubt``): a slow trade server, or the far side of a bridge, may still execute it meanwhile.
# It stays "not known" after, and its fill is told if it comes; the place is not held for ever.
LATE_HOLD = 3_600
# How long a stop change or modify whose answer was lost, judged not executed (its stops unchanged), is
# looked at again (``unchanged_changes``): the far side of a bridge applies it within moments, if ever;
# stops found as asked much later are more likely the trader's own doing.
CHANGE_HOLD = 600
# The mt5_state key of when the book came to the account it is of (``accounts.py``): the sends
# written down before were made at another account, never looked for nor held in doubt at this one.
SINCE = "account_since"


class Book:
    def __init__(self, database: Database, magic_base: int):
        self._d = database
        self._magic_base = magic_base
        self.untold = UntoldEvents(database)  # the deals' events until told (``put_states``)
        with database.lock:
            rows = database.db.execute("SELECT plugin, magic FROM mt5_magic").fetchall()
        self._magic = dict(rows)
        self._plugin = {m: p for p, m in rows}
        self._overturns: set[str] = set()  # client ids a send of which was overturned before their result

    # -- results by client id -------------------------------------------------------------

    def result(self, client_id: str) -> dict[str, Any] | None:
        with self._d.lock:
            row = self._d.db.execute("SELECT result FROM mt5_results WHERE client_id = ?", [client_id]).fetchone()
        return json.loads(row[0]) if row else None

    def first_result(self, client_id: str) -> dict[str, Any] | None:
        """What ``client_id`` came to: its final result, what its sends did, a refusal for good, or
        its answer lost (not known); None if it was never sent."""
        return (self.result(client_id) or self.executed_result(client_id) or self.refused_for_good(client_id)
                or self.lost_result(client_id) or self.not_executed(client_id))

    def finish(self, client_id: str, result: dict[str, Any], db: Any = None) -> None:
        """``result``, ``client_id``'s final one, written (inside the caller's transaction ``db`` if given)."""
        with self._written(db) as db:
            db.execute("INSERT OR REPLACE INTO mt5_results (client_id, result, at) VALUES (?, ?, ?)",
                       [client_id, json.dumps(result), time.time()])

    def overturned(self, client_id: str, db: Any = None) -> None:
        """A send of ``client_id`` written down refused (a close whose answer was lost, its position
        still open whole then) executed after all: once every send of it has executed, the request's
        final result, a refusal, becomes what they did (``executed_result``), a repeat's answer. While
        another send of it stays refused or not known (a close by symbol's other part), the request did
        not do all it was asked: its answer says what it closed and why the rest was not.
        Before its result is written, the request is still being executed (``conclude`` writes it so)
        or was cut short (``first_result`` reads its sends)."""
        if self.result(client_id) is None:
            self._overturns.add(client_id)
        elif self.executed(client_id):
            self.finish(client_id, self.executed_result(client_id), db)

    def changed_after_all(self, tag: str, result: dict[str, Any], event: Overturned) -> None:
        """The stop change or modify ``tag``, written down refused as unchanged, in effect after all: done
        with ``result``, its request's final result what it did (``overturned``), and ``event`` kept until
        told (``untold``), in one transaction: a crash leaves it refused, to be looked at again, or told at
        the next start, never both."""
        with self._d.transaction() as db:
            self.settle(tag, "done", result, db)
            self.overturned(event.client_id, db)
            self.untold.keep(db, [event])

    def conclude(self, client_id: str, result: dict[str, Any]) -> dict[str, Any] | None:
        """``finish``: the request's answer ``result``; what its sends did instead if one was overturned
        while it was executed (its deal read just after it was judged not executed, before this write:
        ``overturned``), returned then; else None (a ``result`` done says it already, with its price)."""
        self.finish(client_id, result)
        if client_id not in self._overturns:
            return None
        self._overturns.discard(client_id)
        if result.get("ok"):
            return None
        self.overturned(client_id)
        return self.result(client_id)

    @contextmanager
    def _written(self, db: Any) -> Iterator[Any]:
        """The caller's transaction ``db``, else one of its own."""
        if db is not None:
            yield db
            return
        with self._d.transaction() as db:
            yield db

    # -- sends by tag -----------------------------------------------------------------------

    def send(self, tag: str) -> dict[str, Any] | None:
        with self._d.lock:
            rows = select(self._d.db, "SELECT * FROM mt5_sends WHERE tag = ?", [tag])
        return _decoded(rows[0]) if rows else None

    def sending(self, tag: str, client_id: str, kind: str, request: dict[str, Any], plugin: str | None = None) -> None:
        """Written (and committed) before order_send is called; ``plugin``: whose order it is (a
        close carries its position's magic number, the opener's, not the closer's)."""
        now = time.time()
        with self._d.transaction() as db:
            db.execute("INSERT INTO mt5_sends (tag, client_id, kind, state, request, created_at, updated_at, plugin) "
                       "VALUES (?, ?, ?, 'sending', ?, ?, ?, ?) ON CONFLICT (tag) DO UPDATE SET state = 'sending', "
                       "request = excluded.request, updated_at = excluded.updated_at",
                       [tag, client_id, kind, json.dumps(request), now, now, plugin])

    def settle(self, tag: str, state: str, result: dict[str, Any] | None = None, db: Any = None) -> None:
        with self._written(db) as db:
            db.execute("UPDATE mt5_sends SET state = ?, result = ?, updated_at = ? WHERE tag = ?",
                       [state, json.dumps(result) if result is not None else None, time.time(), tag])

    def executed(self, client_id: str) -> list[dict[str, Any]]:
        """The sends of ``client_id`` that executed, oldest first (a close by symbol is one a
        position): what it did even when its final result was never written (a power cut)."""
        return [s for s in self._over(client_id) if s["result"] and s["result"].get("ok")]

    def not_known(self, client_id: str) -> list[dict[str, Any]]:
        """The sends of ``client_id`` whose outcome is not known, oldest first: in flight, or lost."""
        return self._sends(client_id, ("sending", "unknown", "lost"))

    def lost_result(self, client_id: str) -> dict[str, Any] | None:
        """The answer a send of ``client_id`` has while lost, not found ("not known", ``unknown``):
        it may still arrive, so a repeat looks for it, never sends it again (nor is it refused
        by a limit or a pause, as a request never sent is)."""
        return next((s["result"] for s in self.not_known(client_id) if s["result"]), None)

    def refused_for_good(self, client_id: str) -> dict[str, Any] | None:
        """The refusal a send of ``client_id`` stands by, its answer lost and its order found
        ended unfilled (``Sender.settle``'s ``stands``): known, though no final result was written."""
        return next((s["result"] for s in self._over(client_id) if s["result"] and not s["result"].get("ok")), None)

    def not_executed(self, client_id: str) -> dict[str, Any] | None:
        """The refusal of a close, removal, modify or stop change of ``client_id`` none of whose sends
        executed and none is still not known: its answer lost, MetaTrader showed it not executed when
        looked at again (a reconnection's look: the order unchanged, the position open whole), and no
        final result was written (the request was answered unknown). Not one refused before it went
        (MetaTrader lost first: its alert waits and runs again), nor an entry's."""
        if self.not_known(client_id):
            return None
        refused = reversed(self._sends(client_id, ("refused",)))
        return next((s["result"] for s in refused if s["kind"] in ("close", "modify")
                     and str((s["result"] or {}).get("error")).startswith(NOT_EXECUTED)), None)

    def _over(self, client_id: str) -> list[dict[str, Any]]:
        return self._sends(client_id, ("done",))

    def _sends(self, client_id: str, states: tuple[str, ...]) -> list[dict[str, Any]]:
        """The sends of ``client_id`` in one of ``states``, oldest first."""
        with self._d.lock:
            rows = select(self._d.db, f"SELECT * FROM mt5_sends WHERE client_id = ? AND state IN "
                                      f"({', '.join('?' * len(states))}) ORDER BY created_at", [client_id, *states])
        return list(map(_decoded, rows))

    def executed_result(self, client_id: str) -> dict[str, Any] | None:
        """What ``client_id`` did by its executed sends, when its final result was never written: its
        one send's result, or the positions a close (by symbol, or in parts) closed; never done while
        another of its sends was refused or is not known: that one's error then, and ``unknown`` while
        one is not known (it is looked for until it is, as any lost answer). A close by symbol's part
        whose position something else closed first (``_met``) is met, said in the ``note``, as the
        close's own answer says it (``by_symbol.folded``). None if none executed nor was met."""
        executed = self.executed(client_id)
        met = {s["tag"]: why for s in self._over(client_id) if (why := _met(s)) is not None}
        if not executed and not met:
            return None
        if not all(s["kind"] == "close" and s["request"].get("position") for s in executed):   # a stop change: one
            return executed[0]["result"]
        closed = list(dict.fromkeys(s["request"]["position"] for s in executed))  # parts once
        done = {s["tag"] for s in executed} | set(met)
        rest = [s for s in self._sends(client_id, SEND_STATES) if s["tag"] not in done]
        note = {"note": "; ".join(met.values())} if met else {}
        if not rest:
            return {"ok": True, "closed": closed, **note}
        return {"ok": False, "closed": closed, "unknown": any(s["state"] in (*OPEN_STATES, "lost") for s in rest),
                "error": "; ".join(dict.fromkeys((s["result"] or {}).get("error") or _NOT_KNOWN.format(
                    s["request"].get("position")) for s in rest)), **note}

    def sent_so_far(self, client_id: str) -> str:
        """What ``client_id``'s request had done when the broker could no longer serve it (nothing
        in doubt): nothing, or the positions a close by symbol, or in parts, closed first."""
        positions = list(dict.fromkeys(s["request"].get("position") for s in self.executed(client_id)))
        if not positions:
            return "Nothing was sent"
        shown = ", ".join(str(p) for p in positions if p) or "its first part"
        return f"What it did stands (closed: {shown}); the rest is sent once MetaTrader is back"

    def cut_short(self, client_id: str, why: str) -> dict[str, Any]:
        """The answer to ``client_id``'s request cut short by ``why`` while a send of it may have reached
        MetaTrader (``unsettled``): not known, with the positions its sends closed before (a close by
        symbol's other parts), never as if nothing was closed."""
        closed = [s["request"]["position"] for s in self.executed(client_id) if s["request"].get("position")]
        return {"ok": False, "unknown": True, "closed": list(dict.fromkeys(closed)),
                "error": f"not done: {why}. It may have reached the broker: it is looked for there when MetaTrader "
                         "answers, and never sent again"}

    def unsettled(self, client_id: str) -> bool:
        """Whether a send of ``client_id`` may have reached MetaTrader, its outcome not known yet."""
        with self._d.lock:
            row = self._d.db.execute("SELECT 1 FROM mt5_sends WHERE client_id = ? AND state IN ('sending', 'unknown') "
                                     "LIMIT 1", [client_id]).fetchone()
        return row is not None

    def in_doubt(self) -> list[dict[str, Any]]:
        """The entries (market or pending) written down in the last LATE_HOLD seconds at this
        account whose outcome is not known, oldest first: in flight, or their answer lost and not
        found (they may still arrive)."""
        return self._recent(("sending", "unknown", "lost"), "kind IN ('market', 'pending')")

    def lost_closes(self) -> list[dict[str, Any]]:
        """The closes of positions (by ticket, by symbol, of a part) written down in the last LATE_HOLD
        seconds at this account whose answer was lost and never found ("lost"), oldest first: the poll
        looks for their end as for a lost entry's (``late.py``). Not a removal: the poll of the pending
        orders reads its order's end (``pending.py``)."""
        return self._recent(("lost",), "kind = 'close' AND json_extract(request, '$.position') IS NOT NULL")

    def unchanged_changes(self) -> list[dict[str, Any]]:
        """The stop changes and modifies of pending orders written down refused in the last CHANGE_HOLD
        seconds at this account, oldest first, none of moonhook's for the same position or order sent
        after them: the poll looks again at those judged unchanged (``late.changed``). One followed by
        another is left as it is: that one is what was asked last of those stops."""
        return self._recent(("refused",), "kind = 'modify' AND NOT EXISTS (SELECT 1 FROM mt5_sends AS later WHERE "
                                          "later.created_at > mt5_sends.created_at AND json_extract(later.request, "
                                          "'$.action') IN (?, ?) AND coalesce(json_extract(later.request, "
                                          "'$.position'), json_extract(later.request, '$.order')) = coalesce("
                                          "json_extract(mt5_sends.request, '$.position'), json_extract("
                                          "mt5_sends.request, '$.order')))", CHANGE_HOLD, [ACTION_SLTP, ACTION_MODIFY])

    def _recent(self, states: tuple[str, ...], which: str, hold: float = LATE_HOLD,
                args: list[Any] | None = None) -> list[dict[str, Any]]:
        """The sends in one of ``states`` that ``which`` (an SQL condition, with ``args``) selects, written
        down in the last ``hold`` seconds at this account, oldest first."""
        with self._d.lock:
            rows = select(self._d.db, f"SELECT * FROM mt5_sends WHERE state IN ({', '.join('?' * len(states))}) AND "
                                      f"{which} AND created_at > ? ORDER BY created_at",
                          [*states, *(args or ()), max(time.time() - hold, self._since())])
        return [_decoded(r) for r in rows]

    def _since(self) -> float:
        """When the book came to its account (0: the first it was of)."""
        return float(self.get_state(SINCE) or 0.0)

    def removed(self, ticket: int) -> bool:
        """Whether moonhook sent the removal of pending order ``ticket`` (a cancel of its own) and
        it may have removed it: not one refused, which left the order live (nor one refused for good,
        its answer lost and the order found ended otherwise)."""
        return any(s["state"] != "refused" and (s["result"] is None or s["result"].get("ok") or s["result"].get(
            "unknown")) for s in self.removals(ticket))

    def removals(self, ticket: int) -> list[dict[str, Any]]:
        """The sends of the removal of pending order ``ticket`` moonhook made, oldest first."""
        with self._d.lock:
            rows = select(self._d.db, "SELECT * FROM mt5_sends WHERE json_extract(request, '$.action') = ? AND "
                                      "json_extract(request, '$.order') = ? ORDER BY created_at",
                          [ACTION_REMOVE, ticket])
        return [_decoded(r) for r in rows]

    def unresolved(self) -> list[dict[str, Any]]:
        """Sends whose outcome is not known: their answer was lost, or the engine stopped. Not
        those made at another account: they are not looked for at this one (``accounts.py``)."""
        with self._d.lock:
            rows = select(self._d.db, "SELECT * FROM mt5_sends WHERE state IN ('sending', 'unknown') "
                                         "AND created_at > ? ORDER BY created_at", [self._since()])
        return [_decoded(r) for r in rows]

    # -- magic numbers ----------------------------------------------------------------------

    def has_magic(self, plugin: str) -> bool:
        return plugin in self._magic

    def magic(self, plugin: str, taken: frozenset[int] = frozenset()) -> int:
        """The plugin's magic number, the same across restarts (assigned at its first order,
        the next after this book's highest that is not ``taken``: used at the account by another
        engine or an expert, whose orders this one would otherwise take for its own)."""
        magic = self._magic.get(plugin)
        if magic is None:
            with self._d.transaction() as db:
                top = db.execute("SELECT max(magic) FROM mt5_magic").fetchone()[0]
                magic = (top + 1) if top is not None else self._magic_base + 1
                while magic in taken:
                    magic += 1
                db.execute("INSERT INTO mt5_magic (plugin, magic) VALUES (?, ?)", [plugin, magic])
            self._magic[plugin], self._plugin[magic] = magic, plugin
        return magic

    def adopt(self, plugin: str, magic: int) -> bool:
        """``magic`` written as ``plugin``'s, as if given (a number a restored file lacks, found at
        the account: ``magic.py``); False if either has one already."""
        if plugin in self._magic or magic in self._plugin:
            return False
        with self._d.transaction() as db:
            db.execute("INSERT INTO mt5_magic (plugin, magic) VALUES (?, ?)", [plugin, magic])
        self._magic[plugin], self._plugin[magic] = magic, plugin
        return True

    def plugin_of(self, magic: int) -> str | None:
        return self._plugin.get(magic)

    def forget(self, keys: tuple[str, ...], values: dict[str, str]) -> None:
        """Another account (``accounts.py``): the magic numbers and the state ``keys`` gone, and
        ``values`` written, in one transaction."""
        with self._d.transaction() as db:
            db.execute("DELETE FROM mt5_magic")
            db.execute(f"DELETE FROM mt5_state WHERE key IN ({', '.join('?' * len(keys))})", list(keys))
            for key, value in values.items():
                db.execute("INSERT OR REPLACE INTO mt5_state (key, value) VALUES (?, ?)", [key, value])
        self._magic.clear()
        self._plugin.clear()

    # -- state ------------------------------------------------------------------------------

    def get_state(self, key: str) -> str | None:
        with self._d.lock:
            row = self._d.db.execute("SELECT value FROM mt5_state WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def put_state(self, key: str, value: str) -> None:
        self.put_states({key: value})

    def put_states(self, values: dict[str, str], events: list[Event] | None = None) -> None:
        """``values`` written together (one transaction), with ``events`` kept until told."""
        with self._d.transaction() as db:
            for key, value in values.items():
                db.execute("INSERT OR REPLACE INTO mt5_state (key, value) VALUES (?, ?)", [key, value])
            self.untold.keep(db, events or ())


def _met(send: dict[str, Any]) -> str | None:
    """How the position of ``send``, a close by symbol's part (tagged by its position) refused for good,
    was closed by something else first (its sl or tp, a stop-out: ``LostAnswers.closed_otherwise``); None
    for any other send."""
    position, error = send["request"].get("position"), (send["result"] or {}).get("error") or ""
    if send["kind"] != "close" or not position or not send["tag"].endswith(tag_for(send["client_id"], None,
                                                                                      str(position))[3:]):
        return None
    return error[len(CLOSED_OTHERWISE):] if error.startswith(f"{CLOSED_OTHERWISE}position {position} ") else None


def _decoded(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "request": json.loads(row["request"]),
            "result": json.loads(row["result"]) if row.get("result") else None}
