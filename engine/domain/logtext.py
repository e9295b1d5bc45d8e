"""A stranger's text (a plugin's log line) made safe for the log: kept on one line, so that it
cannot forge lines that look like the engine's own, nor move a terminal's cursor."""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r"}


def one_line(text: str) -> str:
    """``text`` with newlines, carriage returns and the other control and separator characters
    (ESC, C1, U+2028 ...) written as escapes (``\\n``, ``\\x1b``, ``\\u2028``); tabs and the
    printable characters as they are."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c == "\t" else _NAMED.get(c) or _escape(c) for c in text)


def _escape(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"
