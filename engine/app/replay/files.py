"""Reading an input file's text, and the CSV rows of it with the line each starts on.

Text is UTF-8, with or without a byte order mark, or UTF-16 with its mark (spreadsheets and
Windows programs write either).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator

from engine.app.replay.problems import Reporter

SQLITE_HEADER = b"SQLite format 3\x00"


def head(path: Path, reporter: Reporter, size: int = 16) -> bytes:
    """The first ``size`` bytes of the file. Raises ReplayInputError if it cannot be opened."""
    try:
        with path.open("rb") as f:
            return f.read(size)
    except OSError as e:
        raise reporter.refuse(f"cannot open: {e.strerror or e}") from None


def text(path: Path, reporter: Reporter) -> str:
    """The file's text. Raises ReplayInputError if it cannot be opened or decoded."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise reporter.refuse(f"cannot open: {e.strerror or e}") from None
    encoding = "utf-16" if data[:2] in (b"\xff\xfe", b"\xfe\xff") else "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        line = data[:e.start].count(b"\n") + 1 if encoding == "utf-8-sig" else "?"
        raise reporter.refuse(f"line {line}: not {encoding.replace('-sig', '')} text ({e.reason})") from None


def csv_rows(content: str, delimiter: str = ",") -> Iterator[tuple[int, list[str]]]:
    """Each CSV record with the line it starts on (a quoted field may span lines); blank
    lines are left out. Raises csv.Error for a record the csv module cannot read."""
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=delimiter)
    start = 1
    for row in reader:
        if any(cell.strip() for cell in row):
            yield start, row
        start = reader.line_num + 1


def columns(header: list[str]) -> dict[str, int]:
    """Column names (stripped, lower case, MT5's <> taken off) to their first index."""
    out: dict[str, int] = {}
    for index, name in enumerate(header):
        out.setdefault(name.strip().strip("<>").strip().lower(), index)
    return out


def semicolons(header: list[str], line: int) -> str | None:
    """What is wrong with a CSV ``header`` read as one column because its columns are separated by
    ';' (a spreadsheet saves CSV so in languages that write a decimal comma); None otherwise."""
    if len(header) == 1 and header[0].count(";") >= 2:
        return (f"line {line}: its columns are separated by ';', not ',' (as a spreadsheet saves CSV in some "
                "languages): save it with ','")
    return None
