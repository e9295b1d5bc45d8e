"""One trading session on the paper broker, cut by a kill -9 at a chosen commit of the journal's
file (support/crash_point.py), then finished by a second ``moonhook run``; and what it left,
to compare with the same session never cut.

The session: an entry with SL/TP by the default execution, one by a plugin (``tracker.lua``,
which handles USDJPY's alerts with ``orders.market``, notes every fill and close in its store,
and places a follow-up order from the pending order's fill), a pending order, a close, a market
price that fills the pending order, one that hits a take-profit. Each alert is posted over HTTP
and waited for; the one the kill left unanswered, and every one after it, is posted again after
the restart, as a trader whose TradingView got no answer would (a repeat of one journaled is a
duplicate, by its ``id``).
"""

from __future__ import annotations

import re
import signal
import sqlite3
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from support import crash_point
from support.e2e_support import DEADLINE, Config, Run, User, init, moonhook_command, until
from engine.core.reports import AGAIN

ALERTS = (
    "buy EURUSD volume=0.1 price=1.1000 sl=1.0900 tp=1.1200 id=k1",
    "buy USDJPY price=150.00 sl=149.00 id=k2",
    "buylimit GBPUSD volume=0.1 price=1.2500 sl=1.2400 id=k3",
    "close EURUSD price=1.1050 id=k4",
    "sell GBPUSD volume=0.1 price=1.2490 sl=1.2600 id=k5",    # fills the buy limit
    "sell USDJPY price=152.50 sl=153.00 id=k6",               # hits the USDJPY buy's take-profit
)

TRACKER = """
plugin = {name = "tracker", priority = 200}

function on_alert(a)
  if a.symbol == "USDJPY" and a.side then
    local sl, tp = 149.0, 152.0
    if a.side == "sell" then sl, tp = 153.0, 150.0 end
    local r = orders.market{symbol = "USDJPY", side = a.side, volume = 0.1, sl = sl, tp = tp}
    store.set("placed:" .. a.side, r.ok)
    return {handled = true}
  end
end

function on_fill(f)  -- the keys name no ticket: the follow-up and k5's entry race for theirs
  store.set(table.concat({"fill", f.symbol, f.side, f.entry, f.reason}, ":"), f.volume)
  if f.entry == "in" and f.reason == "pending" then  -- a follow-up order, named after the fill
    local r = orders.market{symbol = "EURUSD", side = "sell", volume = 0.05, sl = 1.2000, tp = 1.0000}
    store.set("follow-up:" .. f.symbol, r.ok)
  end
end
function on_close(c) store.set("closed:" .. c.symbol .. ":" .. c.reason, c.profit) end
"""


