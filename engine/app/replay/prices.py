"""OHLC bars for replay, one symbol a file, oldest first, from either of two exports (told
apart by the header):

- TradingView's chart export: CSV with a header ``time,open,high,low,close,...`` (more
  columns after, in any order), the time as Unix seconds or ISO 8601;
- MetaTrader 5's history export: tab-separated, with a header
  ``<DATE>	<TIME>	<OPEN>	<HIGH>	<LOW>	<CLOSE>	<TICKVOL>	<VOL>	<SPREAD>``, the date as
  ``2024.05.13`` and the time as ``00:00:00``; the daily export has no ``<TIME>`` column.
  Its times are the broker server's clock, which the file does not name: given it
  (``clock``, as ``engine.trading_day`` writes a clock: "GMT+2/+3 US"), they are read on it, in
  UTC as the alerts are; else as written, UTC, which most brokers' servers are two or three
  hours ahead of; that is then said, as a problem of the header's line.

A bar is the time it opens at. A row is skipped and reported (or refused with ``strict``)
when a field is missing, a time or price cannot be read, a price is not a finite positive
number, ``high`` is below ``low`` or the open or close lies outside them, or its time is not
after the bar before it (out of order or repeated).

A symbol's history exported in parts (``read_price_files``) is merged by time, and the same
check runs over the merged series: a bar repeated in another file, or falling inside another
file's bar (the files overlap), is skipped and reported in the same way.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import NamedTuple, Sequence

from engine.app.replay import files
from engine.app.replay.problems import Problem, Read, Reporter
from engine.app.replay.times import parse_mt5, parse_time
from brokerclock import ServerZone

from engine.domain.times import from_server, when
from engine.domain.rules import in_price_range

PRICES = ("open", "high", "low", "close")
UNNAMED_CLOCK = ("MetaTrader 5's bar times are its server's clock, which the file does not name: read as UTC; "
                 "most brokers' servers are two or three hours ahead, and an alert then meets a bar from hours "
                 "away: give the server's clock (--prices-clock \"GMT+2/+3 US\", as mt5.server_clock names it)")


class Bar(NamedTuple):
    """One bar: the Unix time it opens at, and its prices."""
    time: float
    open: float
    high: float
    low: float
    close: float


def read_prices(path: Path | str, symbol: str, *, strict: bool = False, clock: ServerZone | None = None) -> Read[Bar]:
    """The bars of ``path`` for ``symbol``, oldest first, and the rows skipped. Raises
    ReplayInputError for a file that cannot be read or whose header is neither export's, and
    with ``strict`` for the first malformed row. ``clock``: the server's, MetaTrader's times
    are written on."""
    return read_price_files([path], symbol, strict=strict, clock=clock)


def read_price_files(paths: Sequence[Path | str], symbol: str, *, strict: bool = False,
                     clock: ServerZone | None = None) -> Read[Bar]:
    """The bars of ``paths`` (one symbol's history in parts, in any order) for ``symbol``,
    merged by time, oldest first, and the rows skipped: each file's own, then a bar not after
    the merged bar before it (repeated, or out of order) or opening inside another file's bar
    before that one ends (the files overlap). A tie goes to the file whose bars start first
    (then the one given first). Raises as ``read_prices``."""
    if not symbol or not symbol.strip():
        raise Reporter(", ".join(map(str, paths)), strict).refuse("no symbol given for its prices")
    parts = [_read(Path(path), strict, clock) for path in paths]
    parts.sort(key=lambda part: part[1][0][1].time if part[1] else math.inf)
    if len(parts) == 1:
        reporter, rows = parts[0]
        return Read(reporter.source, [bar for _, bar in rows], reporter.problems, symbol.strip())
    merged = sorted((bar.time, rank, line, bar, _end(rows, i))
                    for rank, (_, rows) in enumerate(parts) for i, (line, bar) in enumerate(rows))
    bars: list[Bar] = []
    last: tuple[int, float] = (-1, -math.inf)   # the file and the end of the bar kept last
    for time, rank, line, bar, end in merged:
        reporter = parts[rank][0]
        if bars and time <= bars[-1].time:
            reporter.skip(line, f"time {when(time)} is not after the bar before ({when(bars[-1].time)}, in "
                                f"{parts[last[0]][0].source}): out of order or repeated")
        elif bars and rank != last[0] and time < last[1]:
            reporter.skip(line, f"time {when(time)} falls inside the bar of {when(bars[-1].time)} in "
                                f"{parts[last[0]][0].source}, which lasts until {when(last[1])}: "
                                "the files overlap")
        else:
            bars.append(bar)
            last = (rank, end)
    problems = [p for reporter, _ in parts for p in sorted(reporter.problems, key=_line)]
    return Read(", ".join(reporter.source for reporter, _ in parts), bars, problems, symbol.strip())


def _end(rows: list[tuple[int, Bar]], i: int) -> float:
    """When bar ``i`` of one file ends: where its next opens; the last lasts as long as the one
    before it (a single bar, no time)."""
    if i + 1 < len(rows):
        return rows[i + 1][1].time
    return rows[i][1].time + (rows[i][1].time - rows[i - 1][1].time if i else 0.0)


def _line(problem: Problem) -> int:
    return int(problem.where.rsplit(":", 1)[1])


def _read(path: Path, strict: bool, clock: ServerZone | None) -> tuple[Reporter, list[tuple[int, Bar]]]:
    """One file's bars, each with its line, in order (a row not after the one before skipped)."""
    reporter = Reporter(str(path), strict)
    if files.head(path, reporter) == files.SQLITE_HEADER:   # the journal, typed for the alerts' file
        raise reporter.refuse("a SQLite file (a journal?), not bars: give TradingView's chart export or "
                              "MetaTrader 5's history export")
    content = files.text(path, reporter)
    first_line = content.lstrip("\ufeff").split("\n", 1)[0]
    mt5 = first_line.lstrip().startswith("<")
    bars: list[tuple[int, Bar]] = []
    rows = files.csv_rows(content, "\t" if mt5 else ",")
    try:
        first = next(rows, None)
        if first is None:
            raise reporter.refuse("empty: expected a header")
        names = files.columns(first[1])
        if mt5:
            needed: tuple[str, ...] = ("date", *PRICES)
            if "time" in names:
                needed = ("date", "time", *PRICES)
        else:
            needed = ("time", *PRICES)
        missing = [n for n in needed if n not in names]
        if missing and (semicolons := files.semicolons(first[1], first[0])) is not None:
            raise reporter.refuse(semicolons)
        if missing:
            raise reporter.refuse(
                f"line {first[0]}: expected TradingView's chart export (time,open,high,low,close,...) or "
                f"MetaTrader 5's history export (<DATE>\\t<TIME>\\t<OPEN>...), the header has no "
                f"{', '.join(missing)}")
        if mt5 and clock is None:   # said, as bars hours from the alerts would not be
            reporter.problems.append(Problem(reporter.where(first[0]), UNNAMED_CLOCK))
        at = [names[n] for n in needed]
        for number, row in rows:
            if max(at) >= len(row):
                reporter.skip(number, f"{len(row)} columns, the header has {len(first[1])}")
                continue
            bar = _bar(row, names, mt5, "time" in names, clock)
            if isinstance(bar, str):
                reporter.skip(number, bar)
                continue
            if bars and bar.time <= bars[-1][1].time:
                reporter.skip(number, f"time {when(bar.time)} is not after the bar before "
                                      f"({when(bars[-1][1].time)}): out of order or repeated")
                continue
            bars.append((number, bar))
    except csv.Error as e:
        raise reporter.refuse(f"not a readable CSV: {e}") from None
    return reporter, bars


def _bar(row: list[str], names: dict[str, int], mt5: bool, has_time: bool, clock: ServerZone | None) -> Bar | str:
    """The row's bar, or what is wrong with it (MetaTrader's times read on ``clock``, if given)."""
    try:
        if mt5:
            time = parse_mt5(row[names["date"]], row[names["time"]] if has_time else None)
            time = from_server(time, clock) if clock is not None else time
        else:
            time = parse_time(row[names["time"]])
    except ValueError as e:
        return str(e)
    prices = []
    for name in PRICES:
        raw = row[names[name]].strip()
        try:
            value = float(raw)
        except ValueError:
            return f"{name} {raw!r} is not a number"
        if not math.isfinite(value) or value <= 0:
            return f"{name} {raw!r} is not a positive price"
        if not in_price_range(value):   # as the paper broker takes a price (engine/domain/rules.py)
            return f"{name} {raw!r} is {'past 1e15' if value > 1 else 'below 1e-15'}: no market's price is near it"
        prices.append(value)
    open_, high, low, close = prices
    if high < low:
        return f"high {high:g} is below low {low:g}"
    for name, value in (("open", open_), ("close", close)):
        if not low <= value <= high:
            return f"{name} {value:g} lies outside low {low:g} and high {high:g}"
    return Bar(time, open_, high, low, close)
