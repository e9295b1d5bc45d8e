"""What the pool keeps of a loaded plugin (``Plugin``) and what a call returns (``Reply``).

Below the pool, the fold and the locks: they take these, and none of them imports the pool."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Mapping

import trio

from . import protocol
from .budget import Budget

HostFunction = Callable[..., Awaitable[Any]]


class Reply:
    """What a call returned: its values, the script's captured print output, its heap size,
    and (in a fold) the seconds the worker spent on it."""

    __slots__ = ("values", "log", "memory", "seconds")

    def __init__(self, values: list, log: str | None = None, memory: int = 0, seconds: float | None = None):
        self.values = values
        self.log = log
        self.memory = memory
        self.seconds = seconds

    def __repr__(self) -> str:
        return f"Reply(values={self.values!r}, log={self.log!r}, memory={self.memory})"

    @property
    def value(self) -> Any:
        return self.values[0] if self.values else None


@dataclass(eq=False)
class Plugin:
    """A loaded plugin as the pool keeps it: its source and budget (to load it again on a new
    worker), its worker slot, its lock (calls to it run one at a time) and its last heap size."""

    id: str
    source: str
    chunkname: str
    budget: Budget
    host: Mapping[str, HostFunction]
    seed: int
    slot: int = 0
    functions: list[str] = field(default_factory=list)
    memory: int = 0
    lock: trio.Lock = field(default_factory=trio.Lock)
    globals: dict[str, list] = field(default_factory=dict)  # set by the host: replayed on restart
    suspended: bool = False  # its call waits on a host function
    lost: str | None = None  # why no worker holds it any more (it killed one): its calls say so
    died_loading: bool = False  # a successor died while it was loaded into it: once may be a kill from outside

    def load_request(self, rid: int) -> list:
        b = self.budget
        sited = sorted(name for name, fn in self.host.items() if getattr(fn, "with_caller", False))
        return protocol.load(rid, self.id, self.source, self.chunkname, b.instructions, b.timeout, b.memory,
                             sorted(self.host), self.seed, sited)
