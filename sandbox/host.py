"""Both sides of a request the host drives, shared by the pool (``pool.py``) and the inline
sandbox (``inline.py``): a host function a script called, run and answered
(``host_answer``), which may ask where in the script it was called (``caller``); and a
worker's final answer turned into a ``Reply`` or raised (``result_of``)."""

from __future__ import annotations

import logging
from contextvars import ContextVar

from . import codec, protocol
from .errors import error_from
from .plugin import HostFunction, Plugin, Reply

log = logging.getLogger("sandbox.pool")


class HostError(Exception):
    """Raised by a host function to fail the script's call with this message (catchable by
    the script). Any other exception is reported to the script without its text."""


# The plugin and the script's line of the host call being served (see caller).
_CALLER: ContextVar[tuple[Plugin, int | None] | None] = ContextVar("sandbox_caller", default=None)


def with_caller(fn: HostFunction) -> HostFunction:
    """Marks host function ``fn`` as one that asks ``caller()``: its calls carry the script's line.
    Only those do: finding the line cost 8-12% of a host call's round trip in a worker (1.4-1.9 us)."""
    fn.with_caller = True  # type: ignore[attr-defined]
    return fn


def caller() -> str | None:
    """In a host function marked ``with_caller``: where the script called it, "trail.lua:10" (its
    chunk name, and the line of the innermost call of the script's own code); None outside one, in
    one not marked, or when no line of the script is known (a tail call replaced its frame)."""
    called = _CALLER.get()
    if called is None or called[1] is None:
        return None
    return f"{called[0].chunkname}:{called[1]}"


async def host_answer(plugin: Plugin, request: protocol.Host) -> list:
    """Runs the host function the script asked for; the answer to send back."""
    rid, name = request.rid, request.name
    fn = plugin.host.get(name)
    token = _CALLER.set((plugin, request.line))
    try:
        if fn is None:
            raise HostError(f"no host function {name}")
        result = await fn(*codec.decode(request.shape, request.values))
        out = list(result) if isinstance(result, tuple) else [result]
        return protocol.answer(rid, True, *codec.encode(out))
    except HostError as e:
        return protocol.answer(rid, False, _named(name, str(e)), [])
    except codec.BoundaryError as e:
        log.error("host function %s returned a value that cannot cross: %s", name, e)
        return protocol.answer(rid, False, _named(name, "the host function returned a value that cannot cross"), [])
    except Exception:
        log.exception("host function %s failed for plugin %s", name, plugin.id)
        return protocol.answer(rid, False, _named(name, "internal error in the host function"), [])
    finally:
        _CALLER.reset(token)


def _named(name: str, message: str) -> str:
    """The error the script sees, naming its function once: "orders.market: unknown field ..."
    (the host functions' own messages mostly name it already)."""
    return message if message.startswith((f"{name}:", f"{name}(")) else f"{name}: {message}"


def result_of(plugin: Plugin, reply: list) -> Reply:
    """The ``Reply`` of an OK answer (the plugin's heap size noted); raises the SandboxError
    of an error answer."""
    if reply[protocol.OP] == protocol.OK:
        ok = protocol.Ok(*reply)
        plugin.memory = ok.memory
        return Reply(codec.decode(ok.shape, ok.values) if ok.shape else [], ok.log, ok.memory)
    failed = protocol.Err(*reply)
    err = error_from(failed.kind, failed.message, failed.where)
    err.log = failed.log
    raise err
