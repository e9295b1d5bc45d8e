"""Small statistics for noisy machines: medians and percentiles over repeated runs."""

from __future__ import annotations

import statistics
from typing import Sequence


SIZES = ("full", "quick", "tiny")


def pick(size: str, full, quick, tiny):
    """The figure for a run's size: full (the published figures), quick (a smoke run of a few
    minutes) or tiny (every row once, in seconds: what the test suite runs)."""
    return {"full": full, "quick": quick, "tiny": tiny}[size]


def percentile(values: Sequence[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    return s[min(len(s) - 1, int(q * len(s)))]


def summary(runs: Sequence[Sequence[float]], scale: float = 1.0) -> dict:
    """Median and p99 of each run, then the median over runs with min and max (the noise)."""
    medians = [statistics.median(r) * scale for r in runs]
    p99s = [percentile(r, 0.99) * scale for r in runs]
    return {
        "median": round(statistics.median(medians), 2),
        "p99": round(statistics.median(p99s), 2),
        "min": round(min(medians), 2),
        "max": round(max(medians), 2),
        "runs": len(runs),
    }
