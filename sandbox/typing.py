"""What a user of the sandbox drives (``SandboxPool``): the supervised pool of worker
processes (``pool.Pool``) or the same sandbox run in this process (``inline.InlinePool``,
for replay). Code above the sandbox names this protocol, never either class."""

from __future__ import annotations

from typing import Any, Mapping, Protocol, Sequence

from .budget import Budget
from .plugin import HostFunction, Reply


class Folded(Protocol):
    passed: list[Reply]
    stop: Reply | None
    error: Any


class SandboxPool(Protocol):
    async def load(self, plugin_id: str, source: str, *, chunkname: str | None = None, budget: Budget = Budget(),
                   host: Mapping[str, HostFunction] | None = None, seed: int | None = None) -> Reply: ...

    async def call(self, plugin_id: str, function: str, *args: Any) -> Reply: ...

    async def fold(self, plugin_ids: Sequence[str], function: str, *args: Any) -> Folded: ...

    async def get_global(self, plugin_id: str, name: str) -> Any: ...

    async def set_global(self, plugin_id: str, name: str, value: Any) -> None: ...

    async def unload(self, plugin_id: str) -> None: ...

    def functions(self, plugin_id: str) -> list[str]: ...

    def memory(self, plugin_id: str) -> int: ...

    def lost(self, plugin_id: str) -> str | None: ...

    def plugins(self) -> list[str]: ...

    def worker_pids(self) -> list[int]: ...
