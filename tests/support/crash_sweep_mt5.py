"""The crash sweep's session (support/crash_sweep.py) on MetaTrader 5: ``moonhook run`` on the
stand-in terminal (support/mt5_standin.py), whose file outlives the kill as a real terminal's
state does, so that an order the terminal executed is there after the restart whatever moonhook
wrote down. Besides the commits of the journal, a session may be cut inside order_send
(``arm("order_send#N:hang_after")``): the Nth request held in the terminal, executed ("hang_after")
or not yet ("hang"), when the engine and its workers are killed (SIGKILL to the process group).

The session: an entry with SL/TP by the default execution, one by ``tracker.lua`` (USDJPY), a
pending order, a stop change, the market filling the pending order (the tracker's ``on_fill``
sells 0.05 EURUSD), a close of the longs, the market hitting the tracker's take-profit, a close
by symbol (the follow-up's short), and a ``closeall``.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from support.crash_sweep import Session, _renamed, _rows
from support.e2e_support import Config, Run, User, mt5_user
from support.mt5_standin import DEFAULT_SYMBOLS, USDJPY, Terminal


@dataclass(frozen=True)
class Price:
    """The market moving to ``bid``/``ask`` on ``symbol``, seen once the tracker stored ``key``, or,
    an order of the session not known (what the move acts on may never have reached the terminal),
    once every event read is told."""
    id: str
    symbol: str
    bid: float
    ask: float
    key: str

    def do(self, session: "MT5Session") -> None:
        session.terminal.set_price(self.symbol, self.bid, self.ask)

    def seen(self, session: "MT5Session") -> bool:
        db = session.database
        return bool(_rows(db, f"SELECT 1 AS n FROM store WHERE key = '{self.key}'")) or bool(
            _rows(db, "SELECT 1 AS n FROM orders WHERE status = 'unknown'")
            and not _rows(db, "SELECT 1 AS n FROM untold_events"))


STEPS = (
    "buy EURUSD volume=0.1 sl=1.0700 tp=1.0950 id=m1",
    "buy USDJPY sl=149.00 id=m2",                            # the tracker's: 0.1, sl 149, tp 152
    "buylimit GBPUSD volume=0.1 price=1.2550 sl=1.2450 id=m3",
    "newsltp EURUSD sl=1.0750 tp=1.0900 id=m4",              # a stop change: m1's
    Price("p1", "GBPUSD", 1.25485, 1.25500, "follow-up:GBPUSD"),   # fills m3; on_fill sells 0.05 EURUSD
    "closelong EURUSD id=m5",                                # m1's long, not the follow-up's short
    Price("p2", "USDJPY", 152.000, 152.020, "closed:USDJPY:tp"),   # the tracker's take-profit
    "close EURUSD id=m6",                                    # by symbol: the follow-up's short
    "closeall id=m7",                                        # m3's GBPUSD long
)
_SENT = re.compile(r"^order_send#(\d+):(hang|hang_after)$")


class MT5Session(Session):
    """The sweep's session on the stand-in terminal (``terminal.db`` beside the folder)."""

    steps = STEPS

    def configure(self, user: User) -> Config:
        self.terminal = Terminal(user.home / "terminal.db", symbols=DEFAULT_SYMBOLS | {"USDJPY": USDJPY})
        self.held = False  # a send scripted to hang, for the first run to be killed on
        return mt5_user(user, user.home / "terminal.db")

    def arm(self, at: str, before: bool) -> dict[str, str]:
        """A commit's crash point, or ``order_send#N:hang`` (``hang_after``): the Nth order_send
        held in the terminal, not executed (executed), and the run killed there."""
        sent = _SENT.match(at)
        if sent is None:
            return super().arm(at, before)
        self.terminal.script("order_send", *["normal"] * (int(sent[1]) - 1), sent[2])
        self.held = True
        return {}

    def alive(self, run: Run) -> None:
        if self.held and self.terminal.hung("order_send"):
            self.held = False
            run.kill()  # the power cut: the engine and its workers, the send's answer never read
        super().alive(run)

    def state(self) -> dict[str, Any]:
        """What the session left: the journal, and the terminal's book and history, each order
        named by the client id its comment's tag stands for."""
        db, named, t = self.database, self.named(), self.terminal
        sends = _rows(db, "SELECT tag, client_id, kind, state FROM mt5_sends")
        name = {s["tag"]: _renamed(s["client_id"], named) for s in sends}
        orders, positions = t.orders() + t.history_orders(), t.positions()
        twice = Counter(o["comment"] for o in orders)   # each send is one order; an open position is not a second
        ledger = {o["client_id"]: o["status"] for o in _rows(db, "SELECT client_id, status FROM orders")}
        there = {o["comment"] for o in orders}
        return self.journal() | {
            # the documented "not known": a send whose answer was lost, nowhere at the terminal, never sent again
            "not known": sorted({name[s["tag"]] for s in sends if ledger.get(s["client_id"]) == "unknown"
                                 and not any(t["tag"] in there for t in sends if t["client_id"] == s["client_id"])}),
            "twice": sorted(name.get(c, c) for c, n in twice.items() if n > 1 and c.startswith("mh:")),
            "disagree": _disagree(db, sends, orders, name),
            "orders": sorted((name.get(o["comment"], o["comment"]), o["symbol"], o["type"], o["state"],
                              o["volume_initial"], o["sl"], o["tp"]) for o in orders),
            "positions": sorted((name.get(p["comment"], p["comment"]), p["symbol"], p["type"], p["volume"],
                                 p["price_open"], p["sl"], p["tp"]) for p in positions),
            "deals": sorted((name.get(d["comment"], d["comment"]), d["symbol"], d["type"], d["entry"], d["reason"],
                             d["volume"], d["price"], d["profit"]) for d in t.deals()),
            "sent": t.sent(),
            "doubt": sorted((name[s["tag"]], s["state"]) for s in sends if s["state"] in ("sending", "unknown")),
            "balance": t.account()["balance"],
        }


def _disagree(db: Path, sends: list[dict[str, Any]], orders: list[dict[str, Any]], name: dict[str, str]) -> list[str]:
    """Where the order ledger and the terminal tell two stories: an order at the terminal whose
    client id the ledger does not have done, or one the ledger has done that never reached it."""
    ledger = {o["client_id"]: o["status"] for o in _rows(db, "SELECT client_id, status FROM orders")}
    client = {s["tag"]: s["client_id"] for s in sends}
    there = {o["comment"] for o in orders}
    found = [f"{name.get(c, c)} at the terminal, {ledger.get(client.get(c))} in the ledger"
             for c in there if c.startswith("mh:") and ledger.get(client.get(c)) != "done"]
    tags: dict[str, list[str]] = {}
    for s in sends:
        if s["kind"] in ("market", "pending", "close"):
            tags.setdefault(s["client_id"], []).append(s["tag"])
    found += [f"{name[ts[0]]} done in the ledger, not at the terminal" for c, ts in tags.items()
              if ledger.get(c) == "done" and not there.intersection(ts)]
    return sorted(found)
