"""The account's hard limits over time (engine/core/limits.py, order_caps.py): what counts
toward a limit is the same while the engine runs as after a restart, whatever the broker
answered. A real engine, its sandbox workers and SQLite files, on the paper broker or on the
MT5 broker with its stand-in terminal (tests/support/mt5_standin.py)."""

from __future__ import annotations

import time

import trio

from support.engine_support import process, running
from support.mt5_standin import Terminal
from support.mt5_support import config as mt5_config


async def test_an_entry_whose_answer_was_lost_counts_toward_the_hours_entries(tmp_path):
    # MetaTrader gave no answer and showed no trace of the entry within resolve_seconds: it may
    # have been made, and the bridge delivers it late. The ledger counts it at a start; live, it
    # was not counted, and the next entry went past max_entries_per_hour = 1.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_entries_per_hour=1) as engine:
        terminal.script("order_send", "late")
        lost = await process(engine, "buy EURUSD volume=0.1")
        assert lost["outcome"]["orders"][0]["unknown"] is True, lost["outcome"]
        assert terminal.deliver_late() == [10009]                       # it arrives after all
        second = await process(engine, "buy GBPUSD volume=0.1 id=second")
        assert second["outcome"]["orders"][0]["error"].startswith(
            "over engine.max_entries_per_hour: 1 entries in the last hour, at most 1; the next may go at "), second
        assert [p["symbol"] for p in await engine.broker.positions()] == ["EURUSD"]


# Opens an entry from each of its own fills: a loop that engine.max_plugin_entries_per_minute stops.
CHAIN = """
function on_fill(f)
  if f.entry == 'in' then
    local ok, r = pcall(orders.market, {symbol = f.symbol, side = 'buy', volume = 0.01})
    if not ok then store.set('stopped', r) end
  end
end"""


async def chained(engine, alert: str) -> list[str]:
    """The plugins of the positions open once ``alert``'s fill set the chain going and it stopped."""
    await process(engine, alert)
    with trio.fail_after(10):
        while engine.store.get("chain", "stopped") is None:
            await trio.sleep(0.01)
    engine.store.set("chain", "stopped", None)
    return sorted(p["plugin"] for p in await engine.broker.positions())


async def test_a_plugins_entries_of_the_minute_are_counted_across_a_restart(tmp_path):
    # A script looping on its own fills met its cap of 3, then the engine restarted (a crash, a
    # service restart): the count began again, and 3 more entries went in the same minute.
    now = time.time()
    caps = dict(clock=lambda: now, max_plugin_entries_per_minute=3)
    async with running(tmp_path, {"chain": CHAIN}, **caps) as engine:
        assert await chained(engine, "buy EURUSD volume=0.1 price=1.1 id=a") == ["chain"] * 3 + ["engine"]
        engine.database.db.execute("UPDATE orders SET created_at = ? WHERE plugin = 'chain'", [now - 30])
    async with running(tmp_path, {"chain": CHAIN}, **caps) as engine:   # 30 s later: the same minute
        assert await chained(engine, "buy EURUSD volume=0.1 price=1.1 id=b") == ["chain"] * 3 + ["engine"] * 2
        engine.database.db.execute("UPDATE orders SET created_at = ? WHERE plugin = 'chain'", [now - 61])
    async with running(tmp_path, {"chain": CHAIN}, **caps) as engine:   # the minute has gone by
        assert await chained(engine, "buy EURUSD volume=0.1 price=1.1 id=c") == ["chain"] * 6 + ["engine"] * 3
