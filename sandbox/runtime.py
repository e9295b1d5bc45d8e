"""One plugin's Lua runtime: a restricted lupa state, the prelude, and the plugin's budget.

This runs inside a worker process (see ``worker.py``), never in the engine: a script that
finds a way to abort or wedge the process takes down only its worker.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, Sequence

from lupa import lua54

from . import allowlist, codec
from .budget import (HOST_CALL_SECONDS, MAX_DEPTH, MAX_FUNCTIONS, MAX_LOG_BYTES, MAX_LOG_LINES, MAX_STRING_BYTES,
                     MAX_VALUES, MB, Budget)

_HERE = Path(__file__).parent
# The trusted Lua: the prelude builds each runtime's environment and drives its calls; it is
# handed the others.
LUA_CHUNKS = ("prelude", "values", "guards", "walk", "patterns", "named")


@functools.cache
def _bytecode() -> dict[str, bytes]:
    """The trusted chunks compiled once per process: loading bytecode is ~12x faster than
    parsing. Only these locally compiled chunks are ever loaded as bytecode; scripts are text.
    Stripped of debug information, which every plugin's state would hold a copy of (32 KB of
    its 210): the trusted code finds the script's lines by the script's own chunk name."""
    compiler = lua54.LuaRuntime(encoding=None, register_eval=False, register_builtins=False)
    dump = compiler.eval("function(src, name) return string.dump(assert(load(src, name, 't')), true) end")
    return {
        name: dump((_HERE / f"{name}.lua").read_bytes(), f"=sandbox/{name}.lua".encode())
        for name in LUA_CHUNKS
    }


# Heap granted above the plugin's cap while trusted code builds arguments and flattens results,
# so that lupa's own pushes never meet a failed allocation outside a protected call.
HEADROOM = 8 * MB

# Outcomes, as the prelude's driver returns them (tuples, passed through to the host as-is):
#   ("ok", log, shape, *scalars)            the call returned
#   ("err", log, kind, message, where)      the call failed; kind is an errors.KINDS entry
#   ("host", name, line, shape, *scalars)   the call waits for host function `name`, called at
#                                           that line of the script (a sited one's; else None)
Outcome = tuple


_CROSSING_MEMORY = ("err", None, "memory", "memory budget exceeded while crossing the boundary", None)


def _driver_error(e: Exception) -> Outcome:
    return ("err", None, "script", f"sandbox driver error: {str(e)[:200]}", None)


def _deny_attribute(obj: Any, name: Any, is_setting: bool) -> Any:
    raise AttributeError("Python objects are not reachable from a script")


@functools.cache
def _config(host_functions: tuple[str, ...], sited: tuple[str, ...]) -> tuple[str, list]:
    """The allow-list and limits, encoded for the prelude (cached: the same for most plugins)."""
    return codec.encode([{
        "globals": list(allowlist.GLOBALS),
        "libraries": {k: list(v) for k, v in allowlist.LIBRARIES.items()},
        "denied_globals": list(allowlist.denied_globals()),
        "denied_fields": {lib: list(allowlist.denied_fields(lib)) or {} for lib in allowlist.LIBRARIES},
        "host": list(host_functions),
        "sited": list(sited),
        "limits": {
            "depth": MAX_DEPTH,
            "values": MAX_VALUES,
            "bytes": MAX_STRING_BYTES,
            "log_lines": MAX_LOG_LINES,
            "log_bytes": MAX_LOG_BYTES,
            "functions": MAX_FUNCTIONS,
            "host_call": HOST_CALL_SECONDS,
        },
    }])


class LuaSandbox:
    """A fresh Lua 5.4 state holding one script, reachable only through the prelude's driver."""

    def __init__(self, budget: Budget, host_functions: Sequence[str] = (), seed: int = 0,
                 clock: Callable[[], float] | None = None, sited: Sequence[str] = ()):
        """``clock``: what ``os.time()`` and ``os.date()`` without a time read (Unix seconds),
        instead of the system's clock (replay runs scripts on the replayed clock). ``sited``: the
        host functions whose calls carry the script's line (see ``host.with_caller``)."""
        self.budget = budget
        self._rt = lua54.LuaRuntime(
            register_eval=False,
            register_builtins=False,
            unpack_returned_tuples=False,
            attribute_filter=_deny_attribute,
            max_memory=budget.memory + HEADROOM,
        )
        self._limit = budget.memory
        code = _bytecode()
        chunks = {name: self._rt.compile(code[name], mode="b") for name in LUA_CHUNKS}
        shape, values = _config(tuple(host_functions), tuple(sited))
        prelude = chunks["prelude"]()
        (self._load, self._call, self._answer, self._functions, self._global, self._setglobal,
         set_budget, set_clock) = prelude(chunks["values"], chunks["guards"], chunks["walk"], chunks["patterns"],
                                          chunks["named"], seed, shape, *values)
        # The cap covers the script's heap on top of what the runtime and prelude hold. The
        # prelude moves it with these (partials: no Python frame for each call).
        self._limit = self._rt.get_memory_used() + budget.memory
        lower_cap = functools.partial(self._rt.set_max_memory, self._limit, True)
        raise_cap = functools.partial(self._rt.set_max_memory, self._limit + HEADROOM, True)
        set_budget(budget.instructions, budget.timeout, budget.deadline, self._limit, lower_cap, raise_cap)
        raise_cap()
        if clock is not None:
            set_clock(clock)

    def _guard(self, fn, *args: Any) -> Outcome:
        try:
            return self._told(fn(*args))
        except lua54.LuaMemoryError:
            return self._told(_CROSSING_MEMORY)
        except (lua54.LuaError, UnicodeDecodeError) as e:
            return _driver_error(e)

    def _told(self, out: Outcome) -> Outcome:
        """``out``, a memory overrun's error naming the budget, as the instruction and time overruns'
        name theirs: "memory budget exceeded (16 MB)", "... would exceed the memory budget of 16 MB (...)"."""
        if out[0] != "err" or out[2] != "memory" or not isinstance(out[3], str):
            return out
        mb = f"{self.budget.memory / MB:g} MB"
        said = out[3].replace("memory budget exceeded", f"memory budget exceeded ({mb})", 1) \
            .replace("the memory budget (", f"the memory budget of {mb} (", 1)
        return (*out[:3], said, *out[4:])

    def load(self, source: str, chunkname: str) -> Outcome:
        """Compiles ``source`` (text only) and runs its chunk under the budget."""
        return self._guard(self._load, source, chunkname)

    def call(self, function: str | bytes, shape: str | bytes, values: Sequence[Any]) -> Outcome:
        """Calls the script's global ``function`` with arguments encoded by ``codec.encode``.
        ``function``, ``shape`` and the string values may be given as UTF-8 bytes (a fold
        encodes them once for all its plugins)."""
        try:
            return self._told(self._call(function, shape, *values))
        except lua54.LuaMemoryError:
            return self._told(_CROSSING_MEMORY)
        except (lua54.LuaError, UnicodeDecodeError) as e:
            return _driver_error(e)

    def answer(self, ok: bool, payload: Any, values: Sequence[Any] = ()) -> Outcome:
        """Resumes a call waiting in a host function: ``ok`` with (shape, scalars), or an error text."""
        if ok:
            return self._guard(self._answer, "ok", payload, *values)
        return self._guard(self._answer, "err", str(payload))

    def functions(self) -> list[str]:
        """The global functions the script defined (its hooks), sorted: identifier names, listed
        under the load's budget (see the prelude's list_functions)."""
        names = self._functions()
        return names.split("\n") if names else []

    def global_value(self, name: str) -> Outcome:
        """The script's global ``name`` as ("ok", None, shape, *scalars)."""
        return self._guard(self._global, name)

    def set_global(self, name: str, shape: str, values: Sequence[Any]) -> Outcome:
        """Sets the script's global ``name`` to a value encoded by ``codec.encode``."""
        return self._guard(self._setglobal, name, shape, *values)

    @property
    def memory_used(self) -> int:
        return self._rt.get_memory_used()
