"""The pipe to the MT5 worker process (``worker.py``), driven from Trio.

One call at a time, each with a deadline. A call that misses its deadline means a hung
worker: it is killed, and the call raises ``LinkLost``, as does a worker that dies mid-call.
A call cancelled from outside before its answer (the engine stopping, a caller's timeout)
kills the worker too: its answer would come late and be read as the next call's, and a frame
cut in half would garble every one after. That is warned of, but at the engine's stop, whose
doing it is. What such a call did is unknown; the broker finds out by reconciliation. Each
answer carries its request's id, and one that is not the awaited call's is never returned as
its answer. ``start`` spawns a fresh worker, so the broker restarts it the same way it
started it.
"""

from __future__ import annotations

import json
import logging
import os
import struct
import sys
from itertools import count
from pathlib import Path
from typing import Any, Callable

import trio

from sandbox.allowlist import MT5_WORKER_ENV, worker_environment
from sandbox.ending import ended, likely_cause

from .spawn import WorkerProcess

log = logging.getLogger("moonhook.mt5")

_HEADER = struct.Struct(">I")
WORKER = Path(__file__).with_name("worker.py")


class LinkLost(Exception):
    """The worker hung (and was killed) or died: the call's outcome is unknown."""


class NotCalled(LinkLost):
    """The call was never made: the worker it waited its turn for was gone (or started again) by then."""


class CallRaised(Exception):
    """The call raised in the terminal's package (or its bridge): what it did is unknown."""


def _hint(module: str, why: str) -> str:
    """What to do about a module the worker could not import (docs/metatrader5.md)."""
    if "ModuleNotFoundError" not in why:
        return ""
    if module == "MetaTrader5" and sys.platform != "win32":
        return ('. The MetaTrader5 package runs on Windows only: here, run the terminal under Wine with the '
                'package behind an RPyC server, as mt5linux serves it, and set [mt5] module = "mt5linux" '
                '(docs/metatrader5.md)')
    return '. Install it: pip install "moonhook[mt5]"'


