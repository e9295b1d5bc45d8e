"""A real engine process for the crash tests: submits N alerts, printing "ack ID" as each
one's submit returns, then drains and prints "done". With N = 0 it only recovers.

    python tests/support/engine_drill.py DATA SCRIPTS N
"""

import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, before this folder

from engine.domain.alerts import parse_body  # noqa: E402
from engine.domain.config import EngineConfig  # noqa: E402
from engine.app import open_engine  # noqa: E402


async def main(data: Path, scripts: Path, count: int) -> None:
    config = EngineConfig(scripts=scripts, data=data, workers=2)
    async with open_engine(config) as engine:
        print("ready", flush=True)
        for i in range(count):
            symbol = ("EURUSD", "GBPUSD", "USDJPY")[i % 3]
            price = {"EURUSD": 1.1, "GBPUSD": 1.3, "USDJPY": 150.0}[symbol]
            alert = parse_body(f"buy {symbol} volume=0.01 price={price} id=drill-{i}", engine.symbols)
            recorded = await engine.submit(alert)
            print(f"ack {recorded.id}", flush=True)
            await trio.sleep(0)
        await engine.drain()
        print("done", flush=True)


if __name__ == "__main__":
    trio.run(main, Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3]))
