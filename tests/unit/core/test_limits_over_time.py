"""The account's hard limits over time (engine/core/limits.py, order_caps.py): what counts
toward a limit is the same while the engine runs as after a restart, whatever the broker
answered. A real engine, its sandbox workers and SQLite files, on the paper broker or on the
MT5 broker with its stand-in terminal (tests/support/mt5_standin.py)."""

from __future__ import annotations

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
