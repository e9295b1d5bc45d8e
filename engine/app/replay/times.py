"""Times as the replay inputs write them, to Unix seconds (UTC), and the --from/--to window.

Accepted: Unix seconds (an int or float, or its text), ISO 8601 (``2024-05-13T09:30:00Z``,
``2024-05-13T09:30:00+02:00``, ``2024-05-13``), ``YYYY-MM-DD HH:MM:SS`` and MetaTrader's
``2024.05.13`` with ``00:00:00`` or ``00:00``. A time without a zone is taken as UTC (MetaTrader
writes its server's time, which the file does not name: the bars are read as written).
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from typing import Any, Iterable, TypeVar

T = TypeVar("T")

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_MT5_DATE = re.compile(r"(\d{4})\.(\d{2})\.(\d{2})")
_MT5_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2}))?")
# The range datetime can show: a larger number is not Unix seconds (milliseconds, most likely).
_SMALLEST, _LARGEST = -62135596800.0, 253402300799.0


def parse_time(raw: Any) -> float:
    """Unix seconds from a number or one of the texts above. Raises ValueError saying why."""
    if isinstance(raw, bool):
        raise ValueError(f"time {raw!r} is not a time")
    if isinstance(raw, (int, float)):
        return _seconds(float(raw), raw)
    if not isinstance(raw, str):
        raise ValueError(f"time {raw!r} is not a number or a text")
    text = raw.strip()
    if not text:
        raise ValueError("time is empty")
    if _NUMBER.fullmatch(text):
        return _seconds(float(text), text)
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in "Zz" else text)
    except ValueError:
        raise ValueError(f"time {text!r} is neither Unix seconds nor ISO 8601") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


def parse_mt5(date: str, clock: str | None) -> float:
    """Unix seconds from MetaTrader 5's ``2024.05.13`` and ``00:00:00`` (None: midnight).
    Raises ValueError."""
    day = _MT5_DATE.fullmatch(date.strip())
    if not day:
        raise ValueError(f"date {date!r} is not YYYY.MM.DD")
    hour = minute = second = 0
    if clock is not None:
        hms = _MT5_TIME.fullmatch(clock.strip())
        if not hms:
            raise ValueError(f"time {clock!r} is not HH:MM:SS")
        hour, minute, second = int(hms[1]), int(hms[2]), int(hms[3] or 0)
    try:
        moment = datetime(int(day[1]), int(day[2]), int(day[3]), hour, minute, second, tzinfo=timezone.utc)
    except ValueError as e:
        raise ValueError(f"{date} {clock or ''}".strip() + f" is not a date: {e}") from None
    return moment.timestamp()


def _seconds(value: float, raw: Any) -> float:
    if not math.isfinite(value) or not _SMALLEST <= value <= _LARGEST:
        if math.isfinite(value) and _SMALLEST <= value / 1000 <= _LARGEST:   # what an export in JavaScript writes
            shown = datetime.fromtimestamp(value / 1000, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
            raise ValueError(f"time {raw!r} is not Unix seconds: milliseconds? (/ 1000: {shown} UTC)")
        raise ValueError(f"time {raw!r} is not Unix seconds")
    return value


def bounds(start: Any = None, end: Any = None) -> tuple[float, float]:
    """(low, high) in Unix seconds of a ``--from``/``--to`` window: None is open (-inf, inf),
    else any time ``parse_time`` reads, so ``--from 2024-05-01 --to 2024-06-01`` is May.
    Raises ValueError for an unreadable bound or an end before the start."""
    low = -math.inf if start is None else parse_time(start)
    high = math.inf if end is None else parse_time(end)
    if high < low:
        raise ValueError(f"the end {end!r} comes before the start {start!r}")
    return low, high


def between(items: Iterable[T], start: Any = None, end: Any = None) -> list[T]:
    """The items (anything with a ``time`` in Unix seconds) with ``start <= time < end``
    (see ``bounds``), in their order. Raises ValueError as ``bounds``."""
    low, high = bounds(start, end)
    return [item for item in items if low <= item.time < high]  # type: ignore[attr-defined]
