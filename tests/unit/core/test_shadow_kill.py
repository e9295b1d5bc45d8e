"""The shadow across a kill -9 (docs/shadow.md): what its file keeps (its paper broker's books,
its plugins' stores, its records and cursor) when the process dies at a bad moment, and what the
next start does with it. Real engine processes, sandbox workers and SQLite files."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import trio

from engine.adapters.storage.untold import UntoldEvents

from support.engine_support import process, running, write_scripts
from support.paths import SUPPORT
from support.waits import HANG
from test_recovery import HEDGE
from test_shadow import shadow_of, shadow_record

LIVE = 'function on_alert(a) return false, "live waits" end\n'
# One position a symbol, judged in on_alert (the alert rejected) or in on_order (its entry vetoed).
GUARDS = {"on_alert": """
function on_alert(a)
  if #positions.list(a.symbol) > 0 then return false, "a position is open" end
end
""", "on_order": """
plugin = {guard = true}
function on_order(o)
  if o.kind == "market" and #positions.list(o.symbol) > 0 then return false, "a position is open" end
end
"""}


@pytest.mark.parametrize("hook", ["on_alert", "on_order"])
async def test_a_shadow_killed_before_its_record_runs_the_alert_again_finding_its_orders(tmp_path, hook):
    """The kill falls after the shadow's entry reached its paper broker, before its record: the next
    start runs the alert again (its cursor is before it). Its guard, run again, sees the position its
    first run opened: the entry is found, not vetoed, and the record says what that run did."""
    live = write_scripts(tmp_path / "scripts", {"live": LIVE})
    shadow = shadow_of(tmp_path, {"guard": GUARDS[hook]})
    died = subprocess.run([sys.executable, str(SUPPORT / "shadow_then_die.py"), str(tmp_path / "data"), str(live),
                           str(shadow.scripts), "buy EURUSD volume=0.1 price=1.1"],
                          capture_output=True, text=True, timeout=60)
    assert died.returncode == -signal.SIGKILL, died.stderr
    async with running(tmp_path, {"live": LIVE}, shadow=shadow) as engine:
        (alert,) = engine.journal.recent(1)
        record = await shadow_record(engine, alert["id"])
        positions = await engine.shadow.broker.positions()
        live_positions = await engine.broker.positions()
        counts = engine.shadow.records.counts()
        kept = engine.shadow.records.requests(alert["id"])
    assert alert["status"] == "rejected", alert      # live as it was: the shadow never writes its journal
    assert (record["status"], counts["alerts"], kept) == ("done", 1, []), record
    (order,) = record["outcome"]["orders"]
    assert (order["client_id"], order["ok"]) == (f"a{alert['id']}-engine-open", True), order
    assert "order engine market: absent → buy EURUSD 0.1 no stops" in record["differences"], record
    if hook == "on_alert":   # rejected only now: a note, as live's (docs/plugins.md)
        assert order["earlier_run"] and record["outcome"]["note"] == (
            "its earlier run's orders stand; run again, it was rejected by guard: a position is open"), record
    else:                    # placed again without on_order: its paper broker answers what it did then
        assert order["duplicate"] and "on_order" not in order, order
    assert ([p["volume"] for p in positions], live_positions) == ([0.1], [])


async def test_a_shadow_fill_told_again_after_a_kill_finds_the_order_its_hook_placed(tmp_path, monkeypatch):
    """A kill after the shadow's ``on_fill`` placed its hedge and before its paper broker forgot the fill:
    told again at the next start, as live's are, its hook finds the hedge instead of placing a second."""
    shadow = shadow_of(tmp_path, {"hedge": HEDGE})
    with monkeypatch.context() as patched:
        patched.setattr(UntoldEvents, "told", lambda self, event: None)   # as if it died before each was taken out
        async with running(tmp_path, {"live": LIVE}, shadow=shadow) as engine:
            await process(engine, "buy EURUSD volume=0.1 price=1.1")
            with trio.fail_after(HANG):  # bounds a hang
                while engine.shadow.trial.store.get("hedge", "once") is None:
                    await trio.sleep(0.01)
    async with running(tmp_path, {"live": LIVE}, shadow=shadow) as engine:
        with trio.fail_after(HANG):
            while engine.shadow.trial.store.get("hedge", "again") is None:
                await trio.sleep(0.01)
        said = (engine.shadow.trial.store.get("hedge", "once"), engine.shadow.trial.store.get("hedge", "again"))
        positions = await engine.shadow.broker.positions()
        live_positions = await engine.broker.positions()
    assert said == ("sent", "found"), said
    assert (sorted(p["side"] for p in positions), live_positions) == (["buy", "sell"], [])
