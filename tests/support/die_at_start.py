"""Workers killed as they start, as the system's out-of-memory killer would: installed as
``sitecustomize.py`` on the PYTHONPATH of a ``moonhook`` command (``install``), it runs in each
process started with that path; in each of the first ``times`` workers of the kind chosen
(``SANDBOX``, ``MT5``: a part of its command line, as ``ctrl_c_at_start``'s), before the worker's
own code runs, it sends itself SIGKILL. Each one killed is counted (a ``killed-N`` file beside it).
Test-only: nothing of it is in the product.
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
from pathlib import Path

_HERE = Path(__file__).parent
SANDBOX = "sandbox.worker"                     # python -m sandbox.worker
MT5 = "/brokers/mt5/worker.py"                 # python -u .../engine/adapters/brokers/mt5/worker.py


def install(site: Path, times: int, kind: str = SANDBOX) -> None:
    """This module copied to ``site`` as its ``sitecustomize.py`` (``site`` on the PYTHONPATH),
    killing the first ``times`` workers of ``kind`` to start."""
    site.mkdir(parents=True, exist_ok=True)
    shutil.copy(__file__, site / "sitecustomize.py")
    (site / "times").write_text(str(times))
    (site / "kind").write_text(kind)


def killed(site: Path) -> int:
    """How many workers were killed so far."""
    return len(list(site.glob("killed-*")))


def _kill_if_counted() -> None:
    for n in range(1, int((_HERE / "times").read_text()) + 1):
        try:
            os.close(os.open(_HERE / f"killed-{n}", os.O_WRONLY | os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue  # that one was killed already, by an earlier worker
        os.kill(os.getpid(), signal.SIGKILL)


def _chosen() -> bool:
    """This process is a worker of the kind installed."""
    kind = (_HERE / "kind").read_text()
    return any(kind in arg for arg in getattr(sys, "orig_argv", ()))


if __name__ == "sitecustomize" and _chosen():
    _kill_if_counted()
