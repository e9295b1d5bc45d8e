"""A real engine process killed (SIGKILL) just after the broker's answer to an administrator's
close, before the order ledger has it: the ledger's row stays "unknown", and no alert runs the
close again at the next start.

    python tests/support/close_then_die.py DATA SCRIPTS
"""

import os
import signal
import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, before this folder

from engine.adapters.storage import OrderLedger  # noqa: E402
from engine.app import Operations, open_engine  # noqa: E402
from engine.domain.alerts import parse_body  # noqa: E402
from engine.domain.config import EngineConfig  # noqa: E402

_finish = OrderLedger.finish


def _die_at_the_close(self, request, status, result, latency_ms=None):
    if request.kind == "close":
        os.kill(os.getpid(), signal.SIGKILL)
    _finish(self, request, status, result, latency_ms)


async def main(data: Path, scripts: Path) -> None:
    OrderLedger.finish = _die_at_the_close
    config = EngineConfig(scripts=scripts, data=data, workers=1)
    async with open_engine(config) as engine:
        await engine.submit(parse_body("buy EURUSD volume=0.1 price=1.1", engine.symbols))
        await engine.drain()
        (position,) = await engine.broker.positions()
        await Operations(engine).close_positions([position["ticket"]], plugin="api", origin="test", comment="admin")
    raise AssertionError("the close should have been answered by the broker")


if __name__ == "__main__":
    trio.run(main, Path(sys.argv[1]), Path(sys.argv[2]))
