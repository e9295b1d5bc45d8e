"""Recorded alerts for replay, oldest first, from one of three files (chosen by the file):

- moonhook's own journal (a ``moonhook.db``, known by SQLite's header): every row of its
  ``alerts`` table, its ``alert`` column as the body and ``received_at`` as the time. All the
  statuses are read by default, rejected, duplicate, paused, expired, failed and unfinished
  ("received") ones included: each arrived, and replay feeds the scripts what the engine was
  given, not what it made of it (a new version may accept what the old rejected; the replayed
  journal must see a repeat to count it as one). ``statuses`` narrows it. The file is opened
  read-only (``mode=ro``), so a running engine's journal can be read. ``where`` is
  ``file:id``, the alert's id in the journal (a row has no line).
- a JSONL file (``.jsonl``): one object a line, ``time`` (Unix seconds or ISO 8601) and the
  body, as ``body`` (a string) or ``alert`` (an object, serialised back to JSON).
- TradingView's exported alert log (``.csv``): the body in its Description column, the time
  in its Time column (ISO 8601 or ``YYYY-MM-DD HH:MM:SS``, UTC). Column order, extra
  columns, a byte order mark and quoted multi-line descriptions are fine.

Alerts with the same time keep the file's order (the journal's: by id; TradingView's log,
written newest first, is read bottom up so that equal times keep the order they fired in, unless
its first row is older than its last).
"""

from __future__ import annotations

import csv
import json
import math
import sqlite3
from dataclasses import replace
from pathlib import Path
from typing import Iterable, NamedTuple, Sequence

from engine.adapters.storage import STATUSES
from engine.app.replay import files
from engine.app.replay.problems import Read, Reporter
from engine.app.replay.times import parse_time
from engine.domain.alerts import Alert, SymbolMap, parse_value

TIME_COLUMNS = ("time", "date", "date/time", "datetime", "timestamp")
BODY_COLUMNS = ("description", "message")


class RecordedAlert(NamedTuple):
    """One alert as it was received: ``time`` in Unix seconds, the ``body`` as sent (JSON or
    the text grammar), ``where`` it was read ("file:line"). ``plain``: the body is the alert
    as the journal keeps it (``Alert.to_plain``), parsed when it was received."""
    time: float
    body: str
    where: str
    plain: bool = False


def read_alerts(path: Path | str, *, strict: bool = False, statuses: Iterable[str] | None = None,
                window: tuple[float, float] = (-math.inf, math.inf)) -> Read[RecordedAlert]:
    """The alerts of ``path``, oldest first, and the rows skipped. Journal only: ``statuses``,
    the journal statuses to read (None for all), and ``window``, (low, high) Unix seconds of
    the receipt times to read (``times.bounds``: the rest is never loaded; other formats are
    cut by ``between``). Raises ReplayInputError for a file that cannot be read or whose
    format is unknown, and with ``strict`` for the first malformed row."""
    path = Path(path)
    reporter = Reporter(str(path), strict)
    if path.is_dir():   # `--alerts data`, the journal's folder
        journal = path / "moonhook.db"
        raise reporter.refuse(f"a folder: give the journal in it, {journal}" if journal.is_file()
                              else "a folder, not a file of alerts")
    if files.head(path, reporter) == files.SQLITE_HEADER:
        alerts = _journal(path, reporter, statuses, window)
    elif statuses is not None:
        raise reporter.refuse("statuses are read from a moonhook journal only")
    elif path.suffix.lower() in (".jsonl", ".ndjson"):
        alerts = _jsonl(path, reporter)
    elif path.suffix.lower() == ".csv":
        alerts = _tradingview(path, reporter)
    else:
        raise reporter.refuse("unknown alert format: expected a moonhook journal (SQLite), "
                              "a .jsonl file or TradingView's alert log (.csv)")
    alerts.sort(key=lambda a: a.time)  # stable: equal times keep the order read
    return Read(str(path), alerts, reporter.problems)


def journaled(plain: dict, secrets: Sequence[str] = ()) -> Alert:
    """A journal's alert (``Alert.to_plain``) read as this version reads the body it came as:
    an older moonhook kept a field it did not read yet as it was sent, an extra field (a
    ``timenow`` as its text, ``"SL"`` or ``"lots"`` before they were read), which taken as
    journaled would crash the replay or trade without the stop or the size. Its symbol stays
    the one the journal mapped it to; ``secrets`` written ``***`` (an older journal's, not upgraded,
    may hold one). Raises AlertError as live intake refuses."""
    given = {k: v for k, v in plain.items() if k not in ("side", "source", "raw_symbol")}
    raw, symbol = plain.get("raw_symbol"), plain.get("symbol")
    mapped = isinstance(raw, str) and isinstance(symbol, str)
    if mapped:
        given["symbol"] = raw
    alert = parse_value(given, SymbolMap({raw: symbol} if mapped else {}), secrets)
    return replace(alert, source=plain.get("source", alert.source))


