"""A sandbox worker process: hosts many plugin runtimes and serves the pool over a socket.

Started by the pool as ``python -m sandbox.worker SOCKET_FD PROGRESS_FD`` (its end of a
socket pair, and the shared memory of ``PROGRESS``). It speaks the msgpack arrays of
``sandbox.protocol``, one request at a time, and answers each with one message.

While a fold runs, the index of its current plugin and when it started are kept in shared
memory (``PROGRESS``), so that the pool can hold each plugin to its own deadline and tell
whose fault it was if the worker has to be killed.

It imports neither trio nor the engine, so it starts in about 40 ms. A script that aborts or
wedges this process harms only the plugins hosted here; the pool replaces the worker.
"""

from __future__ import annotations

import mmap
import os
import resource
import signal
import socket
import struct
import sys
import time
import traceback
from time import perf_counter
from typing import Any

import msgpack

from . import protocol as P
from .budget import Budget
from .runtime import LuaSandbox

MAX_MESSAGE = 64 * 1024 * 1024
# The shared progress word: the index of a fold's plugin running (-1 before the first), when it
# (or the request, outside folds) started or resumed after a host call, by time.monotonic(),
# and the worker's CPU time then, by time.process_time(). The last two alone, at offset 8, are
# SINCE: the pool tells a worker starved of CPU by a busy machine from a runaway call by them.
PROGRESS = struct.Struct("<qdd")
SINCE = struct.Struct("<dd")
# The CPU time written there may be this many seconds (of the monotonic clock) old: reading it
# is a system call, about a tenth of a quick hook's cost when made for each plugin of a fold.
# An older reading only makes the CPU a call has used look larger by at most that much (the
# pool then grants a starved worker that much less extra time).
CPU_STALE = 0.001


class _Fold:
    """A fold in progress: where it is, and what it has collected."""

    __slots__ = ("pids", "function", "shape", "values", "index", "passes", "sandbox", "started")

    def __init__(self, pids: list, function: str, shape: str, values: list):
        self.pids, self.function, self.shape, self.values = pids, function, shape, values
        self.index = 0
        self.passes: list[list] = []
        self.sandbox: LuaSandbox | None = None
        self.started = 0.0


class Worker:
    """The runtimes of one worker process, keyed by plugin id."""

    def __init__(self, progress: Any = None, clock: Any = None) -> None:
        self.sandboxes: dict[str, LuaSandbox] = {}
        # rid -> the sandbox suspended in a host call, and the fold it runs in (if any)
        self.waiting: dict[int, tuple[LuaSandbox, _Fold | None]] = {}
        self.loading: dict[int, str] = {}  # rid -> plugin id of a load in progress
        self.progress = progress  # the shared progress word, or None
        self.clock = clock  # what the scripts' os.time() reads, None for the system's (see LuaSandbox)
        self._cpu = self._cpu_read = -1e9  # the last CPU time read, and when (monotonic)

    def handle(self, msg: list) -> list:
        op, rid = msg[P.OP], msg[P.RID]
        try:
            if op == P.CALL or op == P.GLOBAL:
                req = P.Call(*msg) if op == P.CALL else P.Global(*msg)
                sb = self.sandboxes.get(req.pid)
                if sb is None:
                    return P.err(rid, None, "script", f"no plugin {req.pid!r} is loaded here")
                if self.waiting:
                    self._forget_waiting(sb)
                if op == P.CALL:
                    return self._reply(rid, sb, sb.call(req.function, req.shape, req.values))
                if req.values is not None:
                    return self._reply(rid, sb, sb.set_global(req.name, req.shape, req.values))
                return self._reply(rid, sb, sb.global_value(req.name))
            if op == P.FOLD:
                req = P.Fold(*msg)
                # Encoded once here rather than by lupa for each plugin of the fold.
                values = [v.encode() if type(v) is str else v for v in req.values]
                return self._fold(rid, _Fold(req.pids, req.function.encode(), req.shape.encode(), values))
            if op == P.ANSWER:
                req = P.Answer(*msg)
                sb, fold = self.waiting.pop(rid, (None, None))
                if sb is None:
                    return P.err(rid, None, "script", "no call is waiting for this host answer")
                if fold:
                    self._mark(fold.index)  # the hard deadline counts from here again
                outcome = sb.answer(req.ok, req.shape_or_message, req.values)
                return self._fold(rid, fold, outcome) if fold else self._reply(rid, sb, outcome)
            if op == P.LOAD:
                return self._load(P.Load(*msg))
            if op == P.UNLOAD:
                self.sandboxes.pop(P.Unload(*msg).pid, None)
                return P.ok(rid, None, "", [], 0)
            if op == P.PING:
                return P.ok(rid, None, "", [], 0)
            return P.err(rid, None, "script", f"unknown request {op!r}")
        except MemoryError:
            return P.err(rid, None, "memory", "the worker ran out of memory")
        except Exception as e:
            # A bug of ours, never a script's doing: answer it rather than die and take the
            # other plugins of this worker down.
            traceback.print_exc(file=sys.stderr)
            return P.err(rid, None, "script", f"sandbox worker error ({e.__class__.__name__})")

    def _forget_waiting(self, sb: LuaSandbox) -> None:
        # A call abandoned in a host function (its caller was cancelled) is replaced by this one.
        for rid in [r for r, (s, _) in self.waiting.items() if s is sb]:
            del self.waiting[rid]

    def _now(self) -> tuple[float, float]:
        """The monotonic time, and the CPU time then (read at most CPU_STALE seconds ago)."""
        now = time.monotonic()
        if now - self._cpu_read > CPU_STALE:
            self._cpu, self._cpu_read = time.process_time(), now
        return now, self._cpu

    def started(self) -> None:
        """Marks a request's start in the progress word (SINCE: when, and the CPU time then)."""
        if self.progress is not None:
            SINCE.pack_into(self.progress, 8, *self._now())

    def _mark(self, index: int) -> None:
        if self.progress is not None:
            PROGRESS.pack_into(self.progress, 0, index, *self._now())

    def _fold(self, rid: int, fold: _Fold, outcome: tuple | None = None) -> list:
        """Runs (or resumes, with ``outcome``) a fold until a plugin stops it or all pass."""
        while True:
            sb = fold.sandbox
            if outcome is None:
                if fold.index == len(fold.pids):
                    return P.folded(rid, fold.passes, None, 0.0)
                self._mark(fold.index)
                sb = fold.sandbox = self.sandboxes.get(fold.pids[fold.index])
                if sb is None:
                    stop = P.err(rid, None, "script", f"no plugin {fold.pids[fold.index]!r} is loaded here")
                    return P.folded(rid, fold.passes, stop, 0.0)
                if self.waiting:
                    self._forget_waiting(sb)
                fold.started = perf_counter()
                outcome = sb.call(fold.function, fold.shape, fold.values)
            status = outcome[0]
            if status == "host":
                self.waiting[rid] = (sb, fold)
                _, name, line, shape, *values = outcome
                return P.host(rid, name, shape, values, fold.index, line)
            seconds = perf_counter() - fold.started
            if status == "ok":
                _, log, shape, *_values = outcome
                if shape == "" or shape[0] in "nt":  # no value, nil or true: a pass
                    fold.passes.append(P.passed(log, sb.memory_used, seconds))
                    fold.index += 1
                    outcome = None
                    continue
            return P.folded(rid, fold.passes, self._reply(rid, sb, outcome), seconds)

    def _load(self, req: P.Load) -> list:
        instructions, timeout, memory = req.budget
        sb = LuaSandbox(Budget(instructions, timeout, memory), req.host, req.seed, self.clock, req.sited)
        self.sandboxes.pop(req.pid, None)
        self.loading[req.rid] = req.pid
        return self._reply(req.rid, sb, sb.load(req.source, req.chunkname))

    def _reply(self, rid: int, sb: LuaSandbox, outcome: tuple) -> list:
        """The answer to send for the runtime's ``outcome`` (see ``LuaSandbox``)."""
        status = outcome[0]
        if status == "host":
            self.waiting[rid] = (sb, None)
            _, name, line, shape, *values = outcome
            return P.host(rid, name, shape, values, None, line)
        pid = self.loading.pop(rid, None)
        if status == "ok":
            _, log, shape, *values = outcome
            if pid is None:
                return P.ok(rid, log, shape, values, sb.memory_used)
            self.sandboxes[pid] = sb
            return P.ok(rid, log, shape, values, sb.memory_used, sb.functions())
        _, log, kind, message, where = outcome
        return P.err(rid, log, kind, message, where)


