"""Moments and clocks. How moonhook writes a moment for people (the log, notifications,
``moonhook status`` and replay's problems all say ``2026-12-03 20:57:12 UTC``); the clocks a
config names (a trade server's, the one whose midnight begins the trading day), read in one
grammar; and where a day begins on such a clock."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import brokerclock
from brokerclock import ServerZone

_OFFSET = r"([+-]\d{1,2}(?::[0-5]\d)?)"
_CLOCK = re.compile(rf"(?:GMT|UTC){_OFFSET}?(?:/{_OFFSET} \(?(US|EU|AU)(?: daylight saving)?\)?| \(fixed\))?",
                    re.IGNORECASE)
_RULES = {"US": ServerZone.us, "EU": ServerZone.eu, "AU": ServerZone.au}
FORMS = '"GMT+2/+3 US" (or EU, AU), "GMT+2", "UTC" or a time zone name such as "Europe/Prague"'


def when(at: float) -> str:
    """``at`` (seconds since the epoch) as ``YYYY-MM-DD HH:MM:SS UTC``."""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(at))


def clock_zone(spec: object, key: str, auto: bool = False) -> ServerZone | None:
    """A clock as a config writes it: "GMT+2" (fixed), "GMT+2/+3 US" (or EU, AU: switching with
    that region's daylight saving; "GMT+2/+3 (US daylight saving)", as moonhook logs a clock,
    reads too), "UTC", or an IANA name ("Europe/Prague"); with ``auto``, "auto" too, read as
    None. Raises ValueError naming ``key``."""
    forms = ('"auto", ' if auto else "") + FORMS
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"{key}: expected {forms}, got {spec!r}")
    text = spec.strip()
    if auto and text.lower() == "auto":
        return None
    try:
        if (found := _CLOCK.fullmatch(text)) is None:
            return ServerZone(text)
        base = _hours(found[1] or "+0")
        if found[3] is None:
            return ServerZone.fixed(base)
        if _hours(found[2]) != base + 1:
            raise ValueError(f"its summer offset {found[2]} is not an hour after its winter one {found[1]}")
        return _RULES[found[3].upper()](base)
    except ValueError as e:
        raise ValueError(f"{key}: {spec!r} is not a clock ({e}); expected {forms}") from None


def _hours(text: str) -> float:
    sign = -1 if text.startswith("-") else 1
    hours, _, minutes = text[1:].partition(":")
    return sign * (int(hours) + int(minutes or 0) / 60)


def day_start(now: float, zone: ServerZone) -> float:
    """The Unix time at which ``now``'s day began on ``zone``'s clock (its last midnight)."""
    wall = zone.to_server(datetime.fromtimestamp(now, timezone.utc))
    midnight = wall.replace(hour=0, minute=0, second=0, microsecond=0)
    try:
        return zone.to_utc(midnight, ambiguous="earlier").timestamp()
    except brokerclock.NonexistentTimeError:  # a zone whose clocks jump at midnight: the day began at 01:00
        return zone.to_utc(midnight + timedelta(hours=1), ambiguous="earlier").timestamp()


def from_server(written: float, zone: ServerZone) -> float:
    """A time written on ``zone``'s clock as if it were UTC (as MetaTrader writes every time, its
    exports too), as Unix time. The hour a switch to winter time repeats is read as its first
    pass; one a switch to summer skips, never written, by the offset before the switch."""
    try:
        return zone.to_utc(float(written), ambiguous="earlier").timestamp()
    except brokerclock.NonexistentTimeError:
        return float(written) - zone.offset_at(datetime.fromtimestamp(written, timezone.utc)).total_seconds()


_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_EVERY_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, None: 1}


def parse_every(value: Any) -> float | None:
    """Seconds from "30s", "1m", "500ms", "1h" or a number of seconds; None if invalid or under 1 s."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        seconds = float(value)
    elif isinstance(value, str) and (m := _EVERY.match(value)):
        seconds = float(m.group(1)) * _EVERY_UNITS[m.group(2)]
    else:
        return None
    return seconds if 1 <= seconds <= 86_400 else None
