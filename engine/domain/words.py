"""How moonhook says a count and a duration in words, the same in the CLI, replay's reports, the
overview's line, the dashboard and the notifications: "1 alert", "2 alerts", "1,204 alerts"; "4h 5m";
and an amount of money, "12,345.67", "1.1e+304", in a refusal or /status."""

from __future__ import annotations

import math
import sys


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """``n`` and ``noun``, in the plural (``plural``, else ``noun`` + "s") unless ``n`` is 1;
    thousands grouped with commas."""
    return f"{n:,} {noun if n == 1 else plural or noun + 's'}"


def duration(seconds: float) -> str:
    """An uptime in its two largest units (2d 3h, 4h 5m, 6m 7s)."""
    s = max(0, int(seconds))
    d, h, m = s // 86400, s % 86400 // 3600, s % 3600 // 60
    return f"{d}d {h}h" if d else f"{h}h {m}m" if h else f"{m}m {s % 60}s"


def millis(ms: float) -> str:
    """A short time given in milliseconds, in its unit: "0.84 ms", "31.6 ms", "1.24 s", then as ``duration``."""
    if round(ms, 2) < 10:   # compared as shown: 9.999 is "10.0 ms", never "10.00 ms"
        return f"{ms:.2f} ms"
    if round(ms, 1) < 1000:
        return f"{ms:.1f} ms"
    return f"{ms / 1000:.2f} s" if round(ms / 1000, 2) < 60 else duration(round(ms / 1000))


def amount(x: float, sign: bool = False) -> str:
    """An amount of money with its cents, "12,345.67"; from 1e15 on, where a float's cents are noise and its
    digits would fill a phone's screen (a leverage of 1e-300 asks a margin of 306 digits), in three figures,
    "1.1e+304"; past the largest float, "more than 1.8e+308". ``sign``: a profit's, "+12,345.67"."""
    if abs(x) < 1e15:
        return f"{x:+,.2f}" if sign else f"{x:,.2f}"
    if math.isfinite(x) or math.isnan(x):
        return f"{x:+.3g}" if sign else f"{x:.3g}"
    return f"{'more' if x > 0 else 'less'} than {math.copysign(sys.float_info.max, x):.3g}"
