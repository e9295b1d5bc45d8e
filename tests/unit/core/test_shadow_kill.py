"""The shadow across a kill -9 (docs/shadow.md): what its file keeps (its paper broker's books,
its plugins' stores, its records and cursor) when the process dies at a bad moment, and what the
next start does with it. Real engine processes, sandbox workers and SQLite files."""

from __future__ import annotations

import trio

from engine.adapters.storage.untold import UntoldEvents

from support.engine_support import process, running
from support.waits import HANG
from test_recovery import HEDGE
from test_shadow import shadow_of

LIVE = 'function on_alert(a) return false, "live waits" end\n'


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
