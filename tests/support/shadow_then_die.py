"""A real engine process with ``[shadow]`` killed (SIGKILL) as the shadow is about to record its
decision of the first alert: its orders are on its paper broker (and its plugins' store writes
in its file), its record and cursor not yet written. The live alert's status is written before
the shadow takes it up, so the kill cuts the shadow alone.

    python tests/support/shadow_then_die.py DATA SCRIPTS SHADOW_SCRIPTS BODY
"""

import os
import signal
import sys
from pathlib import Path

import trio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # the repository, before this folder

from engine.adapters.storage.shadow import ShadowRecords  # noqa: E402
from engine.app import open_engine  # noqa: E402
from engine.domain.alerts import parse_body  # noqa: E402
from engine.domain.config import EngineConfig  # noqa: E402
from engine.domain.config.shadow import ShadowConfig  # noqa: E402


def _die_at_the_record(self, *args, **kwargs):
    os.kill(os.getpid(), signal.SIGKILL)


async def main(data: Path, scripts: Path, shadow: Path, body: str) -> None:
    ShadowRecords.add = _die_at_the_record
    config = EngineConfig(scripts=scripts, data=data, workers=1, shadow=ShadowConfig(shadow))
    async with open_engine(config) as engine:
        await engine.submit(parse_body(body, engine.symbols))
        await engine.drain()
        await trio.sleep_forever()   # until the shadow's record kills it (the test bounds it)


if __name__ == "__main__":
    trio.run(main, Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]), sys.argv[4])
