"""A pool's first workers: one that dies as it starts is said and tried once more.

A worker killed as it starts (the system's out-of-memory killer picks a new process; a kill by
hand) may be a passing event: another is started at once, and the pool starts. One that dies
again makes the pool's start fail with ``PoolDidNotStart``, a message whole enough to be the
one line its user reads, never a traceback.
"""

from __future__ import annotations

import logging

from .ending import likely_cause
from .process import DeadlineExceeded, WorkerGone, WorkerProcess

log = logging.getLogger("sandbox.pool")


class PoolDidNotStart(Exception):
    """A worker of the pool's start died as it started, and so did the one started in its place."""


async def first_worker(nice: int) -> WorkerProcess:
    """A started worker for the pool's start, trying once more after a worker that failed to.
    Raises PoolDidNotStart if the second fails too."""
    try:
        return await WorkerProcess.spawn(nice)
    except (OSError, WorkerGone, DeadlineExceeded) as e:
        first = _why(e)
    log.warning("could not start a sandbox worker: %s; starting another", first)
    try:
        return await WorkerProcess.spawn(nice)
    except (OSError, WorkerGone, DeadlineExceeded) as e:
        again = _why(e)
    raise PoolDidNotStart(f"the sandbox could not start its workers: {first}, then {again}{likely_cause(again)}")


def _why(e: Exception) -> str:
    return str(e) or type(e).__name__
