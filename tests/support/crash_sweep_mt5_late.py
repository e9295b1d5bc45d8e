"""The crash sweep's session (support/crash_sweep.py) on MetaTrader 5 whose answers are lost
(support/crash_sweep_mt5.py's terminal, each lost by its worker dying mid-send, "crash_late": the
lookup afterwards is what is swept, not a deadline waited out; ``LOSES_ANSWERS``), for what the poll
settles later (engine/adapters/brokers/mt5/late.py): a stop change judged unchanged that the
trade server applied late (done after all: its send, its request's record and the event kept
until told, in one write, then the engine's order ledger and the trades chat), and a close of
part not known that the trade server rejected late (refused for good by the poll, then the
ledger and the chat), and a close judged not executed that it executed late (its deal's fill
overturns the refusal in the ledger before it is told).

The session: an entry, a stop change whose answer is lost (refused, unchanged), applied late; a
close of part of it whose answer is lost (not known), rejected late; a close of the rest whose
answer is lost (refused: the position open whole), executed late (its deal: done after all).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from support.crash_sweep import _renamed, _rows
from support.crash_sweep_mt5 import MT5Session, _disagree
from support.e2e_support import LOSES_ANSWERS, Config, User
from support.mt5_standin import ORDER_STATE_REJECTED, Terminal


@dataclass(frozen=True)
class Act:
    """The terminal doing ``act`` (its next order_send's answer lost; the lost ones delivered or
    rejected), seen as ``said`` says (``seen``)."""
    id: str
    act: Callable[[Terminal], Any]
    said: str | None = None

    def do(self, session: "LateSession") -> None:
        self.act(session.terminal)

    def seen(self, session: "LateSession") -> bool:
        """Once the trades chat has ``said`` (text), or the ledger has no order still ``said``
        (``refused:TEXT``: refused with TEXT in its error)."""
        if self.said is None:
            return True
        if self.said.startswith("refused:"):
            return not _rows(session.database, "SELECT 1 AS n FROM orders WHERE status = 'refused' "
                                               f"AND result LIKE '%{self.said[8:]}%'")
        return bool(_rows(session.database, "SELECT 1 AS n FROM outbox WHERE kind = 'trades' "
                                            f"AND text LIKE '%{self.said}%'"))


STEPS = (
    "buy EURUSD volume=0.2 sl=1.0700 id=l1",
    Act("lose1", lambda t: t.script("order_send", "crash_late")),
    "newsltp EURUSD sl=1.0710 id=l2",                                    # unchanged: refused
    Act("late1", Terminal.deliver_late, "done after all"),               # applied late: done after all
    Act("lose2", lambda t: t.script("order_send", "crash_late")),
    "closelong EURUSD volume=0.1 id=l3",                                 # a part: not known
    Act("late2", Terminal.reject_late, "refused at the broker after all"),
    Act("lose3", lambda t: t.script("order_send", "crash_late")),
    "closelong EURUSD id=l4",                                            # whole, open whole: not executed
    Act("late3", Terminal.deliver_late, "refused:is still open"),        # its deal: done after all
)


class LateSession(MT5Session):
    """The session above on the stand-in terminal, its lost answers looked for for half a second."""

    steps = STEPS

    def configure(self, user: User) -> Config:
        config = super().configure(user)
        config.append(LOSES_ANSWERS)
        return config

    def state(self) -> dict[str, Any]:
        """``MT5Session.state``, the order the trade server rejected (the close of part) not taken
        for one at the terminal the ledger should have done; less the admin's notices of the link
        lost with each answer and found again: a worker's pid, and how a restart splits them."""
        db, named, t = self.database, self.named(), self.terminal
        sends = _rows(db, "SELECT tag, client_id, kind, state FROM mt5_sends")
        name = {s["tag"]: _renamed(s["client_id"], named) for s in sends}
        kept = [o for o in t.orders() + t.history_orders() if o["state"] != ORDER_STATE_REJECTED]
        state = super().state()
        return state | {"disagree": _disagree(db, sends, kept, name), "other chats": [
            m for m in state["other chats"] if not m[1].startswith(("broker disconnected", "broker connected again"))]}
