"""The closed trades paged by a key, not an offset: a trade is (closed_at, position), newest
first, and a later page holds those below the last trade shown. A trade closing between two reads
is newer than every trade shown, so it moves no page (an offset shifted every page by one: a trade
shown twice). Every broker can give the key: a trade's close time and its position's ticket."""

from __future__ import annotations

import heapq
import math

TradeKey = tuple[float, int]  # (closed_at, position) of the last trade shown


def parse_key(text: str) -> TradeKey:
    """``closed_at:position`` (as a trade's fields give them) to a key. Raises ValueError when it is
    not a Unix time and a position's number."""
    at, sep, position = text.partition(":")
    if not sep:
        raise ValueError("expected closed_at:position")
    closed_at, number = float(at), int(position)
    if not math.isfinite(closed_at):
        raise ValueError(f"{at!r} is no time")
    return closed_at, number


def page_of(ends: list[TradeKey], limit: int, before: TradeKey | None) -> tuple[list[TradeKey], int]:
    """Of the closed trades' ``ends`` (any order), the ``limit`` newest below ``before`` (None: the
    newest), newest first, and how many are newer than the page (those at or above ``before``)."""
    below = ends if before is None else [e for e in ends if e < before]
    return heapq.nlargest(limit, below), len(ends) - len(below)
