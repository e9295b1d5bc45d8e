"""The MT5 worker's process (engine/adapters/brokers/mt5/spawn.py) holds what the engine gives it and
nothing else: its two pipes and stderr. ``posix_spawn`` hands a child every descriptor of the engine not
marked close-on-exec, whichever thread made it; the sandbox's workers are started meanwhile."""

from __future__ import annotations

import os
import sys

from engine.adapters.brokers.mt5.spawn import WorkerProcess
from sandbox import process as sandbox_process

# Says it is up, then holds on until its stdin closes: started, it opens nothing of its own.
WAITS = "import sys; sys.stdout.write('up\\n'); sys.stdout.flush(); sys.stdin.read()"


def _inherited_from_outside() -> set[int]:
    """The descriptors this test process was handed open and inheritable (a runner's), not moonhook's."""
    held = set()
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.get_inheritable(int(name)):
                held.add(int(name))
        except OSError:   # the listing's own descriptor, closed since
            pass
    return held - {0, 1, 2}


async def test_a_worker_spawned_as_a_sandbox_worker_starts_holds_only_its_pipes_and_stdio():
    """The sandbox's progress word (a memfd, open while its worker starts) was inheritable: an MT5 worker
    spawned then held it for its life, the sandbox worker's shared memory in the broker's process."""
    outside = _inherited_from_outside()
    progress = sandbox_process._shared_word()   # as WorkerProcess.spawn holds it while its worker starts
    try:
        worker = WorkerProcess([sys.executable, "-I", "-S", "-c", WAITS], dict(os.environ))
    finally:
        os.close(progress)
    try:
        assert await worker.stdout.receive_some(16) == b"up\n"
        held = {}
        for name in os.listdir(f"/proc/{worker.pid}/fd"):
            try:
                held[int(name)] = os.readlink(f"/proc/{worker.pid}/fd/{name}")
            except FileNotFoundError:
                pass
        assert held[0].startswith("pipe:") and held[1].startswith("pipe:"), held
        assert set(held) - outside == {0, 1, 2}, held
    finally:
        await worker.stdin.aclose()
        assert await worker.wait() == 0
        await worker.stdout.aclose()
