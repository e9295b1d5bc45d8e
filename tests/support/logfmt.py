"""A key=value (logfmt) reader written from the format's rules, apart from the formatter's code
(engine/app/logs.py), for the tests of ``--log-format kv``."""

from __future__ import annotations

import re

_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", '"': '"', "\\": "\\"}
_PAIR = re.compile(r'([^\s=]+)=("(?:[^"\\]|\\.)*"|[^\s"]*)(?:\s+|$)')
_CODE = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|.)")


def parse_kv(line: str) -> dict[str, str]:
    """A logfmt line's fields; AssertionError where the line is not one."""
    fields, at = {}, 0
    while at < len(line):
        match = _PAIR.match(line, at)
        assert match, f"not key=value at {at}: {line[at:]!r}"
        key, value = match.groups()
        assert key not in fields, f"{key} twice in {line!r}"
        fields[key] = _unquoted(value) if value.startswith('"') else value
        at = match.end()
    return fields


def _unquoted(value: str) -> str:
    def code(match: re.Match) -> str:
        c = match.group(1)
        return chr(int(c[1:], 16)) if len(c) > 1 else _ESCAPES[c]
    return _CODE.sub(code, value[1:-1])
