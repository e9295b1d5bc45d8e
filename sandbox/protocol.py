"""The wire protocol between the pool and a worker, built and read here only.

Each message is one msgpack array, its kind first and its request id second (the answer
carries the id of its request). Positional on the wire, which is compact and fast; named in
the code: a message is built by the function of its kind, and read by ``Kind(*msg)`` into a
NamedTuple. The worker imports this module, so it imports neither trio nor the engine.

Requests (pool -> worker):

    ["load", rid, pid, source, chunkname, [instructions, timeout, memory], host_names, seed, sited]
                                     sited: the host names whose calls carry the script's line
    ["call", rid, pid, function, shape, scalars]
    ["global", rid, pid, name]                  reads a global
    ["global", rid, pid, name, shape, scalars]  sets it
    ["fold", rid, [pid, ...], function, shape, scalars]
                                     calls ``function`` in each plugin in turn, the same
                                     arguments, until one answers other than pass (no value,
                                     nil or true) or fails
    ["answer", rid, ok, shape_or_message, scalars]   resumes the call suspended in a host call
    ["unload", rid, pid]
    ["ping", rid]

Answers (worker -> pool):

    ["ok", rid, log, shape, scalars, memory]         memory: the plugin's heap in bytes; a load
                                                     adds the names of the script's functions
    ["err", rid, log, kind, message, where]
    ["host", rid, name, shape, scalars, index, line]
                                     a call waits on a host function; index: in a fold, the
                                     plugin calling (else nil); line: the script's line of the
                                     call of a sited function, nil if none is known
    ["folded", rid, passes, stop, seconds]  passes: [log, memory, seconds] of each plugin that
                                     passed, in order; stop: the answer ("ok" or "err") of the
                                     plugin after them, or nil if all passed
"""

from __future__ import annotations

from typing import Any, NamedTuple

# Every message: its kind, then its request id.
OP = 0
RID = 1

LOAD, CALL, GLOBAL, FOLD, ANSWER, UNLOAD, PING = (
    "load", "call", "global", "fold", "answer", "unload", "ping")
OK, ERR, HOST, FOLDED = "ok", "err", "host", "folded"


# -- requests ---------------------------------------------------------------------------------

class Load(NamedTuple):
    op: str
    rid: int
    pid: str
    source: str
    chunkname: str
    budget: list  # [instructions, timeout, memory]
    host: list  # the host functions' dotted names
    seed: int
    sited: list = []  # those whose calls carry the script's line (host.with_caller)


class Call(NamedTuple):
    op: str
    rid: int
    pid: str
    function: str
    shape: str
    values: list


class Global(NamedTuple):
    """Reads the global ``name``, or sets it when ``values`` is given."""

    op: str
    rid: int
    pid: str
    name: str
    shape: str | None = None
    values: list | None = None


class Fold(NamedTuple):
    op: str
    rid: int
    pids: list
    function: str
    shape: str
    values: list


class Answer(NamedTuple):
    op: str
    rid: int
    ok: bool
    shape_or_message: str
    values: list


class Unload(NamedTuple):
    op: str
    rid: int
    pid: str


def load(rid: int, pid: str, source: str, chunkname: str, instructions: int, timeout: float, memory: int,
         host: list, seed: int, sited: list | None = None) -> list:
    return [LOAD, rid, pid, source, chunkname, [instructions, timeout, memory], host, seed, sited or []]


def call(rid: int, pid: str, function: str, shape: str, values: list) -> list:
    return [CALL, rid, pid, function, shape, values]


def get_global(rid: int, pid: str, name: str) -> list:
    return [GLOBAL, rid, pid, name]


def set_global(rid: int, pid: str, name: str, shape: str, values: list) -> list:
    return [GLOBAL, rid, pid, name, shape, values]


def fold(rid: int, pids: list, function: str, shape: str, values: list) -> list:
    return [FOLD, rid, pids, function, shape, values]


def answer(rid: int, ok: bool, shape_or_message: str, values: list) -> list:
    return [ANSWER, rid, ok, shape_or_message, values]


def unload(rid: int, pid: str) -> list:
    return [UNLOAD, rid, pid]


def ping(rid: int) -> list:
    return [PING, rid]


# -- answers ----------------------------------------------------------------------------------

class Ok(NamedTuple):
    op: str
    rid: int
    log: str | None
    shape: str
    values: list
    memory: int
    functions: list | None = None  # a load's answer only


class Err(NamedTuple):
    op: str
    rid: int
    log: str | None
    kind: str
    message: str
    where: Any


class Host(NamedTuple):
    op: str
    rid: int
    name: str
    shape: str
    values: list
    index: int | None = None  # in a fold: the plugin calling
    line: int | None = None  # the script's line of the call


class Folded(NamedTuple):
    op: str
    rid: int
    passes: list  # [log, memory, seconds] each: read with Pass(*p)
    stop: list | None  # an "ok" or "err" answer
    seconds: float


class Pass(NamedTuple):
    """A plugin that passed in a fold."""

    log: str | None
    memory: int
    seconds: float


def ok(rid: int, log: str | None, shape: str, values: list, memory: int, functions: list | None = None) -> list:
    reply = [OK, rid, log, shape, values, memory]
    if functions is not None:
        reply.append(functions)
    return reply


def err(rid: int, log: str | None, kind: str, message: str, where: Any = None) -> list:
    return [ERR, rid, log, kind, message, where]


def host(rid: int, name: str, shape: str, values: list, index: int | None = None, line: int | None = None) -> list:
    return [HOST, rid, name, shape, values, index, line]


def folded(rid: int, passes: list, stop: list | None, seconds: float) -> list:
    return [FOLDED, rid, passes, stop, seconds]


def passed(log: str | None, memory: int, seconds: float) -> list:
    return [log, memory, seconds]
