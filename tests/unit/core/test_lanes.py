"""The engine's lanes (engine/core/lanes.py): a symbol's lane lives while it has alerts."""

from __future__ import annotations

import trio
import trio.testing

from support.engine_support import process, running, submit


async def _tasks() -> int:
    """The tasks of this run, every nursery's, once each of them waits for something."""
    await trio.testing.wait_all_tasks_blocked()
    count, stack = 0, [trio.lowlevel.current_root_task()]
    while stack:
        task = stack.pop()
        count += 1
        stack.extend(child for nursery in task.child_nurseries for child in nursery.child_tasks)
    return count


async def test_a_lane_ends_with_its_alerts_and_the_next_alert_of_its_symbol_opens_another(tmp_path):
    # A lane was kept for good: a task and a channel for every symbol ever alerted on, an
    # unknown one's too (a typo, a screener's ticker): 7.7 kB each, 23 MB after 3,000 symbols.
    async with running(tmp_path) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        before = await _tasks()
        for n in range(200):
            await submit(engine, f"buy X{n}USD volume=0.1 price=1.1")
        await engine.drain()
        after = await _tasks()
        again = await process(engine, "close EURUSD price=1.1")
    assert first["status"] == "done" and again["status"] == "done"
    assert after == before
