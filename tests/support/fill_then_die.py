"""A real engine process killed (SIGKILL) just after the broker's fill of the first market
order, before the order ledger has its answer: the window between a paper fill and the
ledger's row. The fill is booked and never told before the kill: the broker's events wait their
turn in the queue, as a busy bar's do (told first, or in part, the restart would have less or
more to tell, as the scheduler happened to run the tasks).

    python tests/support/fill_then_die.py DATA SCRIPTS BODY [max_entries_per_hour] [mt5] [told]

With ``mt5``, on MetaTrader 5: the stand-in terminal (support/mt5_standin.py) in DATA's folder.
With ``told``, killed instead the moment the engine has told the fill: its row taken out of the
untold events (``storage/untold.py``), nothing left to tell at the next start.
"""

import os
import signal
import sys
from dataclasses import replace
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, before this folder
sys.path.insert(1, str(Path(__file__).resolve().parents[1]))  # tests: the MetaTrader stand-in

from engine.adapters.storage import OrderLedger  # noqa: E402
from engine.adapters.storage.untold import UntoldEvents  # noqa: E402
from engine.app import open_engine  # noqa: E402
from engine.core import Engine  # noqa: E402
from engine.domain.alerts import parse_body  # noqa: E402
from engine.domain.config import EngineConfig  # noqa: E402
from engine.domain.orders import Closed, Dropped, Fill  # noqa: E402
from support.mt5_standin import Terminal  # noqa: E402
from support.mt5_support import config as mt5_config  # noqa: E402


def _die_at_the_answer(self, request, status, result, latency_ms=None):
    if request.kind == "market" and status == "done":
        os.kill(os.getpid(), signal.SIGKILL)
    raise AssertionError("the first market order should have been filled")


def _held(on_event):
    """The engine's listener with the broker's fills, closes and cancels held back (never queued):
    still untold in the broker's book when the kill comes."""
    def listener(self, event):
        if not isinstance(event, (Fill, Closed, Dropped)):
            on_event(self, event)
    return listener


def _die_once_told(told):
    """``UntoldEvents.told`` killing the process once it has taken a kept event's row out."""
    def told_then_die(self, event):
        kept = id(event) in self._rows
        told(self, event)
        if kept:
            os.kill(os.getpid(), signal.SIGKILL)
    return told_then_die


async def main(data: Path, scripts: Path, body: str, per_hour: int | None, on_mt5: bool, at_told: bool) -> None:
    if at_told:
        UntoldEvents.told = _die_once_told(UntoldEvents.told)
    else:
        OrderLedger.finish = _die_at_the_answer
        Engine.on_event = _held(Engine.on_event)
    config = EngineConfig(scripts=scripts, data=data, workers=1, max_entries_per_hour=per_hour)
    if on_mt5:
        Terminal(data.parent / "terminal.db")
        config = replace(config, broker="mt5", mt5=mt5_config(data.parent))
    async with open_engine(config) as engine:
        await engine.submit(parse_body(body, engine.symbols))
        await engine.drain()


if __name__ == "__main__":
    options = sys.argv[4:]
    per_hour = next((int(o) for o in options if o.isdigit()), None)
    trio.run(main, Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], per_hour, "mt5" in options, "told" in options)
