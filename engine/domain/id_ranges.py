"""A set of journal ids written short, as runs: ``"3,7-12,15"``. The alerts held from a pause
are mostly one run (each alert journaled while paused is held), so the set a resume's question
showed travels whole in a query parameter however many alerts it names, and reads back exactly.
"""

from __future__ import annotations

from typing import Iterable

MOST = 100_000   # ids one written set may name: a run "1-9999999999" is refused, not expanded


def ranges(ids: Iterable[int]) -> str:
    """``ids`` as runs, ascending: ``[3, 7, 8, 9, 15]`` -> ``"3,7-9,15"``; "" for none."""
    runs: list[list[int]] = []
    for i in sorted(set(ids)):
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = i
        else:
            runs.append([i, i])
    return ",".join(str(a) if a == b else f"{a}-{b}" for a, b in runs)


def parse_ranges(text: str) -> frozenset[int]:
    """The ids ``text`` writes as runs (``ranges``' form, in any order; "" for none). Raises
    ValueError for anything else: a part that is no id from 1 or no ascending run, or more
    than ``MOST`` ids in all."""
    ids: set[int] = set()
    for part in text.split(",") if text.strip() else ():
        first, _, last = part.strip().partition("-")
        if not (first.isdigit() and (last.isdigit() or not _)):
            raise ValueError(f"{part!r} is no id nor run of ids (7 or 7-12)")
        a, b = int(first), int(last or first)
        if not 1 <= a <= b:
            raise ValueError(f"{part!r}: ids are from 1, a run ascending")
        if len(ids) + b - a + 1 > MOST:
            raise ValueError(f"more than {MOST} ids")
        ids.update(range(a, b + 1))
    return frozenset(ids)