class Session:
    """A user's folder after ``moonhook init``, with ``tracker.lua`` and the crash point installed.
    ``steps``: the session's alerts, or a ``Step`` of the market's between them (a subclass's)."""

    steps: tuple = ALERTS

    def __init__(self, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        self.user = User(home)
        self.config = self.configure(self.user)
        (home / "bot" / "scripts" / "tracker.lua").write_text(TRACKER, encoding="utf-8")
        crash_point.install(home / "site")
        self.user.on_path(home / "site")
        self.database = home / "bot" / "data" / "moonhook.db"

    def configure(self, user: User) -> Config:
        """``moonhook init bot``: the paper broker."""
        return init(user, "bot")[0]

    def alive(self, run: Run) -> None:
        """Raises httpx.ConnectError once ``run`` has died (the crash point killed it)."""
        if run.process.poll() is not None:
            raise httpx.ConnectError("moonhook run died")

    def arm(self, at: str, before: bool) -> dict[str, str]:
        """The crash point's variables for a kill at commit ``at`` (``before`` it)."""
        return {"CRASH_POINT_AT": at} | ({"CRASH_POINT_BEFORE": "1"} if before else {})

    def run(self, **crash: str) -> Run | None:
        """``moonhook run`` with the crash point's variables ``crash`` (CRASH_POINT_AT=...): the
        run once its banner is out, or None if it died before."""
        env = {k: v for k, v in self.user.env.items() if not k.startswith("CRASH_POINT_")} | crash
        run = Run([*moonhook_command(), "run"], self.user.home / "bot", env,
                  self.user.home / f"run{len(self.user.runs) + 1}.log", self.config)
        self.user.runs.append(run)
        until(run.text, lambda t: "moonhook: try it:" in t or run.process.poll() is not None, "a banner or an exit")
        if run.process.poll() is not None:
            return None
        run.started()
        return run

    def post(self, run: Run, steps: tuple) -> list[str]:
        """Posts ``steps``' alerts one after the other, each waited for until processed (a
        ``Step`` done, then waited for until ``run`` has seen it); the ids of those answered (done),
        up to the first one the run died on."""
        answered = []
        for body in steps:
            if not isinstance(body, str):
                body.do(self)  # the market moves, whether moonhook hears it or not
                answered.append(body.id)
                try:
                    until(lambda: self.alive(run) or body.seen(self), bool, f"{body.id} seen by moonhook")
                except httpx.HTTPError:
                    return answered
                continue
            try:
                answer = run.webhook(body)
            except httpx.HTTPError:
                return answered
            answered.append(_source_id(body))
            # A repeat of one journaled before the cut is answered "duplicate" at once: the original,
            # recovered meanwhile, is waited for, or the next alert overtakes it (another symbol's).
            watched = answer.get("duplicate_of") or answer["id"]
            try:
                until(lambda: self._status(run, watched), lambda s: s not in ("received",),
                      f"alert {watched} processed")
            except httpx.HTTPError:
                return answered
        return answered

    def _status(self, run: Run, alert_id: int) -> str:
        self.alive(run)
        return run.get(f"/api/alerts/{alert_id}")["status"]

    def quiet(self, run: Run) -> None:
        """Waits until every alert is processed and every broker event booked is told, then
        stops the run (Ctrl-C)."""
        until(lambda: _rows(self.database, "SELECT count(*) AS n FROM alerts WHERE status = 'received'")[0]["n"],
              lambda n: n == 0, "every alert processed")
        until(lambda: _rows(self.database, "SELECT count(*) AS n FROM untold_events")[0]["n"],
              lambda n: n == 0, "every event told")
        assert run.interrupt() == 0, run.text()

    def named(self) -> dict[str, str]:
        """``a3-`` to ``k1-``: an alert's number to its own id (a duplicate takes a number)."""
        alerts = _rows(self.database, "SELECT id, source_id, status FROM alerts WHERE status != 'duplicate'")
        return {f"a{a['id']}-": f"{a['source_id']}-" for a in alerts}

    def journal(self) -> dict[str, Any]:
        """What the session left in the journal, whatever the broker: the alerts, the order ledger,
        the chats' messages, the store."""
        db, named = self.database, self.named()
        alerts = [a for a in _rows(db, "SELECT id, source_id, status FROM alerts") if a["status"] != "duplicate"]
        told = [m["text"] for m in _rows(db, "SELECT text FROM outbox WHERE kind = 'trades' ORDER BY id")]
        return {
            "alerts": sorted((a["source_id"], a["status"]) for a in alerts),
            "trades": sorted({m.replace(AGAIN, "") for m in told}),
            "told": told,
            # Less the monitor's slow-alert notice: it says how busy the machine was, not what the session did.
            "other chats": _table(db, "SELECT kind, text FROM outbox WHERE kind != 'trades' "
                                      "AND text NOT LIKE '% ms from receipt to the broker (monitor.latency_alert_ms%'"),
            "ledger": sorted(((_renamed(o["client_id"], named), o["kind"], o["status"])
                              for o in _rows(db, "SELECT client_id, kind, status FROM orders")), key=repr),
            "store": dict((s["key"], s["value"]) for s in _rows(db, "SELECT key, value FROM store")),
        }

    def state(self) -> dict[str, Any]:
        """What the session left: the journal, and the paper book."""
        db, named = self.database, self.named()
        orders = _table(db, "SELECT client_id, symbol, side, type, price, volume, sl, tp, state, plugin "
                            "FROM paper_orders")
        ids = Counter(o[0] for o in orders if o[0] is not None)
        return self.journal() | {
            "twice": sorted(c for c, n in ids.items() if n > 1),
            "orders": sorted(((_renamed(o[0], named), *o[1:]) for o in orders), key=repr),
            "positions": _table(db, "SELECT symbol, side, volume, price_open, sl, tp, plugin FROM paper_positions"),
            "deals": _table(db, "SELECT symbol, side, volume, price, entry, reason, profit FROM paper_deals"),
            "balance": _rows(db, "SELECT balance FROM paper_account")[0]["balance"],
        }

    def close(self) -> None:
        self.user.close()


@dataclass
class Cut:
    state: dict[str, Any]   # what the session left, as ``Session.state``
    lost: list[str]         # alerts answered before the kill that the journal did not keep
    killed: bool            # the crash point was reached: the first run died of SIGKILL
    made: int = 0           # the commits the first run made (a run's count varies with how its tasks' commits batch)


def cut(home: Path, at: str, before: bool = False, kind: type[Session] = Session) -> Cut:
    """The session killed at commit ``at`` (``before`` it; ``CRASH_POINT_AT``'s forms; or where
    ``kind.arm`` says), then restarted, the alerts left unanswered posted again, and finished."""
    session = kind(home)
    try:
        trace = home / "first-run-commits.txt"   # how many commits the first run made, killed or not
        first = session.run(**session.arm(at, before), CRASH_POINT_TRACE=str(trace))
        answered = session.post(first, kind.steps) if first else []
        if first is not None and first.process.poll() is None and len(answered) == len(kind.steps):
            first.interrupt(signal.SIGINT)  # the stop's commits are crash points too
        died = session.user.runs[-1].process
        killed = died.wait(timeout=DEADLINE) == -signal.SIGKILL
        session.user.runs[-1].kill()  # the sandbox's workers it left
        again = session.run()
        assert again is not None, session.user.runs[-1].text()
        journaled = {a["source_id"] for a in _rows(session.database, "SELECT source_id FROM alerts")}
        for step in (s for s in kind.steps if not isinstance(s, str) and s.id in answered):
            until(lambda: session.alive(again) or step.seen(session), bool, f"{step.id} seen after the restart")
        # The alerts the cut left journaled are recovered before the next is posted, as in the session
        # never cut; one posted meanwhile (another symbol's) would overtake them and take their tickets.
        until(lambda: session.alive(again) or _rows(session.database, "SELECT count(*) AS n FROM alerts "
                                                                       "WHERE status = 'received'")[0]["n"],
              lambda n: n == 0, "the alerts journaled before the cut recovered")
        rest = tuple(s for s in kind.steps if _step_id(s) not in answered)
        assert session.post(again, rest) == [_step_id(s) for s in rest], again.text()
        session.quiet(again)
        made = len(trace.read_text().splitlines()) if trace.exists() else 0
        return Cut(session.state(), [a for a in answered if a not in journaled and a in _alert_ids(kind)], killed,
                   made)
    finally:
        session.close()


def clean(home: Path, trace: Path | None = None, kind: type[Session] = Session) -> dict[str, Any]:
    """The session never cut (each commit written to ``trace``, to count them)."""
    session = kind(home)
    try:
        run = session.run(**({"CRASH_POINT_TRACE": str(trace)} if trace else {}))
        assert session.post(run, kind.steps) == [_step_id(s) for s in kind.steps]
        session.quiet(run)
        return session.state()
    finally:
        session.close()


def violations(state: dict[str, Any], expected: dict[str, Any]) -> list[str]:
    """Where ``state`` breaks the promise, the clean session's ``expected`` state being what it should be."""
    found = []
    found += [f"sent twice or more: {c}" for c in state["twice"]]  # a client id's orders at the broker
    found += [f"the ledger and the broker disagree: {d}" for d in state.get("disagree", [])]
    alerts = Counter(a for a, _ in state["alerts"])
    found += [f"alert {a} journaled {n} times" for a, n in alerts.items() if n > 1]
    told = Counter(state["told"])
    found += [f"told {n} times: {m}" for m, n in told.items() if n > 1]
    if state.get("not known"):  # an order whose send may or may not have gone: the session went on without it
        return found + [f"alert {a} left {s}" for a, s in state["alerts"] if s == "received"]
    for key in expected.keys() - {"told", "twice", "disagree"}:
        if isinstance(expected[key], dict):
            was, now = set(expected[key].items()), set(state[key].items())
        elif isinstance(expected[key], list):
            was, now = Counter(expected[key]), Counter(state[key])
        else:
            was, now = {expected[key]}, {state[key]}
        if was != now:
            found.append(f"{key}: {sorted(now - was, key=repr)} instead of {sorted(was - now, key=repr)}")
    return found


def cuts(tmp: Path, points, expected: dict[str, Any], threads: int, reach, kind: type[Session] = Session) -> list[str]:
    """What each cut at ``points`` broke (nothing: an empty list), and each point never reached
    that ``reach(at)`` says must be; ``threads`` cuts at a time."""
    def one(number: int, at: str, before: bool) -> list[str]:
        try:
            done = cut(tmp / f"cut{number}", at, before, kind)
        except AssertionError as failed:  # the restart or a wait failed: that cut's finding, the others' too
            return [f"{'before' if before else 'after'} {at}: {str(failed)[:2000]}"]
        found = violations(done.state, expected) + [f"answered, then lost: {done.lost}"] * bool(done.lost)
        fewer = at.isdigit() and int(at) > done.made   # this run made fewer commits than the clean one
        found += ["not reached"] * (not done.killed and reach(at) and not fewer)
        return [f"{'before' if before else 'after'} {at}: {v}" for v in found]

    with ThreadPoolExecutor(threads) as pool:
        return [v for vs in pool.map(one, range(len(points)), *zip(*points)) for v in vs]


def _source_id(body: str) -> str:
    return body.rsplit("id=", 1)[1]


def _step_id(step) -> str:
    return _source_id(step) if isinstance(step, str) else step.id


def _alert_ids(kind: type[Session]) -> set[str]:
    return {_source_id(s) for s in kind.steps if isinstance(s, str)}


def _renamed(client_id: str | None, named: dict[str, str]) -> str | None:
    """``a3-engine-open`` as ``k3-engine-open``: by the alert's own id, whatever number it took;
    a fill's order without the deal's time (``fill4in.19aee3c5f80-tracker-1``: ``fill4in-tracker-1``)."""
    client_id = client_id and re.sub(r"^(fill\d+\w+)\.[0-9a-f]+-", r"\1-", client_id)
    prefix = client_id and client_id.split("-", 1)[0] + "-"
    return named.get(prefix, prefix) + client_id.split("-", 1)[1] if prefix else client_id


def _table(database: Path, sql: str) -> list[tuple]:
    """The rows of ``sql`` as tuples, in an order of their own (None sorts too)."""
    return sorted((tuple(r.values()) for r in _rows(database, sql)), key=repr)


def _rows(database: Path, sql: str) -> list[dict[str, Any]]:
    conn = sqlite3.connect(database.resolve().as_uri() + "?mode=ro", uri=True)
    try:
        cursor = conn.execute(sql)
        keys = [d[0] for d in cursor.description]
        return [dict(zip(keys, row)) for row in cursor]
    finally:
        conn.close()
