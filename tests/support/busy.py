"""A busy machine made on purpose: processes spinning on one CPU, for the tests that hold the
sandbox's deadlines to CPU time (a plugin within its budgets is not killed for the load)."""

import subprocess
import sys
from contextlib import contextmanager
from typing import Iterator


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
