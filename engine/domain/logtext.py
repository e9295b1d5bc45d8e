"""Text made safe for the log, kept on one line so that it cannot forge lines that look like the
engine's own, nor move a terminal's cursor: a stranger's text (a plugin's log line) as it is
logged (``one_line``), and any value as the ``kv`` format quotes it (``quoted``)."""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def one_line(text: str, keep: str = "\t") -> str:
    """``text`` with newlines, carriage returns and the other control and separator characters
    (ESC, C1, U+2028 ...) written as escapes (``\\n``, ``\\x1b``, ``\\u2028``); the characters of
    ``keep`` (a tab, by default) and the printable ones as they are."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() or c in keep else _NAMED.get(c) or _escape(c) for c in text)


def quoted(value: object) -> str:
    """``value`` as a key=value (logfmt) line's value: as it is when it is printable and holds
    no space, ``"``, ``=`` or backslash; else in double quotes, with a backslash before ``"`` and
    ``\\``, and every control or separator character (tabs included) escaped as ``one_line``
    escapes them. A reader splits the line back into the fields it was made of."""
    text = str(value)
    if text and text.isprintable() and not any(c in text for c in ' "=\\'):
        return text
    return '"' + one_line(text.replace("\\", "\\\\").replace('"', '\\"'), keep="") + '"'


def _escape(c: str) -> str:
    n = ord(c)
    return f"\\x{n:02x}" if n < 0x100 else f"\\u{n:04x}" if n < 0x10000 else f"\\U{n:08x}"
