"""A plugin's timer across a save of its script (engine/core/timers.py): the call in flight
finishes on the version it began on, its order answered and noted, before the new version's
first call. A real engine on a paper broker whose answer to the timer's order is held until the
save is done: decided by events, not timed."""

from __future__ import annotations

import time
from pathlib import Path

import trio

from engine.adapters.brokers import PaperBroker
from engine.adapters.storage import Database
from engine.domain.config.paper import PaperConfig

from support.engine_support import running
from support.waits import HANG

# Enters once, and notes it; each call ends by saying which version made it.
ENTERS_ONCE = """
plugin = {every = "1s", symbols = {"EURUSD"}}
function on_timer()
  if not store.get("entered") then
    local r = orders.market{symbol = "EURUSD", side = "buy", volume = 0.1}
    store.set("entered", r.ok and "yes" or r.error)
  end
  store.set("ticked", "VERSION")
end
"""


class HeldAnswer(PaperBroker):
    """A paper broker that executes the first order of plugin ``holds`` at once and holds its answer
    until ``release`` is set (MetaTrader's answer on its way back); ``sent`` is set meanwhile."""

    def __init__(self, folder: Path, holds: str = "ticker"):
        super().__init__(Database(folder / "paper.db"), PaperConfig(), time.time)
        self.holds = holds
        self.sent, self.release = trio.Event(), trio.Event()

    async def execute(self, request):
        result = await super().execute(request)
        if request.plugin == self.holds and not self.release.is_set():
            self.sent.set()
            with trio.fail_after(HANG):   # bounds a hang
                await self.release.wait()
        return result


async def test_a_script_saved_while_its_timer_waits_for_its_order_is_answered_and_never_enters_twice(tmp_path):
    # The save cancelled the old version's call in its order's wait: the order went through, the
    # script never noted it, and the new version's first tick entered a second time.
    (tmp_path / "data").mkdir()
    broker = HeldAnswer(tmp_path / "data")
    await broker.quote("EURUSD", 1.1, time.time())   # a price for the paper broker to fill at
    async with running(tmp_path, {"ticker": ENTERS_ONCE.replace("VERSION", "v1")}, use_broker=broker) as engine:
        with trio.fail_after(HANG):
            await broker.sent.wait()
        script = tmp_path / "scripts" / "ticker.lua"
        script.write_text(ENTERS_ONCE.replace("VERSION", "v2"), encoding="utf-8")
        await engine.load(script)
        broker.release.set()
        with trio.fail_after(HANG):
            while engine.store.get("ticker", "ticked") != "v2":
                await trio.sleep(0.01)
        assert engine.store.get("ticker", "entered") == "yes"
        assert [p["plugin"] for p in await broker.positions()] == ["ticker"]


async def test_a_plugin_unloaded_while_its_timer_waits_for_its_order_is_out_once_the_script_noted_the_order(tmp_path):
    # A stop unloads each plugin, then cancels what still runs: a timer's call waiting for its
    # order's answer was cut there, the order sent and the script unaware, and after the restart
    # its timer entered a second time. The unload now returns once the call is done.
    (tmp_path / "data").mkdir()
    broker = HeldAnswer(tmp_path / "data")
    await broker.quote("EURUSD", 1.1, time.time())

    async with running(tmp_path, {"ticker": ENTERS_ONCE.replace("VERSION", "v1")}, use_broker=broker) as engine:
        async def answer_once_out_of_service() -> None:
            with trio.fail_after(HANG):   # bounds a hang
                while engine.plugins.get("ticker") is not None:
                    await trio.sleep(0.01)
            broker.release.set()

        with trio.fail_after(HANG):
            await broker.sent.wait()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(answer_once_out_of_service)
            await engine.unload("ticker")
            assert engine.store.get("ticker", "entered") == "yes"


# Holds the hook lock: its first order's answer is held (HeldAnswer answers "holder" late).
HOLDER = """
plugin = {every = "1s", symbols = {"GBPUSD"}}
function on_timer()
  if not store.get("sent") then
    store.set("sent", "yes")
    orders.market{symbol = "GBPUSD", side = "buy", volume = 0.1}
  end
end
"""

# v1 enters at each call; v2, the trader's correction, only says it ran.
ENTERS = """
plugin = {every = "1s", symbols = {"EURUSD"}}
function on_timer() orders.market{symbol = "EURUSD", side = "buy", volume = 0.1} end
"""
NOTES = """
plugin = {every = "1s", symbols = {"EURUSD"}}
function on_timer() store.set("ticked", "v2") end
"""


async def test_a_timer_call_still_waiting_for_its_turn_at_a_save_is_never_made_on_the_old_version(tmp_path):
    # Another plugin's hook held the hook lock (its order's answer on its way back) while this
    # timer's call waited for it: the save stopped the timer, yet the old version's call ran once
    # the lock was free, and entered after the trader's save had taken the entries out.
    (tmp_path / "data").mkdir()
    broker = HeldAnswer(tmp_path / "data", holds="holder")
    await broker.quote("EURUSD", 1.1, time.time())
    await broker.quote("GBPUSD", 1.3, time.time())
    scripts = {"holder": HOLDER, "ticker": ENTERS}
    async with running(tmp_path, scripts, use_broker=broker) as engine:
        with trio.fail_after(HANG):
            await broker.sent.wait()
            while engine.hooks._lock.statistics().tasks_waiting == 0:   # the ticker's call, in line for it
                await trio.sleep(0.01)
        entered = len([p for p in await broker.positions() if p["plugin"] == "ticker"])
        script = tmp_path / "scripts" / "ticker.lua"
        script.write_text(NOTES, encoding="utf-8")
        await engine.load(script)
        broker.release.set()
        with trio.fail_after(HANG):
            while engine.store.get("ticker", "ticked") != "v2":
                await trio.sleep(0.01)
        assert len([p for p in await broker.positions() if p["plugin"] == "ticker"]) == entered