def _journal(path: Path, reporter: Reporter, statuses: Iterable[str] | None,
             window: tuple[float, float]) -> list[RecordedAlert]:
    wanted = tuple(STATUSES if statuses is None else statuses)
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise reporter.refuse(f"unknown alert status {unknown[0]!r} (known: {', '.join(STATUSES)})")
    try:
        conn = sqlite3.connect(path.resolve().as_uri() + "?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise reporter.refuse(f"cannot open the journal: {e}") from None
    try:
        marks = ", ".join("?" * len(wanted)) or "NULL"
        # The index on received_at gives the window and the order (`+status`: not the status
        # index, which would read every row); each bound only when there is one.
        within = [(f"received_at {op} ?", x) for op, x in ((">=", window[0]), ("<", window[1])) if not math.isinf(x)]
        rows = conn.execute(f"SELECT id, received_at, alert FROM alerts WHERE +status IN ({marks}) "
                            + "".join(f"AND {sql} " for sql, _ in within) + "ORDER BY received_at, id",
                            [*wanted, *(x for _, x in within)]).fetchall()
    except sqlite3.Error as e:
        raise reporter.refuse(f"not a moonhook journal ({e})") from None
    finally:
        conn.close()
    out = []
    for id_, received_at, body in rows:
        try:
            json.loads(body)
            time = parse_time(received_at)
        except (ValueError, TypeError) as e:
            reporter.skip(id_, f"alert {id_} cannot be read: {e}")
            continue
        out.append(RecordedAlert(time, body, reporter.where(id_), plain=True))
    return out


def _jsonl(path: Path, reporter: Reporter) -> list[RecordedAlert]:
    out = []
    # "\n" only: splitlines would also break a line at a U+2028 or U+0085 a JSON string may hold raw
    for number, line in enumerate(files.text(path, reporter).split("\n"), start=1):
        if not line.strip():
            continue
        try:
            entry = json.loads(line)
        except ValueError as e:
            reporter.skip(number, f"not JSON: {e}")
            continue
        if not isinstance(entry, dict):
            reporter.skip(number, f"expected an object with time and body, got {type(entry).__name__}")
            continue
        if "time" not in entry:
            reporter.skip(number, "no time")
            continue
        try:
            time = parse_time(entry["time"])
        except ValueError as e:
            reporter.skip(number, str(e))
            continue
        if ("body" in entry) == ("alert" in entry):
            reporter.skip(number, "expected one of body (a string) or alert (an object)")
            continue
        if "body" in entry:
            body = entry["body"]
            if not isinstance(body, str) or not body.strip():
                reporter.skip(number, "body must be a non-empty string (or give alert as an object)")
                continue
        else:
            if not isinstance(entry["alert"], dict):
                reporter.skip(number, "alert must be an object (or give body as a string)")
                continue
            body = json.dumps(entry["alert"], ensure_ascii=False)
        out.append(RecordedAlert(time, body, reporter.where(number)))
    return out


def _tradingview(path: Path, reporter: Reporter) -> list[RecordedAlert]:
    rows = files.csv_rows(files.text(path, reporter))
    out = []
    try:
        first = next(rows, None)
        if first is None:
            raise reporter.refuse("empty: expected TradingView's alert log with a header")
        names = files.columns(first[1])
        time_at = next((names[c] for c in TIME_COLUMNS if c in names), None)
        body_at = next((names[c] for c in BODY_COLUMNS if c in names), None)
        if (time_at is None or body_at is None) and (semicolons := files.semicolons(first[1], first[0])) is not None:
            raise reporter.refuse(semicolons)
        if time_at is None or body_at is None:
            raise reporter.refuse(f"line {first[0]}: expected TradingView's alert log with a Time and a "
                                  f"Description column, the header has {', '.join(first[1])}")
        for number, row in rows:
            if max(time_at, body_at) >= len(row):
                reporter.skip(number, f"{len(row)} columns, the header has {len(first[1])}")
                continue
            try:
                time = parse_time(row[time_at])
            except ValueError as e:
                reporter.skip(number, str(e))
                continue
            body = row[body_at]
            if not body.strip():
                reporter.skip(number, "empty Description: no alert message")
                continue
            out.append(RecordedAlert(time, body, reporter.where(number)))
    except csv.Error as e:
        raise reporter.refuse(f"not a readable CSV: {e}") from None
    if out and out[0].time >= out[-1].time:
        # TradingView writes newest first; so is a log all of one second: equal times keep the order they fired in
        out.reverse()
    return out
