"""A kill -9 at the commits of what the poll settles later on MetaTrader 5 (support/crash_sweep_mt5_late.py:
a stop change judged unchanged, applied late; a close of part not known, rejected late), then a restart and
the rest of the session: it ends as the session never cut. The order ledger, the alert and the trades chat
say once how each ended, whatever commit the kill came at; nothing is sent twice."""

from __future__ import annotations

from support.crash_sweep import clean, cuts
from support.crash_sweep_mt5_late import LateSession

# (where: the commit's writes and which of those; whether the kill comes before it)
POINTS = (
    ("INSERT INTO untold_events#2", True),    # l2's change in effect, its overturn not written: looked at again
    ("INSERT INTO untold_events#2", False),   # l2 done after all, its event kept, not told
    ("DELETE FROM untold_events#2", False),   # its event told, the ledger not settled by it yet
    ("UPDATE mt5_sends SET#7", False),        # l3's close refused for good by the poll, the ledger not yet
    ("UPDATE orders SET#2", True),            # the same, the ledger's write about to be made
)


def test_a_kill_at_any_of_these_points_ends_as_the_session_never_cut(tmp_path):
    expected = clean(tmp_path / "clean", kind=LateSession)
    found = cuts(tmp_path, POINTS, expected, threads=len(POINTS), reach=lambda at: True, kind=LateSession)
    assert not found, "\n".join(found)
