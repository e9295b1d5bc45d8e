"""A set of journal ids written short, as runs: ``"3,7-12,15"``. The alerts held from a pause
are mostly one run (each alert journaled while paused is held), so the set a resume's question
showed travels whole in a query parameter however many alerts it names, and reads back exactly.
It is kept as its runs (``IdRuns``), never expanded: "1-9999999999" costs what "1" does, and a
pause holding 100,000 alerts and more is resumed as any other.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import Any, Iterable, Iterator


class IdRuns:
    """A set of ids as its runs [(first, last), ...], ascending, apart (not even adjacent):
    compared, counted and asked ``in`` without listing its ids."""

    __slots__ = ("runs", "_firsts")

    def __init__(self, runs: Iterable[tuple[int, int]] = ()):
        merged: list[tuple[int, int]] = []
        for a, b in sorted(runs):
            if merged and a <= merged[-1][1] + 1:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        self.runs = tuple(merged)
        self._firsts = [a for a, _ in merged]

    @classmethod
    def of(cls, ids: Iterable[int]) -> IdRuns:
        """``ids`` (any iterable of ids, or IdRuns, taken as they are) as runs."""
        return ids if isinstance(ids, IdRuns) else cls((i, i) for i in set(ids))

    def __contains__(self, item: object) -> bool:
        n = bisect_right(self._firsts, item) - 1 if isinstance(item, int) else -1
        return n >= 0 and item <= self.runs[n][1]   # type: ignore[operator]

    def __len__(self) -> int:
        return sum(b - a + 1 for a, b in self.runs)

    def __iter__(self) -> Iterator[int]:
        for a, b in self.runs:
            yield from range(a, b + 1)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, (IdRuns, set, frozenset, list, tuple)):
            return self.runs == IdRuns.of(other).runs
        return NotImplemented

    __hash__ = None   # type: ignore[assignment]

    def without(self, ids: Iterable[int]) -> IdRuns:
        """These runs less ``ids``, still as runs."""
        left: list[tuple[int, int]] = []
        cuts = sorted(set(ids))
        k = 0
        for a, b in self.runs:
            while k < len(cuts) and cuts[k] < a:
                k += 1
            while k < len(cuts) and cuts[k] <= b:
                if cuts[k] > a:
                    left.append((a, cuts[k] - 1))
                a, k = cuts[k] + 1, k + 1
            if a <= b:
                left.append((a, b))
        return IdRuns(left)

    def __str__(self) -> str:
        return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in self.runs)

    def __repr__(self) -> str:
        return f"IdRuns({str(self)!r})"


def ranges(ids: Iterable[int]) -> str:
    """``ids`` as runs, ascending: ``[3, 7, 8, 9, 15]`` -> ``"3,7-9,15"``; "" for none."""
    return str(IdRuns.of(ids))


def parse_ranges(text: str) -> IdRuns:
    """The ids ``text`` writes as runs (``ranges``' form, in any order; "" for none). Raises
    ValueError for anything else: a part that is no id from 1 or no ascending run."""
    runs: list[tuple[int, int]] = []
    for part in text.split(",") if text.strip() else ():
        first, dash, last = part.strip().partition("-")
        if not (first.isdecimal() and (last.isdecimal() or not dash)):
            raise ValueError(f"{part!r} is no id nor run of ids (7 or 7-12)")
        a, b = int(first), int(last or first)
        if not 1 <= a <= b:
            raise ValueError(f"{part!r}: ids are from 1, a run ascending")
        runs.append((a, b))
    return IdRuns(runs)