def serve(sock: socket.socket, progress: Any = None) -> None:
    """Answers requests until the pool closes the socket.

    The process sleeps in ``recv`` while no request is there: it never polls. (Waking from
    that sleep costs tens of microseconds; polling to avoid it cost more CPU than the hooks.)"""
    worker = Worker(progress)
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=MAX_MESSAGE, strict_map_key=False)
    pack = msgpack.Packer(use_bin_type=True).pack
    sock.setblocking(True)
    recv, sendall = sock.recv, sock.sendall
    while True:
        data = recv(1 << 16)
        if not data:
            return
        unpacker.feed(data)
        out = []
        for msg in unpacker:
            worker.started()
            out.append(_pack_reply(pack, worker.handle(msg)))
        sendall(out[0] if len(out) == 1 else b"".join(out))


def _pack_reply(pack: Any, reply: list) -> bytes:
    """The packed reply; one that cannot be packed (only plain data should ever reach here)
    becomes an error answer instead of ending the worker."""
    try:
        return pack(reply)
    except (TypeError, ValueError, OverflowError) as e:
        traceback.print_exc(file=sys.stderr)
        return pack(P.err(reply[P.RID], None, "script", f"sandbox worker error ({e.__class__.__name__})"))


def _harden(nice: int) -> None:
    # No core dumps of plugin state. Ctrl-C in the terminal, and a service manager's stop
    # (systemd sends SIGTERM to every process of the unit, `timeout` to the whole group), are the
    # engine's to handle: it finishes the alerts in flight, which need their plugins, then
    # closes the worker's socket, and the worker ends. Lowered first, so every thread inherits it.
    if nice and hasattr(os, "nice"):
        os.nice(nice)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)


def main(argv: list[str]) -> None:
    """``python -m sandbox.worker SOCKET_FD [PROGRESS_FD [NICE]]``, as the pool starts it."""
    _harden(int(argv[3]) if len(argv) > 3 else 0)
    sock = socket.socket(fileno=int(argv[1]))
    progress = mmap.mmap(int(argv[2]), PROGRESS.size) if len(argv) > 2 else None
    try:
        serve(sock, progress=progress)
    except (BrokenPipeError, ConnectionResetError):
        pass


if __name__ == "__main__":
    main(sys.argv)
