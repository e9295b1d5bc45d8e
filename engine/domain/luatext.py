"""A script's values as Lua's ``tostring`` and ``print`` write them, for the lines its ``log.*``
calls write: ``true``, ``nil``, ``3.0``, ``9.007199254741e+15`` (Lua's ``%.14g``), not Python's
``True``, ``None``. A table, which ``print`` writes as its address, is written as Lua source
(``{1, "x"}``, ``{a = true}``), what a trader logging one wants to see."""

from __future__ import annotations

import re
from typing import Any

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def lua_text(value: Any) -> str:
    """``value`` (as it crossed from the script: None, bool, int, float, str, list, dict) as Lua
    writes it; a string as it is."""
    return value if isinstance(value, str) else _source(value)


def lua_source(value: Any) -> str:
    """``value`` as Lua source writes it, a string in double quotes: what a script gave, in a refusal."""
    return _source(value)


def lua_type(value: Any) -> str:
    """What Lua's ``type`` says of ``value`` (as it crossed from the script), for an error naming what a
    script gave: ``number``, ``table``, not Python's ``int``, ``list``."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple, dict)):
        return "table"
    return type(value).__name__


def _source(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        text = "%.14g" % value
        return text + ".0" if text.lstrip("-").isdigit() else text
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, (list, tuple)):
        return "{" + ", ".join(_source(v) for v in value) + "}"
    if isinstance(value, dict):
        items = sorted(value.items(), key=_order)   # as pairs walks it: in no order of each run's
        return "{" + ", ".join(f"{_key(k)} = {_source(v)}" for k, v in items) + "}"
    return str(value)


def _order(item: tuple[Any, Any]) -> tuple[int, Any]:
    key = item[0]
    if isinstance(key, (int, float)) and not isinstance(key, bool):
        return 0, key
    return (1, key.encode()) if isinstance(key, str) else (2, str(key).encode())


def _key(key: Any) -> str:
    return key if isinstance(key, str) and _NAME.match(key) else f"[{_source(key)}]"
