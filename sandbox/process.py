"""One sandbox worker process as Trio sees it: spawn it, exchange a request, kill it."""

from __future__ import annotations

import mmap
import os
import select
import socket
import subprocess
import sys
from pathlib import Path
import tempfile
import time
from typing import Callable

import msgpack
import trio

from . import protocol
from .allowlist import WORKER_ENV, worker_environment
from .ending import ended
from .worker import MAX_MESSAGE, PROGRESS, SINCE

_PACKAGE_ROOT = str(Path(__file__).resolve().parent.parent)
_START_SECONDS = 30  # a worker's first answer: a start on a loaded machine, not a hang
_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") and "SC_CLK_TCK" in os.sysconf_names else 100


class WorkerGone(Exception):
    """The worker process closed its socket or died: whatever it was doing is lost.

    ``delivered`` is False when the request never reached the worker (it may go elsewhere)."""

    def __init__(self, message: str, delivered: bool = True):
        super().__init__(message)
        self.delivered = delivered


class DeadlineExceeded(Exception):
    """The worker did not answer within the hard deadline."""


class WorkerProcess:
    """A worker process and the socket to it. One request is in flight at a time: the pool
    holds ``cpu`` while the worker runs Lua, and releases it while a call waits on the host."""

    def __init__(self, process: trio.Process, sock: socket.socket, progress: mmap.mmap):
        self.process = process
        self._raw = sock
        self._progress = progress  # shared with the worker: the index of a fold's current plugin
        self.cpu = trio.Lock()
        self.dead = False
        self.replaced = trio.Event()  # set once a successor serves this worker's plugins
        self._unpacker = msgpack.Unpacker(raw=False, max_buffer_size=MAX_MESSAGE, strict_map_key=False)
        self._pack = msgpack.Packer(use_bin_type=True).pack

    @classmethod
    async def spawn(cls, nice: int = 0) -> "WorkerProcess":
        ours, theirs = socket.socketpair()
        progress_fd = _shared_word()
        # Only what the worker needs from the engine's environment, never its secrets.
        env = worker_environment(WORKER_ENV, os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)
        try:
            process = await trio.lowlevel.open_process(
                [sys.executable, "-m", "sandbox.worker", str(theirs.fileno()), str(progress_fd), str(nice)],
                pass_fds=[theirs.fileno(), progress_fd],
                stdin=subprocess.DEVNULL,
                env=env,
                # Out of the engine's process group: a terminal's Ctrl-C, signalling the group,
                # would kill a worker still starting, before it ignores SIGINT (a traceback, and
                # WorkerGone in the engine). The worker ends when the engine closes its socket.
                process_group=0,
            )
            progress = mmap.mmap(progress_fd, PROGRESS.size)
        finally:
            theirs.close()
            os.close(progress_fd)
        ours.setblocking(False)
        worker = cls(process, ours, progress)
        try:
            reply = await worker.exchange(protocol.ping(0), timeout=_START_SECONDS)
        except (WorkerGone, DeadlineExceeded) as e:  # dead, or silent, as it started: said once it has ended
            with trio.CancelScope(shield=True):
                await worker.aclose()
            how = worker.ending() if isinstance(e, WorkerGone) else f"did not answer within {_START_SECONDS} s"
            raise WorkerGone(f"sandbox worker {worker.pid} {how} as it started", delivered=False) from None
        if reply[protocol.OP] != protocol.OK:
            worker.kill()
            raise WorkerGone(f"worker did not start: {reply!r}")
        return worker

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def progress(self) -> tuple[int, float]:
        """Where a fold is: its current plugin's index (-1 before the first), and when that
        plugin started or last resumed, by time.monotonic()."""
        return PROGRESS.unpack_from(self._progress, 0)[:2]

    def reset_progress(self) -> None:
        PROGRESS.pack_into(self._progress, 0, -1, time.monotonic(), -1.0)

    def starved(self, allowed: float) -> float | None:
        """More seconds to wait for this worker past a deadline: when it is runnable and has
        used less than ``allowed`` CPU seconds since its request (or fold plugin) started, however
        long that took: its budgets are CPU time, enforced inside Lua, and a busy machine may give
        it a sliver of a core (a wall-clock cap killed plugins within their budgets for the
        machine's load). A runaway passes ``allowed`` in CPU time; a worker that does not run
        (stopped, blocked) is not runnable. None otherwise, and where a process's state and CPU
        time cannot be read (only Linux's /proc is)."""
        _since, cpu_then = SINCE.unpack_from(self._progress, 8)
        if cpu_then < 0:
            return None
        stat = _proc_stat(self.pid)
        if stat is None:
            return None
        state, cpu_now = stat
        used = cpu_now - cpu_then
        if state != "R" or used >= allowed:
            return None
        return max(allowed - used, 0.02)

    async def exchange(self, msg: list, timeout: float,
                       extend: Callable[[], float | None] | None = None) -> list:
        """Sends one request and waits for its answer, at most ``timeout`` seconds, or longer
        for as long as ``extend()``, asked when time runs out, grants more seconds (without
        ``extend``: for as long as the worker is starved of CPU, see starved()), or the answer
        is there to read. Raises DeadlineExceeded, or WorkerGone if the worker is gone.

        The socket is read once the event loop has had its turn (the answer to a short call
        is often there by then), then this task sleeps on it: it never polls."""
        if self.dead:
            raise WorkerGone("worker is gone", delivered=False)
        raw = self._raw
        await trio.lowlevel.checkpoint_if_cancelled()
        view = memoryview(self._pack(msg))
        try:
            while view:
                try:
                    view = view[raw.send(view):]
                except BlockingIOError:
                    await trio.lowlevel.wait_writable(raw)
        except OSError as e:
            self.dead = True
            raise WorkerGone(f"{self.exit_text()} ({e.__class__.__name__})", delivered=False) from None
        try:
            # The worker is busy now: give the event loop its turn (this is the call's schedule
            # point), then look for the answer without a cancel scope (creating one costs
            # microseconds).
            await trio.lowlevel.cancel_shielded_checkpoint()
            reply = self._receive_nowait(msg[protocol.RID])
            if reply is not None:
                return reply
            # Once sent, a request runs to its answer or its deadline even if the caller is
            # cancelled: leaving early would let the next request queue behind it unseen.
            deadline = trio.current_time() + timeout
            while True:
                with trio.CancelScope(deadline=deadline, shield=True):
                    while True:
                        await trio.lowlevel.wait_readable(raw)
                        reply = self._receive_nowait(msg[protocol.RID])
                        if reply is not None:
                            return reply
                more = extend() if extend is not None else self.starved(timeout)
                if not more and self._answering():
                    more = timeout  # it answered as time ran out (no longer runnable then): read it
                if not more:
                    break
                deadline = trio.current_time() + more
        except (OSError, trio.ClosedResourceError) as e:
            self.dead = True
            raise WorkerGone(f"{self.exit_text()} ({e.__class__.__name__})") from None
        except WorkerGone:
            self.dead = True
            raise
        raise DeadlineExceeded()

    def _answering(self) -> bool:
        """Whether the socket has something to read: the worker's answer, part of a long one it
        is still sending (blocked on a full socket), or its end."""
        return bool(select.select([self._raw], [], [], 0)[0])

    def _receive_nowait(self, rid: int) -> list | None:
        """The answer to request ``rid`` if it has arrived; raises WorkerGone on EOF."""
        for reply in self._unpacker:
            if reply[protocol.RID] == rid:
                return reply
            # a late answer to a request whose caller was cancelled: drop it
        try:
            data = self._raw.recv(1 << 16)
        except BlockingIOError:
            return None
        if not data:
            raise WorkerGone(self.exit_text())
        self._unpacker.feed(data)
        for reply in self._unpacker:
            if reply[protocol.RID] == rid:
                return reply
        return None

    def exit_text(self) -> str:
        return f"worker {self.ending()}"

    def ending(self) -> str:
        """How the worker ended: killed by which signal, its exit status, or (still running) its socket closed."""
        code = self.process.poll()
        if code is None:
            return "closed its connection"
        return ended(code)

    def close(self) -> None:
        """Closes our end of the socket (of a worker known to be dead)."""
        self.dead = True
        trio.lowlevel.notify_closing(self._raw)  # wakes a task waiting on it
        self._raw.close()

    def kill(self) -> None:
        self.dead = True
        if self.process.returncode is None:
            self.process.kill()

    async def aclose(self, grace: float = 1.0) -> None:
        """Closes the socket (the worker exits on EOF), then kills it if it lingers."""
        self.close()
        await trio.lowlevel.checkpoint()
        with trio.move_on_after(grace):
            await self.process.wait()
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


def _proc_stat(pid: int) -> tuple[str, float] | None:
    """A process's scheduler state ("R": running or runnable) and CPU seconds (user + system),
    from /proc/PID/stat; None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            fields = f.read().rsplit(b")", 1)[1].split()
        return fields[0].decode(), (int(fields[11]) + int(fields[12])) / _CLK_TCK
    except (OSError, IndexError, ValueError):
        return None


def _shared_word() -> int:
    """A file descriptor of PROGRESS.size bytes of memory to share with a worker (zeroed), close-on-exec
    as Python's own are (``pass_fds`` hands it to its worker alone): another child spawned meanwhile, in
    another thread (the MT5 worker, by ``posix_spawn``), would hold it for its life."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("moonhook-sandbox-progress", os.MFD_CLOEXEC)
    else:
        with tempfile.TemporaryFile() as f:  # unlinked already; the descriptor keeps it
            fd = os.dup(f.fileno())
    os.ftruncate(fd, PROGRESS.size)
    return fd
