"""An entry waiting for a wide spread to narrow (``engine.max_spread_wait``, ``Limits.spread_settled``) on
MetaTrader 5, the stand-in terminal in the broker's real worker process: the wait's end never cuts a read of
the terminal mid-call (which kills its worker and restarts the session); it ends between reads."""

from __future__ import annotations

import logging

from engine.domain.config.mt5 import MT5Config

from support.engine_support import running, submit
from support.mt5_standin import Terminal
from support.mt5_support import config as standin_config
from support.waits import HANG, until

WAIT = 100.0   # engine.max_spread_wait: jumped over on trio's clock, never waited out


def held_reads(tmp_path) -> MT5Config:
    """Calls given far more than ``WAIT`` before the link calls them hung: the jump past the wait's end
    leaves the held read within its own deadline."""
    return standin_config(tmp_path, path=str(tmp_path / "terminal.db"), timeout=10 * WAIT)


async def test_the_spread_waits_end_falling_during_a_tick_read_leaves_the_worker_alone(tmp_path, caplog,
                                                                                      mock_clock):
    # The wait's deadline, a move_on_after around the reads too, fell while a tick read was in the worker: the
    # cancel landed mid-call, the link killed its worker ("cancelled before its answer") and the session was
    # "stopped", then linked again, for a deadline no terminal had missed.
    mock_clock.rate = 1.0   # trio's clock runs as the wall's, and jumps where the test says
    caplog.set_level(logging.INFO)
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_price("EURUSD", 1.08500, 1.08620)   # 12 pips: the rollover's
    async with running(tmp_path, broker="mt5", mt5=held_reads(tmp_path), max_spread_pips={"*": 3.0},
                       max_spread_wait=WAIT) as engine:
        (worker,) = engine.broker.helper_pids()
        row = await submit(engine, "buy EURUSD volume=0.1 sl=1.07 id=at-rollover")
        await until(lambda: any("the entry waits up to" in r.getMessage() for r in caplog.records))
        terminal.script("symbol_info_tick", "hang")                # the wait's next look at the market, held
        await until(lambda: terminal.hung("symbol_info_tick") == 1)
        mock_clock.jump(WAIT + 1)                                   # the wait's end passes as the read is held
        terminal.release("symbol_info_tick")
        await until(lambda: engine.journal.get(row.id)["status"] != "received", HANG)
        refused = engine.journal.get(row.id)
        assert refused["outcome"]["orders"][0]["error"] == (
            "over engine.max_spread_pips: EURUSD's spread is 12.0 pips (bid 1.085, ask 1.0862), at most 3, after "
            f"waiting {WAIT:g} s for it to narrow"), refused
        assert engine.broker.helper_pids() == [worker] and engine.broker.connected
        assert terminal.sent() == 0
        said = [r.getMessage() for r in caplog.records if r.name == "moonhook.mt5"]
        assert not [s for s in said if "stopped" in s or "cancelled" in s], said
