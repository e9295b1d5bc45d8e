"""The sandbox's errors: one class per kind, each naming the script's file and line.

``kind`` is a stable string (script, instructions, timeout, memory, forbidden, crash) that
the engine counts and shows; ``file`` and ``line`` point into the script when known.
"""

from __future__ import annotations

import re

KINDS = ("script", "instructions", "timeout", "memory", "forbidden", "crash")


class SandboxError(Exception):
    """A call into a script failed. Subclasses say why; ``kind`` names the class."""

    kind = "script"
    log: str | None = None  # the script's print output before it failed, when its worker answered

    def __init__(self, message: str, *, file: str | None = None, line: int | None = None):
        self.message = message
        self.file = file
        self.line = line
        super().__init__(message)

    def __str__(self) -> str:
        return self.message

    def to_dict(self) -> dict:
        return {"kind": self.kind, "message": self.message, "file": self.file, "line": self.line}


class ScriptError(SandboxError):
    """The script raised an error, failed to compile, or returned a value that cannot cross."""

    kind = "script"


class InstructionLimitError(SandboxError):
    """The call ran past its instruction budget (or a guarded C call would have)."""

    kind = "instructions"


class TimeLimitError(SandboxError):
    """The call ran past its time budget, or past the hard deadline enforced from outside."""

    kind = "timeout"


class MemoryLimitError(SandboxError):
    """The plugin's Lua heap would have grown past its memory budget."""

    kind = "memory"


class ForbiddenError(SandboxError):
    """The script touched something outside the allow-list."""

    kind = "forbidden"


class CrashError(SandboxError):
    """The worker process hosting the script died or had to be killed; the call was lost."""

    kind = "crash"


_BY_KIND: dict[str, type[SandboxError]] = {
    c.kind: c
    for c in (ScriptError, InstructionLimitError, TimeLimitError, MemoryLimitError, ForbiddenError,
              CrashError)
}

_WHERE = re.compile(r"^([^\s:]+\.lua):(\d+)")


def error_from(kind: str, message: str, where: str | None = None) -> SandboxError:
    """Build the error of ``kind``; ``where`` (or the message's own prefix) gives file:line."""
    file = line = None
    m = _WHERE.match(where or "") or _WHERE.match(message)
    if m:
        file, line = m.group(1), int(m.group(2))
    cls = _BY_KIND.get(kind, ScriptError)
    return cls(message, file=file, line=line)
