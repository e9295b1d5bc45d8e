"""A guard run again after a crash meets the effects of the alert's first run: what that run sent
stands, and the alert's record, the order ledger and the trades chat say so, not that a guard
refused it (``examples/strategies/one_position.lua`` refuses an entry while its symbol has a
position: after a restart, the very position the alert opened)."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest
import trio

from engine.adapters.storage.untold import UntoldEvents

from support.engine_support import process, running, told, write_scripts
from support.mt5_support import config as mt5_config
from support.paths import ROOT, SUPPORT
from support.waits import HANG
from test_recovery import HEDGE

ONE_POSITION = (ROOT / "examples" / "strategies" / "one_position.lua").read_text(encoding="utf-8")
# The same rule judged in on_order only: the alert passes, its entry is vetoed at the desk.
AT_THE_DESK = """
plugin = {guard = true}
function on_order(o)
  if o.kind == "market" and #positions.list(o.symbol) > 0 then return false, "a position is open" end
end
"""


async def test_an_entry_made_before_a_crash_is_done_not_rejected_by_the_guard_that_sees_it_open(tmp_path):
    scripts = {"one_position": ONE_POSITION}
    async with running(tmp_path, scripts) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert row["status"] == "done", row
        engine.journal.set_status(row["id"], "received")   # as if it died before its status was written
    async with running(tmp_path, scripts) as engine:
        await engine.drain()
        again = engine.journal.get(row["id"])
        (order,) = engine.ledger.for_alert(row["id"])
        messages = await told(engine)
        positions = await engine.broker.positions()
    assert again["status"] == "done", again
    (record,) = again["outcome"]["orders"]
    assert (record["client_id"], record["ok"]) == (f"a{row['id']}-engine-open", True), record
    assert record["ticket"] == row["outcome"]["orders"][0]["ticket"]
    assert again["outcome"]["note"] == ("its earlier run's orders stand; run again, it was rejected by one_position: "
                                        "already a position open on EURUSD"), again["outcome"]
    assert (order["status"], len(positions)) == ("done", 1)
    assert not [t for k, t in messages if k == "trades" and "rejected" in t], messages


async def test_an_entry_made_before_a_crash_stays_done_in_the_ledger_when_on_order_would_veto_it_now(tmp_path):
    scripts = {"desk": AT_THE_DESK}
    async with running(tmp_path, scripts) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        engine.journal.set_status(row["id"], "received")   # as if it died before its status was written
    async with running(tmp_path, scripts, max_entries_per_hour=1) as engine:
        await engine.drain()
        again = engine.journal.get(row["id"])
        (order,) = engine.ledger.for_alert(row["id"])
        second = await process(engine, "buy GBPUSD volume=0.1 price=1.3")
        positions = await engine.broker.positions()
    assert again["status"] == "done", again
    assert again["outcome"]["orders"][0]["ok"] and again["outcome"]["orders"][0]["duplicate"], again
    assert order["status"] == "done", order   # not 'vetoed': the broker did it, and the hour counts it
    assert "over engine.max_entries_per_hour" in second["outcome"]["orders"][0]["error"], second
    assert [p["symbol"] for p in positions] == ["EURUSD"]


@pytest.mark.parametrize("broker", ["paper", "mt5"])
async def test_an_entry_killed_at_its_fill_is_done_after_the_restart_not_rejected_by_one_position(tmp_path, broker):
    """A real kill -9 right after the broker's fill, before the ledger had the answer (``fill_then_die.py``):
    the order is 'unknown' in the ledger when one_position, run again, rejects the alert."""
    folder = write_scripts(tmp_path / "scripts", {"one_position": ONE_POSITION})
    died = subprocess.run([sys.executable, str(SUPPORT / "fill_then_die.py"), str(tmp_path / "data"), str(folder),
                           "buy EURUSD volume=0.01 price=1.1", *(["mt5"] if broker == "mt5" else [])],
                          capture_output=True, text=True, timeout=60)
    assert died.returncode == -signal.SIGKILL, died.stderr
    settings = {"broker": "mt5", "mt5": mt5_config(tmp_path)} if broker == "mt5" else {}
    async with running(tmp_path, {"one_position": ONE_POSITION}, **settings) as engine:
        await engine.drain()
        (alert,) = engine.journal.recent(1)
        (order,) = engine.ledger.for_alert(alert["id"])
        positions = await engine.broker.positions()
    assert alert["status"] == "done", alert
    assert [(o["client_id"], o["ok"]) for o in alert["outcome"]["orders"]] == [(order["client_id"], True)]
    assert (order["status"], [p["volume"] for p in positions]) == ("done", [0.01])


TWO_AT_MOST = """
plugin = {guard = true}
function on_order(o)
  if o.kind == "market" and #positions.list(o.symbol) >= 2 then return false, "two positions open" end
