"""A webhook body read: the JSON value it holds, or its text, and what JSON decoding lets through that an
alert cannot carry (``check_json``). Every refusal is an AlertError saying what is wrong and where."""

from __future__ import annotations

import json
import math
import re
import sys
from typing import Any

from engine.domain.alerts.model import AlertError

MAX_DEPTH = 32  # levels of JSON nesting an alert may have


def read_body(body: bytes | str) -> Any:
    """A body as the JSON value it holds, or as its stripped text when it is not JSON.
    Raises AlertError for a body that is not UTF-8, is empty, or looks like JSON and is not."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise AlertError(None, f"the body is not UTF-8 text (byte {e.start})") from None
    text = body.strip().lstrip("\ufeff").strip()  # a file saved on Windows: a BOM, then a line break
    if not text:
        raise AlertError(None, "the body is empty")
    if not text.startswith(("{", "[")) or text.startswith("{{"):  # a text alert may open with a placeholder
        return text
    try:
        return json.loads(text, object_pairs_hook=_object)
    except json.JSONDecodeError as e:
        where = _curly(text, e.pos) or e.msg
        raise AlertError(None, f"the body looks like JSON but is not valid: {where} at line {e.lineno} "
                               f"column {e.colno}") from None
    except RecursionError:
        raise AlertError(None, f"the body is nested more than {MAX_DEPTH} levels deep") from None
    except ValueError:  # an integer of more digits than Python converts
        raise AlertError(None, f"the body holds a number of more than {sys.get_int_max_str_digits():,} digits") \
            from None


def check_not_json_string(text: str) -> None:
    """Refuses an alert's text that is a JSON string (``"buy EURUSD"``): read as text, its quote was the
    command. The alert parser's, not ``read_body``'s: the API's routes read bodies too, and say their own."""
    if not text.startswith('"'):
        return
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return
    if isinstance(value, str):
        raise AlertError(None, "the body is a JSON string, not an alert: send its text without the quotes "
                               "(buy EURUSD volume=0.1), or a JSON object")


_CURLY = re.compile("[\u201c\u201d\u201e\u201f\u2033]")  # “ ” „ ‟ ″: a word processor's or a phone's


def _curly(text: str, at: int) -> str | None:
    """What the curly double quote at ``at`` in ``text`` is, JSON refusing it there; None for another character."""
    if at >= len(text) or not _CURLY.match(text, at):
        return None
    return f"curly quotes ({text[at]}), which JSON does not take: write straight double quotes (\")"


class _Twice(dict):
    """A JSON object in which ``key`` was given twice: refused by ``check_json`` (after the web
    layer has read the secret, so the sender is told what is wrong rather than "no secret")."""
    key: str


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # With a key given twice, which value counts would be a guess (json keeps the last, another
    # reader the first): refused, as a field given twice in text is.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out and not isinstance(out, _Twice):
            out = _Twice(out)
            out.key = key
        out[key] = value
    return out


def check_json(value: Any, path: str | None = None, depth: int = 0) -> None:
    """Refuses what JSON decoding lets through but the journal, the API and the sandbox cannot
    carry: nesting deeper than MAX_DEPTH, NaN and infinities, integers beyond 64 bits, and text
    with lone surrogates (``"\\ud800"``). Raises AlertError naming the field's path."""
    if depth > MAX_DEPTH:  # named by its top-level field: the whole path would be as deep
        raise AlertError(re.split(r"[.\[]", path or "", maxsplit=1)[0] or None,
                         f"nested more than {MAX_DEPTH} levels deep")
    if isinstance(value, str):
        check_text(path, value)
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise AlertError(path, f"must be a finite number, got {value}")
    elif isinstance(value, int):
        if not -2**63 <= value < 2**63:
            raise AlertError(path, "a whole number beyond 64 bits")
    elif isinstance(value, dict):
        if isinstance(value, _Twice):
            raise AlertError(f"{path}.{value.key}" if path else value.key, "given twice in the JSON object")
        for key, item in value.items():
            check_text(path, key)
            check_json(item, f"{path}.{key}" if path else key, depth + 1)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            check_json(item, f"{path or ''}[{i}]", depth + 1)


def check_text(name: str | None, text: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise AlertError(name, f"holds an unpaired surrogate (\\u{ord(text[e.start]):04x}), which is not text") \
            from None
