"""How far the shadow is behind the live journal (``Shadow.behind``, `/api/shadow`'s `behind`,
`moonhook status`'s "to catch up"): nothing once it has looked at every live alert, whatever
their status. Real sandbox workers, real SQLite files, the real paper brokers."""

from __future__ import annotations

import trio

from engine.domain.config.shadow import ShadowConfig

from support.engine_support import process, running, submit, write_scripts
from support.waits import HANG

PASS = "function on_alert(a) return nil end"


async def caught_up(engine) -> None:
    """Returns once the shadow has looked at every live alert (bounded: a hang fails)."""
    with trio.fail_after(HANG):
        while engine.shadow.behind:
            await trio.sleep(0.01)


async def test_a_duplicate_as_the_latest_alert_leaves_the_shadow_nothing_to_catch_up(tmp_path):
    # A duplicate is final as journaled, and no status is written after: the shadow was not
    # woken for it, and said "1 to catch up" until the next alert came, maybe hours later.
    async with running(tmp_path, {"pass": PASS},
                       shadow=ShadowConfig(write_scripts(tmp_path / "scripts-next", {"pass": PASS}))) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09 id=one")
        await caught_up(engine)
        again = await submit(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09 id=one")
        assert again.duplicate
        await caught_up(engine)
        counts = engine.shadow.records.counts()
    assert counts["alerts"] == 1   # the duplicate passed, not run: nothing was decided live
