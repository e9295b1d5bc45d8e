"""The MT5 worker process: holds the MetaTrader5 module and answers calls read from stdin.

Run as a script (``python worker.py``), never imported by the engine: it needs only the
standard library and the module it is told to load. The package holds the GIL during its
blocking calls and allows one terminal per process, so it lives alone here.

``module = "mt5linux"``: the package lives in a Windows Python under Wine, served by an RPyC
classic server (what mt5linux's server is). The worker reaches it with RPyC itself
(``Bridge``), not with mt5linux's client, whose 1.x releases start and manage Docker
containers of their own instead of connecting to the server given.

Frames, both ways: a 4-byte big-endian length, then that many bytes of JSON. The first
request names the module ``{"module", "host", "port"}``; each next one is
``{"id", "fn", "args", "kwargs"}`` and is answered ``{"id", "value", "error"}`` (``error``:
``last_error()`` when the value is None or False, the package's two ways of failing) or
``{"id", "exception"}``. Results become plain data: named tuples become dicts, tuples of them lists.
"""

from __future__ import annotations

import importlib
import inspect
import json
import os
import signal
import struct
import sys
from typing import Any, BinaryIO

_HEADER = struct.Struct(">I")


def read_frame(stream: BinaryIO) -> Any:
    header = stream.read(_HEADER.size)
    if len(header) < _HEADER.size:
        return None
    (size,) = _HEADER.unpack(header)
    return json.loads(stream.read(size))


def write_frame(stream: BinaryIO, message: Any) -> None:
    data = json.dumps(message, default=str).encode()
    stream.write(_HEADER.pack(len(data)) + data)
    stream.flush()


def plain(value: Any) -> Any:
    """The module's answer as JSON-able data: named tuples become dicts, tuples of them lists
    (a structured array's rows dicts too).
    Also run at the far end of a ``Bridge``, so it needs nothing but the builtins."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    names = getattr(getattr(value, "dtype", None), "names", None)
    if names:  # numpy's structured array (copy_rates_*): its rows as dicts
        return [dict(zip(names, plain(row))) for row in value.tolist()]
    if isinstance(value, (tuple, list)):
        return [plain(v) for v in value]
    if hasattr(value, "timestamp"):
        return value.timestamp()
    return str(value)


class Lost(Exception):
    """The bridge's connection to the terminal's Python is gone: the worker is restarted."""


class Bridge:
    """The MetaTrader5 package at the other end of an RPyC classic server. Each call runs there,
    and its answer is made plain there (``plain``, sent over as source) and comes back as JSON:
    one round trip, and data rather than proxies, which do not always survive the trip. A
    connection that fails raises Lost."""

    def __init__(self, host: str, port: int):
        import rpyc  # only on this path: the Windows package needs no bridge
        try:
            conn = rpyc.utils.factory.connect(host, port, rpyc.classic.SlaveService, keepalive=True,
                                              config={"sync_request_timeout": None})  # the engine times calls
        except OSError as e:
            raise Lost(f"cannot reach the terminal's Python at {host}:{port} ({type(e).__name__}: {e}): "
                       "is mt5linux's server running there?") from None
        conn.execute(_PRELUDE + inspect.getsource(plain) + _REMOTE)
        self._call = conn.namespace["moonhook_call"]

    def __getattr__(self, fn: str) -> Any:
        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return json.loads(self._call(json.dumps([fn, args, kwargs])))
            except (EOFError, OSError) as e:
                raise Lost(f"{type(e).__name__}: {e}") from None
        return call


# Runs in the server's Python, around ``plain``. C:\mt5libs is where mt5linux's mt5server.exe
# and Docker image keep the package.
_PRELUDE = """
import json
import sys
from typing import Any
sys.path.append("C:\\\\mt5libs")
import MetaTrader5
"""
_REMOTE = """
def moonhook_call(request):
    fn, args, kwargs = json.loads(request)
    return json.dumps(plain(getattr(MetaTrader5, fn)(*args, **kwargs)), default=str)
"""


def load(spec: dict[str, Any]) -> Any:
    """The API object: the module itself, or for "mt5linux" a ``Bridge`` to its server."""
    if spec["module"] == "mt5linux":
        return Bridge(spec.get("host") or "localhost", spec.get("port") or 18812)
    return importlib.import_module(spec["module"])


def main() -> None:
    # Ctrl-C reaches the whole process group, a service manager's SIGTERM every process of the
    # unit: the engine, stopping, still needs this worker for the alerts in flight, and closes
    # it when done (as the sandbox's workers do). The engine spawns it with both blocked
    # (spawn.py): one sent as it started is dropped here, not raised in its imports.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT, signal.SIGTERM})
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what the module prints goes to stderr, never into the frames
    sys.stdout = sys.stderr
    inp = sys.stdin.buffer
    spec = read_frame(inp)
    if spec is None:  # the engine closed this worker before telling it its module: nobody to answer
        return
    try:
        api = load(spec)
    except Lost as e:
        write_frame(out, {"exception": str(e)})
        return
    except Exception as e:  # noqa: BLE001 - told to the engine, which says what to install
        write_frame(out, {"exception": f"cannot load {spec.get('module')!r}: {type(e).__name__}: {e}"})
        return
    write_frame(out, {"pid": os.getpid()})
    while (message := read_frame(inp)) is not None:
        try:
            value = getattr(api, message["fn"])(*message.get("args", ()), **message.get("kwargs", {}))
            error = plain(api.last_error()) if value is None or value is False else None
            write_frame(out, {"id": message["id"], "value": plain(value), "error": error})
        except Lost as e:
            write_frame(out, {"id": message["id"], "lost": str(e)})
        except Exception as e:  # noqa: BLE001 - any failure of a call is the engine's to judge
            write_frame(out, {"id": message["id"], "exception": f"{type(e).__name__}: {e}"})


if __name__ == "__main__":
    main()
