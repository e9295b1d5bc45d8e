"""A sandbox worker process: hosts many plugin runtimes and serves the pool over a socket.

Started by the pool as ``python -m sandbox.worker FD``. It speaks msgpack arrays, one request
at a time, and answers each with one message:

    ["load", rid, pid, source, chunkname, [instructions, timeout, memory], host_names, seed]
    ["call", rid, pid, function, shape, scalars]
    ["answer", rid, ok, shape_or_message, scalars]   resumes the call suspended in a host call
    ["unload", rid, pid]
    ["ping", rid]
  answers:
    ["ok", rid, log, shape, scalars, memory]         memory: the plugin's heap in bytes; a load
                                                     adds the names of the script's functions
    ["err", rid, log, kind, message, where]
    ["host", rid, name, shape, scalars]

It imports neither trio nor the engine, so it starts in about 40 ms. A script that aborts or
wedges this process harms only the plugins hosted here; the pool replaces the worker.
"""

from __future__ import annotations

import os
import resource
import select
import signal
import socket
import sys
from time import perf_counter

import msgpack

from .budget import Budget
from .runtime import LuaSandbox

MAX_MESSAGE = 64 * 1024 * 1024
SPIN = 200e-6


class Worker:
    """The runtimes of one worker process, keyed by plugin id."""

    def __init__(self) -> None:
        self.sandboxes: dict[str, LuaSandbox] = {}
        self.waiting: dict[int, LuaSandbox] = {}  # rid -> sandbox suspended in a host call
        self.loading: dict[int, str] = {}  # rid -> plugin id of a load in progress

    def handle(self, msg: list) -> list:
        op, rid = msg[0], msg[1]
        try:
            if op == "call" or op == "global":
                sb = self.sandboxes.get(msg[2])
                if sb is None:
                    return ["err", rid, None, "script", f"no plugin {msg[2]!r} is loaded here", None]
                if self.waiting:
                    self._forget_waiting(sb)
                if op == "call":
                    return self._reply(rid, sb, sb.call(msg[3], msg[4], msg[5]))
                if len(msg) > 4:  # ["global", rid, pid, name, shape, values]: set it
                    return self._reply(rid, sb, sb.set_global(msg[3], msg[4], msg[5]))
                return self._reply(rid, sb, sb.global_value(msg[3]))
            if op == "answer":
                sb = self.waiting.pop(rid, None)
                if sb is None:
                    return ["err", rid, None, "script", "no call is waiting for this host answer", None]
                return self._reply(rid, sb, sb.answer(msg[2], msg[3], msg[4]))
            if op == "load":
                return self._load(rid, *msg[2:])
            if op == "unload":
                self.sandboxes.pop(msg[2], None)
                return ["ok", rid, None, "", [], 0]
            if op == "ping":
                return ["ok", rid, None, "", [], 0, os.getpid()]
            return ["err", rid, None, "script", f"unknown request {op!r}", None]
        except MemoryError:
            return ["err", rid, None, "memory", "the worker ran out of memory", None]

    def _forget_waiting(self, sb: LuaSandbox) -> None:
        # A call abandoned in a host function (its caller was cancelled) is replaced by this one.
        for rid in [r for r, s in self.waiting.items() if s is sb]:
            del self.waiting[rid]

    def _load(self, rid: int, pid: str, source: str, chunkname: str, budget: list,
              host: list, seed: int) -> list:
        instructions, timeout, memory = budget
        sb = LuaSandbox(Budget(instructions, timeout, memory), host, seed)
        self.sandboxes.pop(pid, None)
        self.loading[rid] = pid
        return self._reply(rid, sb, sb.load(source, chunkname))

    def _reply(self, rid: int, sb: LuaSandbox, outcome: tuple) -> list:
        status = outcome[0]
        if status == "host":
            self.waiting[rid] = sb
            return ["host", rid, outcome[1], outcome[2], list(outcome[3:])]
        pid = self.loading.pop(rid, None)
        if status == "ok":
            reply = ["ok", rid, outcome[1], outcome[2], list(outcome[3:]), sb.memory_used]
            if pid is not None:
                self.sandboxes[pid] = sb
                reply.append(sb.functions())
            return reply
        return ["err", rid, outcome[1], outcome[2], outcome[3], outcome[4]]


def serve(sock: socket.socket, spin: float = SPIN) -> None:
    """Answers requests until the pool closes the socket.

    After each answer the socket is polled for ``spin`` seconds before the process sleeps:
    the hooks of one alert arrive back to back, and a sleeping process takes tens of
    microseconds to wake."""
    worker = Worker()
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=MAX_MESSAGE, strict_map_key=False)
    pack = msgpack.Packer(use_bin_type=True).pack
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    sock.setblocking(False)
    spin_until = 0.0
    while True:
        try:
            data = sock.recv(1 << 16)
        except BlockingIOError:
            if perf_counter() < spin_until:
                continue
            poller.poll()
            continue
        if not data:
            return
        unpacker.feed(data)
        out = [pack(worker.handle(msg)) for msg in unpacker]
        if out:
            view = memoryview(b"".join(out))
            while view:
                try:
                    view = view[sock.send(view):]
                except BlockingIOError:
                    select.select([], [sock], [])
            spin_until = perf_counter() + spin


def _harden() -> None:
    # No core dumps of plugin state; Ctrl-C in the terminal is the engine's to handle: the
    # worker ends when the engine closes its socket.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def main(argv: list[str]) -> None:
    _harden()
    sock = socket.socket(fileno=int(argv[1]))
    try:
        serve(sock)
    except (BrokenPipeError, ConnectionResetError):
        pass


if __name__ == "__main__":
    main(sys.argv)
