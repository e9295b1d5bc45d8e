"""A kill -9 at the commits of what the poll settles later on MetaTrader 5 (support/crash_sweep_mt5_late.py:
a stop change judged unchanged, applied late; a close of part not known, rejected late; a close judged not
executed, executed late), then a restart and the rest of the session: it ends as the session never cut. The
order ledger, the alert and the trades chat say once how each ended, whatever commit the kill came at;
nothing is sent twice.

It found an order done after all whose event was told (its untold row gone) before the engine's order
ledger had it done: killed in between, the ledger, its alert and the trades chat said refused for good
(fixed: the desk settles it in the event's telling)."""

from __future__ import annotations

from support.crash_sweep import clean, cuts
from support.crash_sweep_mt5_late import LateSession

# (where: the commit's writes and which of those; whether the kill comes before it)
POINTS = (
    ("INSERT INTO untold_events#2", True),    # l2's change in effect, its overturn not written: looked at again
    ("INSERT INTO untold_events#2", False),   # l2 done after all, its event kept, not told
    ("DELETE FROM untold_events#2", False),   # its event told (the ledger had it done first)
    ("UPDATE mt5_sends SET#7", False),        # l3's close refused for good by the poll, the ledger not yet
    ("UPDATE orders SET#2", True),            # the same, the ledger's write about to be made
    ("UPDATE orders SET#3", True),            # l4's deal read, its fill kept, its refusal not overturned yet
    ("DELETE FROM untold_events#3", False),   # its fill told (the ledger had it done first)
)


def test_a_kill_at_any_of_these_points_ends_as_the_session_never_cut(tmp_path):
    expected = clean(tmp_path / "clean", kind=LateSession)
    found = cuts(tmp_path, POINTS, expected, threads=4, reach=lambda at: True, kind=LateSession)
    assert not found, "\n".join(found)
