"""Folds as the pool runs them: the answer (``Folded``) and the bookkeeping of one fold on
one worker (``FoldRun``): which plugin the worker is running, and each one's own deadline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from . import protocol
from .errors import SandboxError
from .host import result_of
from .plugin import Plugin, Reply
from .process import WorkerProcess


@dataclass
class Folded:
    """What a fold did: the replies of the plugins that passed, in order, then what the next
    one did, its reply (``stop``) or its error (``error``); both are None if all passed."""

    passed: list[Reply] = field(default_factory=list)
    stop: Reply | None = None
    error: SandboxError | None = None


@dataclass(eq=False)
class FoldRun:
    """A fold's plugins on one worker, and which of them the worker is running."""

    plugins: list[Plugin]
    index: int = 0

    async def exchange(self, w: WorkerProcess, msg: list) -> list:
        """Waits for the worker, holding each plugin to its own hard deadline: the worker says
        which plugin runs since when, and is looked at every ``tick`` seconds (the shortest
        deadline left), so a wedged plugin is killed within its deadline plus a tick."""
        if msg[protocol.OP] == protocol.FOLD:
            w.reset_progress()  # until the worker starts the first plugin
        tick = min(p.budget.deadline for p in self.plugins[self.index:])

        def extend() -> float | None:
            index, since = w.progress
            deadline = self.plugins[max(index, 0)].budget.deadline
            left = deadline - (time.monotonic() - since)
            if left <= 0:
                left = w.starved(deadline) or 0.0  # a busy machine, not a runaway plugin
            return min(left, tick) if left > 0 else None

        return await w.exchange(msg, tick, extend)

    def culprit(self, w: WorkerProcess) -> Plugin:
        """The plugin the worker was running when it failed (it got past the ones before)."""
        index, _since = w.progress
        self.index = min(max(index, 0), len(self.plugins) - 1)
        return self.plugins[self.index]


def gather(done: protocol.Folded, plugins: list[Plugin], folded: Folded) -> bool:
    """Adds a worker's answer to a fold of ``plugins`` to ``folded``: a reply for each plugin
    that passed, then the reply or the error of the one that stopped it; False if one did."""
    for (log, memory, seconds), plugin in zip(done.passes, plugins):  # protocol.Pass's fields
        plugin.memory = memory
        folded.passed.append(Reply([], log, memory, seconds))
    if done.stop is None:
        return True
    try:
        folded.stop = result_of(plugins[len(done.passes)], done.stop)
        folded.stop.seconds = done.seconds
    except SandboxError as e:
        folded.error = e
    return False