class TerminalLink:
    def __init__(self, module: str, host: str | None = None, port: int | None = None, timeout: float = 10.0,
                 stopping: Callable[[], bool] = lambda: False):
        """``stopping()``: whether the engine is stopping, so that a call cancelled mid-way is its stop's doing
        (said at INFO), not a fault (a WARNING)."""
        self.module, self.host, self.port, self.timeout = module, host, port, timeout
        self._stopping = stopping
        self._process: WorkerProcess | None = None
        self._buffer = bytearray()
        self._lock = trio.Lock()
        self._ids = count(1)

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    async def start(self) -> None:
        """A fresh worker with the module loaded; raises LinkLost if it cannot load it. It waits
        its turn as a call does: a call let in meanwhile would share the pipe with its hello."""
        async with self._lock:
            await self._start()

    async def _start(self) -> None:
        await self.kill()
        # Only what the worker needs from the engine's environment, never its secrets (the MT5
        # password travels over the pipe, with initialize).
        env = {**worker_environment(MT5_WORKER_ENV, os.environ),
               "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        self._process = WorkerProcess([sys.executable, "-u", str(WORKER)], env)
        self._buffer.clear()
        with trio.move_on_after(max(self.timeout, 10.0)) as scope:
            await self._write({"module": self.module, "host": self.host, "port": self.port})
            hello = await self._read()
        if hello is None and not scope.cancelled_caught:   # its pipe closed: it died as it started
            pid, how = self._process.pid, await self._ending()
            await self.kill()
            raise LinkLost(f"the MetaTrader 5 worker {pid} {how} as it started{likely_cause(how)}")
        if scope.cancelled_caught or hello is None or "exception" in hello:
            await self.kill()
            why = hello["exception"] if hello and "exception" in hello else "it did not answer"
            raise LinkLost(f"the MetaTrader 5 worker could not start: {why}{_hint(self.module, why)}")
        log.info("MetaTrader 5 worker %d started with module %s", self._process.pid, self.module)

    async def call(self, fn: str, *args: Any, deadline: float | None = None, begun: Callable[[], None] | None = None,
                   **kwargs: Any) -> tuple[Any, Any]:
        """``fn(*args, **kwargs)`` in the worker: (value, last_error when value is None or False).
        ``begun()`` is called as the call goes to the worker: one cancelled before, as it waited its
        turn, was never made. Raises LinkLost when the worker hangs past ``deadline`` (default: the
        link's timeout; it is then killed), dies, or has lost its bridge to the terminal's Python;
        NotCalled (a LinkLost) when the worker was gone before the call's turn came; CallRaised when
        the call raised there."""
        waited_for = self._process
        async with self._lock:
            if self._process is None:
                raise NotCalled("the MetaTrader 5 worker is not running")
            if self._process is not waited_for:   # started again as this call waited: not logged in yet
                raise NotCalled(f"the MetaTrader 5 worker was started again as {fn} waited its turn; not called")
            call_id = next(self._ids)
            limit = self.timeout if deadline is None else deadline
            try:
                with trio.move_on_after(limit) as scope:
                    if begun is not None:
                        begun()
                    await self._write({"id": call_id, "fn": fn, "args": list(args), "kwargs": kwargs})
                    answer = await self._answer(call_id)
            except BaseException:  # cancelled from outside mid-call: the pipe cannot be trusted
                pid = self.pid
                with trio.CancelScope(shield=True):
                    await self.kill()
                log.log(logging.INFO if self._stopping() else logging.WARNING,
                        "MetaTrader 5 %s was cancelled before its answer; worker %s was killed", fn, pid)
                raise
            if scope.cancelled_caught:
                pid = self.pid
                await self.kill()
                raise LinkLost(f"{fn} did not answer within {limit:g} s; worker {pid} was killed")
            if answer is None:
                code = await self._exit_code()
                raise LinkLost(f"the MetaTrader 5 worker died during {fn} (exit code {code})")
            if "lost" in answer:  # the bridge to the terminal's Python (worker.Bridge): a fresh worker links again
                await self.kill()
                raise LinkLost(f"{fn}: the terminal's Python is not reachable ({answer['lost']})")
            if "exception" in answer:
                raise CallRaised(f"{fn} raised {answer['exception']}")
            return answer.get("value"), answer.get("error")

    async def kill(self) -> None:
        process, self._process = self._process, None
        if process is not None and process.returncode is None:
            process.kill()
            with trio.CancelScope(shield=True):
                await process.wait()
        if process is not None:
            for stream in (process.stdin, process.stdout):
                if stream is not None:
                    await stream.aclose()

    async def aclose(self) -> None:
        """Lets the worker end on its own (stdin closed), or kills it after a second."""
        process = self._process
        if process is not None and process.stdin is not None:
            await process.stdin.aclose()
            with trio.move_on_after(1.0):
                await process.wait()
        await self.kill()

    async def _ending(self) -> str:
        """How the worker whose pipe closed ended, given a second to: killed by which signal (the
        out-of-memory killer's SIGKILL, as it imports), or its exit status."""
        assert self._process is not None
        with trio.move_on_after(1.0):
            return ended(await self._process.wait())
        return "closed its pipe"

    async def _exit_code(self) -> int | None:
        process = self._process
        if process is None:
            return None
        try:
            with trio.move_on_after(1.0):
                await process.wait()
        finally:   # cancelled meanwhile too: a dead worker left the link's would be taken for a live one
            with trio.CancelScope(shield=True):
                await self.kill()   # if it has not ended; and its pipes closed
        return process.returncode

    async def _write(self, message: Any) -> None:
        data = json.dumps(message).encode()
        assert self._process is not None and self._process.stdin is not None
        try:
            await self._process.stdin.send_all(_HEADER.pack(len(data)) + data)
        except (trio.BrokenResourceError, trio.ClosedResourceError):
            pass  # the worker is gone: the read that follows says so

    async def _answer(self, call_id: int) -> Any:
        """The answer to call ``call_id``, or None if the worker died. Another id is a late
        answer to a call given up on (a worker is killed then, so this is a last guard): it is
        dropped, never taken for this call's."""
        while True:
            answer = await self._read()
            if answer is None or answer.get("id") == call_id:
                return answer
            log.error("MetaTrader 5 worker answered call %s while call %d was awaited: dropped",
                      answer.get("id"), call_id)

    async def _read(self) -> Any:
        header = await self._read_exactly(_HEADER.size)
        if header is None:
            return None
        body = await self._read_exactly(_HEADER.unpack(header)[0])
        return None if body is None else json.loads(body)

    async def _read_exactly(self, size: int) -> bytes | None:
        assert self._process is not None and self._process.stdout is not None
        while len(self._buffer) < size:
            try:
                chunk = await self._process.stdout.receive_some(65536)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                chunk = b""
            if not chunk:
                return None
            self._buffer += chunk
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data
