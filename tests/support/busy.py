"""A busy machine made on purpose: processes spinning on one CPU, for the tests that hold the
sandbox's deadlines to CPU time (a plugin within its budgets is not killed for the load); and
the pool's looks at a worker past its deadline, recorded, so that tests check how a deadline
was kept rather than time it."""

import subprocess
import sys
from contextlib import contextmanager
from typing import Callable, Iterator


@contextmanager
def spinners(cpu: int, count: int) -> Iterator[None]:
    """``count`` processes spinning on ``cpu``, each running before this yields; killed after."""
    code = f"import os\nos.sched_setaffinity(0, {{{cpu}}})\nprint('spinning', flush=True)\nwhile True: pass"
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) for _ in range(count)]
    try:
        for p in procs:
            assert p.stdout.readline() == "spinning\n"
        yield
    finally:
        for p in procs:
            p.kill()
            p.wait()
            p.stdout.close()


def starved_looks(monkeypatch, then: Callable[[float | None], None] = lambda more: None) -> list:
    """Records what each look of the pool at a worker past its deadline granted (seconds more,
    or None: killed), calling ``then`` with it: how a deadline was kept, without timing it."""
    from sandbox.process import WorkerProcess

    looks: list = []
    starved = WorkerProcess.starved

    def recorded(self, allowed):
        more = starved(self, allowed)
        looks.append(more)
        then(more)
        return more

    monkeypatch.setattr(WorkerProcess, "starved", recorded)
    return looks
