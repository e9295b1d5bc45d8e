"""A Ctrl-C while ``moonhook run`` starts its workers: installed as ``sitecustomize.py`` on the
PYTHONPATH of a ``moonhook run`` (``install``), it runs in each process started with that path
(the workers get the engine's PYTHONPATH, not its other variables). In a worker of the kind
chosen (``SANDBOX``, ``MT5``: a part of its command line), before the worker's own code runs, it
notes the worker's pid (one a line, in ``workers`` beside it) and, in the first such worker only,
sends SIGINT to the engine's process group, as a terminal does at a Ctrl-C: the moment a worker
is still starting, every time. Test-only: nothing of it is in the product.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

_WORKERS = Path(__file__).with_name("workers")
SANDBOX = "sandbox.worker"                     # python -m sandbox.worker
MT5 = "/brokers/mt5/worker.py"                 # python -u .../engine/adapters/brokers/mt5/worker.py


def install(site: Path, kind: str = SANDBOX) -> None:
    """This module copied to ``site`` as its ``sitecustomize.py`` (``site`` on the PYTHONPATH),
    pressing Ctrl-C as the first worker of ``kind`` starts."""
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy(__file__, site / "sitecustomize.py")
    (site / "kind").write_text(kind)


def workers(site: Path) -> list[int]:
    """The pids of the workers started so far with ``site`` installed."""
    path = site / "workers"
    return [int(line) for line in path.read_text().split()] if path.exists() else []


def _chosen() -> bool:
    """This process is a worker of the kind installed."""
    kind = _WORKERS.with_name("kind")
    return kind.exists() and any(kind.read_text() in arg for arg in getattr(sys, "orig_argv", ()))


if __name__ == "sitecustomize" and _chosen():
    fd = os.open(_WORKERS, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    os.write(fd, f"{os.getpid()}\n".encode())  # O_APPEND: one write each, whole
    os.close(fd)
    try:
        os.close(os.open(_WORKERS.with_name("pressed"), os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        pass  # Ctrl-C was pressed once, by the first worker
    else:
        os.killpg(os.getpgid(os.getppid()), signal.SIGINT)
