"""The line of a TOML text where a key is written, for an error about it to name (tomllib keeps
no positions once the text is read): ``engine.max_entries_per_hours`` in a file of 150 lines is
found by its line, not by reading them all.

A light scan, not a parser: table headers (``[a.b]``, ``[[a.b]]`` counted as ``a.b[N]``) and
``key =`` lines; the inside of a multi-line string is skipped. A key it cannot place (one in an
inline table) is placed at its nearest enclosing key; one not found at all has no line.
"""

from __future__ import annotations

import re
from typing import Iterator

_BARE = r"[A-Za-z0-9_-]+"
_QUOTED = r"\"[^\"]*\"|'[^']*'"
_DOTTED = rf"(?:{_BARE}|{_QUOTED})(?:\s*\.\s*(?:{_BARE}|{_QUOTED}))*"
_HEADER = re.compile(rf"\s*\[(\[)?\s*({_DOTTED})\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(rf"\s*({_DOTTED})\s*=")
_PART = re.compile(rf"{_BARE}|{_QUOTED}")
_LAST = re.compile(r"(?:\.[^.\[\]]*|\[\d+\])$")  # a path's last part: ".key" or "[N]"


def _path(dotted: str) -> str:
    return ".".join(part.strip("\"'") for part in _PART.findall(dotted))


def key_lines(text: str) -> dict[str, int]:
    """Each table and key path written in ``text`` -> the line (from 1) it is first written on."""
    lines: dict[str, int] = {}
    for path, number, _ in _written(text):
        lines.setdefault(path, number)
    return lines


def written_twice(text: str) -> str | None:
    """The first table or key ``text`` writes twice, said with both its lines (tomllib's "Cannot
    overwrite a value" names neither, nor, on the file's last line, the line); None if none is."""
    lines: dict[str, int] = {}
    for path, number, header in _written(text):
        if path in lines:
            return f"line {number}: {f'[{path}]' if header else path} is written twice (first on line {lines[path]})"
        lines[path] = number
    return None


def last_key(text: str) -> tuple[str, int] | None:
    """The last key ``text`` writes (not a table's header) and its line; None if it writes none. A value
    tomllib is still reading at the end of the text (an array or a multi-line string left open) is its."""
    keys = [(path, number) for path, number, header in _written(text) if not header]
    return keys[-1] if keys else None


def key_before(text: str, line: int, column: int) -> tuple[str, int] | None:
    """The last key ``text`` writes whose value begins before ``line``, ``column`` (from 1), and its line:
    the one an array tomllib found unclosed there was opened by (it says the place it noticed, the next key)."""
    lines, found = text.splitlines(), None
    for path, number, header in _written(text):
        if number > line:
            break
        key = _KEY.match(lines[number - 1])
        if not header and key and (number < line or key.end() < column):
            found = (path, number)
    return found


def _written(text: str) -> Iterator[tuple[str, int, bool]]:
    """Each table and key path written in ``text``, the line (from 1) it is written on, and whether
    that line is a table's header."""
    table, arrays, string = "", {}, None
    for number, line in enumerate(text.splitlines(), 1):
        if string is not None:  # inside a multi-line string
            if line.count(string) % 2:
                string = None
            continue
        if header := _HEADER.match(line):
            table = _path(header[2])
            if header[1]:  # [[a.b]]: the next table of the array
                arrays[table] = arrays.get(table, -1) + 1
                table = f"{table}[{arrays[table]}]"
            yield table, number, True
        elif key := _KEY.match(line):
            yield (f"{table}.{_path(key[1])}" if table else _path(key[1])), number, False
            rest = line[key.end():]
            string = next((q for q in ('"""', "'''") if rest.count(q) % 2), None)


def line_of(text: str, path: str) -> int | None:
    """The line ``path`` (``engine.max_risk_pct``, ``telegram.bots[1].token``) is written on in
    ``text``, or its nearest enclosing key's; None if neither is there."""
    lines = key_lines(text)
    while path:
        if path in lines:
            return lines[path]
        # written only as the start of a longer one: [plugin.demo.params], sandbox.workers = 2 under [engine]
        if within := [n for p, n in lines.items() if p.startswith((f"{path}.", f"{path}["))]:
            return min(within)
        shorter = _LAST.sub("", path)
        if shorter == path:
            return None
        path = shorter
    return None
