"""What a replay reader gives back: the items it read and the rows it skipped, each named by
file and line. A malformed row is reported and skipped, or refused with ``strict=True``.

A whole file that cannot be read (missing, of an unknown format, without the columns its
format needs) is always refused: there is nothing to skip to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")


class ReplayInputError(ValueError):
    """An input of replay cannot be read: its message names the file (and line) and what is
    wrong."""


@dataclass(frozen=True)
class Problem:
    """One skipped row: ``where`` is "file:line", ``what`` says what is wrong with it."""
    where: str
    what: str

    def __str__(self) -> str:
        return f"{self.where}: {self.what}"


@dataclass
class Read(Generic[T]):
    """The items read from one file, oldest first, and the problems of the rows skipped.
    ``symbol``: the symbol a price file was read for (None for alerts)."""
    source: str
    items: list[T] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    symbol: str | None = None


class Reporter:
    """Collects the problems of one file's rows, or raises the first with ``strict``."""

    def __init__(self, source: str, strict: bool):
        self.source = source
        self.strict = strict
        self.problems: list[Problem] = []

    def where(self, line: int | str) -> str:
        return f"{self.source}:{line}"

    def skip(self, line: int | str, what: str) -> None:
        """Reports the row at ``line`` as skipped because of ``what``; raises
        ``ReplayInputError`` instead when strict."""
        problem = Problem(self.where(line), what)
        if self.strict:
            raise ReplayInputError(str(problem))
        self.problems.append(problem)

    def refuse(self, what: str) -> ReplayInputError:
        """The error for a file that cannot be read at all (to raise)."""
        return ReplayInputError(f"{self.source}: {what}")
