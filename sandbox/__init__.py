"""Lua isolation for untrusted strategy scripts, usable on its own (it never imports engine).

A script runs in its own restricted Lua 5.4 runtime, inside a worker process of a supervised
pool, under instruction, time and memory budgets, and sees only the allow-list in
``allowlist.py`` plus the host functions it is handed.

    async with open_pool(workers=2) as pool:
        await pool.load("trend", source, budget=Budget(timeout=0.05), host={"log.info": log_info})
        reply = await pool.call("trend", "on_alert", {"symbol": "EURUSD"})
"""

from .budget import MB, Budget
from .errors import (
    KINDS,
    CrashError,
    ForbiddenError,
    InstructionLimitError,
    MemoryLimitError,
    SandboxError,
    ScriptError,
    TimeLimitError,
)

__all__ = [
    "KINDS", "MB", "Budget", "CrashError", "Folded", "ForbiddenError", "HostError", "InstructionLimitError",
    "MemoryLimitError", "Pool", "PoolDidNotStart", "Reply", "SandboxError", "ScriptError", "TimeLimitError",
    "caller", "open_pool", "with_caller",
]

_POOL_NAMES = ("Folded", "HostError", "Pool", "PoolDidNotStart", "Reply", "open_pool")


def __getattr__(name: str):
    # The pool needs trio (about 150 ms to import); worker processes import this package too
    # and must start fast, so the pool's names are imported on first use.
    if name in ("caller", "with_caller"):   # the host side's, without trio
        from . import host

        return getattr(host, name)
    if name in _POOL_NAMES:
        from . import pool

        return getattr(pool, name)
    raise AttributeError(f"module 'sandbox' has no attribute {name!r}")
