"""A journal restored from a backup as docs/operations.md says (stop, the file copied back,
start) while what lives outside it has moved on: the shadow's file, and MetaTrader's positions
and history under the tags of the alerts made after the backup. The journal numbers its alerts
past every id those have seen, never again from the backup's."""

from __future__ import annotations

import shutil
from pathlib import Path

from engine.adapters.storage import backup
from engine.domain.config.shadow import ShadowConfig

from support.engine_support import process, running, submit, write_scripts
from support.mt5_standin import DEFAULT_SYMBOLS, Terminal
from support.mt5_support import config
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


async def test_after_a_restore_a_new_alerts_lost_send_is_not_answered_with_an_old_alerts_position(tmp_path):
    """The alert made after the backup (2, a XAUUSD buy) left its position at MetaTrader under
    the tag "mh:a2:...". Numbered 2 again, a new XAUUSD buy tagged its send the same; its send lost
    (the worker dying before it reached the terminal), the lookup (fourteen hours back while the
    server's clock is unknown) found the old position: the alert was done, its entry told made at
    the old ticket, never sent. Numbered past the tags at the broker, its entry is "not known"."""
    terminal = Terminal(tmp_path / "terminal.db", symbols={s: DEFAULT_SYMBOLS[s] for s in ("US500", "XAUUSD")})
    settings = {"broker": "mt5", "mt5": config(tmp_path)}   # no forex major: the clock is not found
    async with running(tmp_path, **settings) as engine:
        assert str(engine.broker.server_clock) == "unknown"
        assert (await process(engine, "buy US500 volume=1 id=one"))["status"] == "done"
        backup(tmp_path / "data" / "moonhook.db", tmp_path / "monday.db")
        old = await process(engine, "buy XAUUSD volume=0.1 id=two")   # after the backup
    restore(tmp_path, tmp_path / "monday.db")
    async with running(tmp_path, **settings) as engine:
        terminal.script("order_send", "crash_before_send")
        new = await process(engine, "buy XAUUSD volume=0.2 id=three")
    (order,) = new["outcome"]["orders"]
    assert new["id"] > old["id"] and not order["ok"] and order["unknown"], new
    assert [p["volume"] for p in terminal.positions()] == [1.0, 0.1] and terminal.sent() == 2


async def test_an_alert_in_flight_at_the_backup_that_traded_since_is_not_sent_again_after_a_restore(tmp_path):
    """The backup caught alert 2 journaled, its entry not yet written down; the entry went after
    the backup. Restored, the journal runs alert 2 again, and the book, knowing no send of it,
    sent the entry a second time: two 0.2 lots EURUSD under one tag. It is found at the broker."""
    terminal = Terminal(tmp_path / "terminal.db")
    settings = {"broker": "mt5", "mt5": config(tmp_path)}
    async with running(tmp_path, **settings) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 id=one"))["status"] == "done"
        recorded = await submit(engine, "buy EURUSD volume=0.2 id=two")
        backup(tmp_path / "data" / "moonhook.db", tmp_path / "monday.db")   # the loop held: nothing sent yet
        await engine.drain()
        (sent,) = engine.journal.get(recorded.id)["outcome"]["orders"]
    restore(tmp_path, tmp_path / "monday.db")
    async with running(tmp_path, **settings) as engine:
        await engine.drain()
        again = engine.journal.get(recorded.id)
    assert again["status"] == "done" and again["outcome"]["orders"][0]["ticket"] == sent["ticket"], again
    assert [p["volume"] for p in terminal.positions()] == [0.1, 0.2] and terminal.sent() == 2
