"""Shadow mode while the live engine is paused (engine/core/shadow.py): the pause holds the
shadow's timers and broker-event hooks as it holds live's, so its book does not drift from
what live did. Real sandbox workers, real SQLite files, the real paper brokers."""

from __future__ import annotations

import trio

from engine.adapters.storage import PluginStore
from engine.core.desk import PAUSED
from engine.domain.config.shadow import ShadowConfig

from support.engine_support import process, running, write_scripts
from support.waits import HANG

# Armed through its store, enters once on its next timer tick and keeps how it went.
DCA = """
plugin = {every = "1s"}
function on_timer()
  if not store.get("armed") then return end
  store.delete("armed")
  local r = orders.market{symbol = "EURUSD", side = "buy", volume = 0.1, sl = 1.09}
  store.set("said", r.ok and "entered" or r.error)
end"""


async def said(store: PluginStore) -> str:
    """What the timer's entry came to, once it has run (bounded: a hang fails)."""
    with trio.fail_after(HANG):
        while (answer := store.get("dca", "said")) is None:
            await trio.sleep(0.01)
    return answer


async def test_a_pause_stops_the_shadows_timer_from_entering_as_it_stops_lives(tmp_path):
    # Live refuses its timer's entry while paused; a shadow that made it held a position live
    # never had, and decided every alert after on that book.
    async with running(tmp_path, {"dca": DCA},
                       shadow=ShadowConfig(write_scripts(tmp_path / "scripts-next", {"dca": DCA}))) as engine:
        engine.pause()
        for store in (engine.store, engine.shadow.trial.store):
            store.set("dca", "armed", True)
        live, shadow = await said(engine.store), await said(engine.shadow.trial.store)
        positions = len(await engine.broker.positions()), len(await engine.shadow.broker.positions())
    assert live == shadow == PAUSED
    assert positions == (0, 0)


async def test_the_shadow_runs_what_live_decided_before_a_pause_as_live_did(tmp_path):
    # An alert live decided before the pause, run by the shadow after it (a shadow behind): its
    # entry is not refused, as it was not live.
    pass_all = "function on_alert(a) return nil end"
    async with running(tmp_path, {"pass": pass_all},
                       shadow=ShadowConfig(write_scripts(tmp_path / "scripts-next", {"pass": pass_all}))) as engine:
        turn = trio.Event()
        engine.shadow._idle = turn.wait   # the shadow holds back until the pause is made
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09")
        engine.pause()
        turn.set()
        with trio.fail_after(HANG):
            while (record := engine.shadow.records.get(row["id"])) is None:
                await trio.sleep(0.01)
    assert row["status"] == record["status"] == "done" and record["differs"] is False, record["differences"]
