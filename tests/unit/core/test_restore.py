"""A journal restored from a backup as docs/operations.md says (stop, the file copied back,
start) while what lives outside it has moved on: the shadow's file, and MetaTrader's positions
and history under the tags of the alerts made after the backup. The journal numbers its alerts
past every id those have seen, never again from the backup's."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.adapters.storage import backup
from engine.domain.config.shadow import ShadowConfig

from support.engine_support import process, running, write_scripts
from test_shadow import shadow_record

NO_STOP = "function on_alert(a) if not a.sl then return false, 'no stop' end end"
PASS = "function on_alert(a) return nil end"


def restore(tmp_path: Path, copy: Path) -> None:
    """``copy`` put back as the journal, as docs/operations.md says (the engine stopped)."""
    data = tmp_path / "data"
    for leftover in data.glob("moonhook.db*"):
        leftover.unlink()
    shutil.copy(copy, data / "moonhook.db")


async def test_after_a_restore_the_shadow_runs_the_new_alerts_and_shows_no_old_alerts_record(tmp_path):
    """The shadow's file keeps its cursor past the alert made after the backup: a new alert of
    that number was skipped by the shadow, and its detail showed the old alert's record (a GBPUSD
    buy live rejected) as the shadow's decision of a EURUSD sell."""
    shadow = ShadowConfig(write_scripts(tmp_path / "scripts-next", {"trend": PASS}))
    async with running(tmp_path, {"trend": NO_STOP}, shadow=shadow) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09 id=one")
        await shadow_record(engine, first["id"])
        backup(tmp_path / "data" / "moonhook.db", tmp_path / "monday.db")
        old = await process(engine, "buy GBPUSD volume=0.1 price=1.3 id=two")   # after the backup
        await shadow_record(engine, old["id"])
    restore(tmp_path, tmp_path / "monday.db")
    async with running(tmp_path, {"trend": NO_STOP}, shadow=shadow) as engine:
        new = await process(engine, "sell EURUSD volume=0.3 price=1.1 sl=1.2 id=three")
        record = await shadow_record(engine, new["id"])
    assert new["id"] > old["id"], new
    assert record["differs"] is False and record["outcome"]["orders"][0]["symbol"] == "EURUSD", record
