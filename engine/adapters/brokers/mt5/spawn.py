"""The MT5 worker's process, started deaf to a terminal's Ctrl-C from its first instruction.

The worker stays in the engine's process group, so that whatever kills the group (a power cut's
SIGKILL to the group, a service manager's stop) ends it with the engine: a group of its own would
outlive an engine killed while the worker waits in a terminal's call, and a parent-death signal
follows the thread that spawned it (Trio's, which ends when idle), not the engine. So the worker
is spawned with SIGINT and SIGTERM blocked (``posix_spawn``'s signal mask, whatever the spawning
thread's): one sent as it starts, before its code can ignore them, waits, and is dropped when
``worker.py`` ignores them (a blocked signal that is ignored is discarded). Without it, a Ctrl-C
while the engine started killed the worker in its imports, with a traceback.
"""

from __future__ import annotations

import os
import signal
from typing import Sequence

import trio

DEAF_TO = {signal.SIGINT, signal.SIGTERM}


class WorkerProcess:
    """A child whose stdin and stdout are pipes Trio reads and writes; the little of
    ``trio.Process`` the link uses: ``pid``, ``returncode``, ``stdin``, ``stdout``, ``kill``, ``wait``."""

    def __init__(self, argv: Sequence[str], env: dict[str, str]):
        """Spawns ``argv`` with SIGINT and SIGTERM blocked; raises OSError if it cannot."""
        to_child, stdin = os.pipe()
        stdout, from_child = os.pipe()
        try:
            self.pid = os.posix_spawn(argv[0], list(argv), env, setsigmask=DEAF_TO, file_actions=[
                (os.POSIX_SPAWN_DUP2, to_child, 0), (os.POSIX_SPAWN_DUP2, from_child, 1)])
        except BaseException:
            for fd in (stdin, stdout):
                os.close(fd)
            raise
        finally:
            os.close(to_child)
            os.close(from_child)
        self.returncode: int | None = None
        self.stdin = trio.lowlevel.FdStream(stdin)
        self.stdout = trio.lowlevel.FdStream(stdout)

    def kill(self) -> None:
        if self.returncode is None:  # not reaped: the pid is still this process's, if only a zombie's
            os.kill(self.pid, signal.SIGKILL)

    async def wait(self) -> int:
        """The exit code (minus the signal's number if a signal ended it), once the process has exited."""
        if self.returncode is None:
            await _exited(self.pid)
            if self.returncode is None:  # another task's wait may have reaped it meanwhile
                self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        return self.returncode


async def _exited(pid: int) -> None:
    """Returns once ``pid`` has exited, without reaping it."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return  # reaped already, by another task's wait
    except (AttributeError, OSError):  # no pidfd (Linux < 5.3): a thread waits, as Trio does then
        try:
            await trio.to_thread.run_sync(os.waitid, os.P_PID, pid, os.WEXITED | os.WNOWAIT,
                                          abandon_on_cancel=True)
        except ChildProcessError:
            pass  # reaped already
        return
    try:
        await trio.lowlevel.wait_readable(fd)
    finally:
        os.close(fd)