end
"""


async def test_a_fill_hooks_order_told_again_after_a_crash_is_found_not_vetoed_by_the_guard_that_sees_it(
        tmp_path, monkeypatch):
    """A broker event's hooks run again as an alert's do: the hedge on_fill placed before the crash is
    found at the broker; vetoed now (it makes the two positions the guard allows), the ledger said it never went."""
    scripts = {"hedge": HEDGE, "two": TWO_AT_MOST}
    with monkeypatch.context() as patched:
        patched.setattr(UntoldEvents, "told", lambda self, event: None)   # as if it died before each was taken out
        async with running(tmp_path, scripts) as engine:
            await process(engine, "buy EURUSD volume=0.1 price=1.1")
            with trio.fail_after(HANG):  # bounds a hang
                while engine.store.get("hedge", "once") is None:
                    await trio.sleep(0.01)
    async with running(tmp_path, scripts) as engine:
        with trio.fail_after(HANG):
            while engine.store.get("hedge", "again") is None:
                await trio.sleep(0.01)
        said = (engine.store.get("hedge", "once"), engine.store.get("hedge", "again"))
        hedges = [o for o in engine.ledger.recent() if o["plugin"] == "hedge"]
        positions = await engine.broker.positions()
    assert said == ("sent", "found"), said
    assert [o["status"] for o in hedges] == ["done"], hedges
    assert sorted(p["side"] for p in positions) == ["buy", "sell"]


# Its entry once: the flag its first run set just before the crash makes it place none when run again.
ONCE = """
function on_alert(a)
  if store.get("entered") == nil then
    store.set("entered", true)
    orders.market{symbol = a.symbol, side = "buy", volume = 0.1}
  end
  return {handled = true}
end
"""


async def test_an_order_the_alert_run_again_does_not_place_again_stays_in_its_outcome_marked_as_the_earlier_runs(
        tmp_path):
    async with running(tmp_path, {"once": ONCE}) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert [o["ok"] for o in row["outcome"]["orders"]] == [True], row
        engine.journal.set_status(row["id"], "received")   # as if it died before its status was written
    async with running(tmp_path, {"once": ONCE}) as engine:
        await engine.drain()
        again = engine.journal.get(row["id"])
        orders = engine.ledger.for_alert(row["id"])
        positions = await engine.broker.positions()
    assert again["status"] == "done", again
    (record,) = again["outcome"]["orders"]
    first = row["outcome"]["orders"][0]
    assert (record["client_id"], record["ticket"], record["ok"], record["earlier_run"]) == (
        first["client_id"], first["ticket"], True, True), record
    assert again["outcome"]["note"] == f"its earlier run's {first['client_id']} stands, not placed again", again
    assert ([o["status"] for o in orders], len(positions)) == (["done"], 1)


async def test_an_alert_run_for_the_first_time_reads_no_earlier_run_from_the_ledger(tmp_path, monkeypatch):
    scripts = {"one_position": ONE_POSITION}
    async with running(tmp_path, scripts) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        read: list[int] = []
        monkeypatch.setattr(engine.ledger, "for_alert", lambda alert_id: read.append(alert_id) or [])
        rejected = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=second")
        done = await process(engine, "buy GBPUSD volume=0.1 price=1.3")
    assert (rejected["status"], done["status"], read) == ("rejected", "done", [])
