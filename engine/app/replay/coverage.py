"""Whether a replay had anything to go on, said plainly rather than as a report of zeros: an
alerts source that leaves no alert to replay (no rows, every row a problem, none inside
``--from``/``--to``, none read as an alert), and a price file without a bar, or whose bars hold
none of its symbol's alerts (each would fill at its own price, its stops never simulated).
``moonhook replay`` writes its report and says so, exit NOTHING_REPLAYED (docs/replay.md); each
message names the source."""

from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

from engine.app.replay.alerts import RecordedAlert
from engine.app.replay.prices import Bar
from engine.app.replay.problems import Problem, Read
from engine.app.replay.report import Outcome, when
from engine.domain.words import counted

QUOTED = 3   # problems a message quotes; the rest are most often like them
NOTHING_REPLAYED = 65   # sysexits' EX_DATAERR: the input was read, and holds nothing to replay on


def nothing_to_replay(read: Read[RecordedAlert], items: Sequence[RecordedAlert],
                      start: str | None = None, end: str | None = None) -> str | None:
    """Why ``items``, the alerts of ``read`` inside the window ``start``/``end`` (as typed),
    leave nothing to replay; None when there is one."""
    if items:
        return None
    window = " ".join(f"{flag} {value}" for flag, value in (("--from", start), ("--to", end)) if value is not None)
    if read.items:
        return (f"{read.source}: {counted(len(read.items), 'alert')} ({when(read.items[0].time)} to "
                f"{when(read.items[-1].time)}), none within {window}: nothing to replay")
    if read.problems:
        return (f"{read.source}: {counted(len(read.problems), 'row')}, none read as an alert: nothing to replay "
                f"({_quoted(read.problems)})")
    if window:   # a journal reads the window only
        return f"{read.source}: no alert within {window}: nothing to replay"
    return f"{read.source}: no alert in it: nothing to replay"


def no_bars(read: Read[Bar], files: Sequence[Path]) -> str | None:
    """Why ``files``, one symbol's price files as ``read``, give no bar; None when they give one."""
    if read.items:
        return None
    named = ", ".join(map(str, files))
    if read.problems:
        return f"{named}: {counted(len(read.problems), 'row')}, none read as a bar ({_quoted(read.problems)})"
    return f"{named}: no bar in it (leave it out to replay without {read.symbol}'s prices)"


def not_replayed(outcome: Outcome, source: str, bars: Mapping[str, Sequence[Bar]],
                 files: Mapping[str, Sequence[Path]]) -> str | None:
    """What made a replay of the alerts of ``source`` on ``bars`` (read from ``files``, by
    symbol) meaningless: no alert of them run (each not read as an alert), or a symbol's bars
    holding none of its alerts; None when it stands."""
    if outcome.alerts and not outcome.replayed:
        mine = [p for p in outcome.problems if p.where.startswith(f"{source}:")]
        return (f"{source}: {counted(outcome.alerts, 'alert')} to replay, none read as an alert: nothing replayed "
                f"({_quoted(mine)})")
    for symbol, covered in outcome.covered.items():
        if covered.alerts and not covered.inside:
            span = bars[symbol]
            return (f"{', '.join(map(str, files[symbol]))}: its bars ({when(span[0].time)} to {when(span[-1].time)}) "
                    f"hold no {symbol} alert replayed ({counted(covered.alerts, 'alert')}, {when(covered.first)} to "
                    f"{when(covered.last)}): each would fill at its own price, its stops never simulated; give the "
                    "bars of the alerts' span (or leave the file out)")
    return _unused(outcome, bars, files)


def _unused(outcome: Outcome, bars: Mapping[str, Sequence[Bar]], files: Mapping[str, Sequence[Path]]) -> str | None:
    """Bars given, of symbols no alert replayed names and nothing traded: the wrong files (or a
    ticker the map does not make theirs), all orders filled at their alerts' prices. None when
    one symbol's bars were used: another's quiet in the span is no fault."""
    given = {symbol for symbol, series in bars.items() if series}
    traded = {t.symbol for t in outcome.trades} | {o.position.symbol for o in outcome.open}
    if not given or not outcome.replayed or outcome.covered or given & traded:
        return None
    named = ", ".join(str(path) for symbol in sorted(given) for path in files[symbol])
    priced = ", ".join(sorted(given))
    alerted = f" (the alerts traded {', '.join(outcome.without_prices)} at their own prices)" \
        if outcome.without_prices else ""
    its = "its" if len(given) == 1 else "their"
    return (f"{named}: no alert replayed is of {priced}, nor any trade: {its} bars were not used{alerted}; give the "
            "bars of their symbols, named SYMBOL=FILE if the file's name does not say it")


def _quoted(problems: Sequence[Problem]) -> str:
    shown = "; ".join(map(str, problems[:QUOTED]))
    return shown + (f"; and {len(problems) - QUOTED:,} more" if len(problems) > QUOTED else "")
