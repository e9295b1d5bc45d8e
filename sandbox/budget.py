"""Budgets for a plugin's calls, and the limits on values crossing the boundary."""

from __future__ import annotations

from dataclasses import dataclass

MB = 1024 * 1024

# Values crossing between host and script (either way) are capped, so a script cannot make
# the host build or ship something huge.
MAX_DEPTH = 32
MAX_VALUES = 100_000
MAX_STRING_BYTES = 1 * MB

# Global functions a script may define: the names are listed for the host (its hooks) at load.
MAX_FUNCTIONS = 1000

# Charged to a call's time budget for each host function it calls: the round trip's cost, which
# the script's own clock never sees (about 90 us, mostly the engine's, measured on 2 cores).
HOST_CALL_SECONDS = 100e-6

# Captured print() output per call.
MAX_LOG_LINES = 200
MAX_LOG_BYTES = 16 * 1024


@dataclass(frozen=True)
class Budget:
    """What one call into a plugin may spend.

    ``instructions`` are Lua VM instructions (guarded C calls are charged their estimated
    work); ``timeout`` is CPU seconds inside Lua, excluding time spent waiting on host
    functions; ``memory`` caps the plugin's whole Lua heap, in bytes.
    """

    instructions: int = 10_000_000
    timeout: float = 1.0
    memory: int = 16 * MB

    def __post_init__(self) -> None:
        if not (isinstance(self.instructions, int) and self.instructions > 0):
            raise ValueError(f"budget.instructions must be a positive integer, got {self.instructions!r}")
        if not (isinstance(self.timeout, (int, float)) and self.timeout > 0):
            raise ValueError(f"budget.timeout must be a positive number of seconds, got {self.timeout!r}")
        if not (isinstance(self.memory, int) and self.memory >= 256 * 1024):
            raise ValueError(f"budget.memory must be at least 262144 bytes, got {self.memory!r}")

    def capped(self, limit: "Budget") -> "Budget":
        """This budget, with each figure lowered to ``limit``'s where it asks for more."""
        return Budget(
            instructions=min(self.instructions, limit.instructions),
            timeout=min(self.timeout, limit.timeout),
            memory=min(self.memory, limit.memory),
        )

    @property
    def deadline(self) -> float:
        """The hard wall-clock deadline enforced from outside the worker, in seconds.

        The hook inside Lua stops a call at ``timeout``; this catches what the hook cannot
        reach (a long C call, a wedged worker) with a margin for a busy machine.
        """
        return self.timeout * 1.5 + 0.05
