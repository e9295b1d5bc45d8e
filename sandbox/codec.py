"""Plain data across the boundary, as a shape string and a flat list of scalars.

The host never builds Lua tables itself (lupa's table building can abort the process at the
memory cap); it sends a shape, one letter per value, and the scalars, and trusted Lua code in
the prelude builds the tables inside a protected call. Results come back the same way.

    v  the next scalar (str, int or float)     n  nil     t  true     f  false
    a  array: its length is the next scalar, then that many values
    m  map: its size is the next scalar, then for each entry a key scalar and a value
"""

from __future__ import annotations

from typing import Any, Sequence

from .budget import MAX_DEPTH, MAX_STRING_BYTES, MAX_VALUES

_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1


class BoundaryError(ValueError):
    """A value that cannot cross into a script; the message names where it is."""


class _NotFlat(Exception):
    pass


def _encode_flat(values: Sequence[Any]) -> tuple[str, list]:
    """The usual case, fast: scalars and maps of string keys to scalars (an alert, an order)."""
    shape: list[str] = []
    out: list = []
    size = 0
    for v in values:
        t = type(v)
        if t is dict:
            items = [(k, x) for k, x in v.items() if x is not None]
            shape.append("m")
            out.append(len(items))
            for k, x in items:
                tx = type(x)
                if type(k) is not str:
                    raise _NotFlat
                if tx is str:
                    size += len(x) + len(k)
                elif tx is float or (tx is int and _INT_MIN <= x <= _INT_MAX):
                    size += len(k)
                elif tx is bool:
                    out.append(k)
                    shape.append("t" if x else "f")
                    continue
                else:
                    raise _NotFlat
                shape.append("v")
                out.append(k)
                out.append(x)
        elif t is str or t is float or (t is int and _INT_MIN <= v <= _INT_MAX):
            shape.append("v")
            out.append(v)
            if t is str:
                size += len(v)
        elif v is None:
            shape.append("n")
        elif t is bool:
            shape.append("t" if v else "f")
        else:
            raise _NotFlat
    if size > MAX_STRING_BYTES or len(out) > MAX_VALUES:
        raise _NotFlat  # let the general path name what is too large
    return "".join(shape), out


def encode(values: Sequence[Any]) -> tuple[str, list]:
    """Flattens ``values`` (a list of top-level values) for the trip into Lua."""
    try:
        return _encode_flat(values)
    except _NotFlat:
        return _encode_general(values)


def _encode_general(values: Sequence[Any]) -> tuple[str, list]:
    shape: list[str] = []
    out: list = []
    budget = [MAX_VALUES, MAX_STRING_BYTES]

    def scalar(v: Any, path: str) -> None:
        budget[0] -= 1
        if budget[0] < 0:
            raise BoundaryError(f"more than {MAX_VALUES} values")
        if isinstance(v, str):
            budget[1] -= len(v)
            if budget[1] < 0:
                raise BoundaryError(f"more than {MAX_STRING_BYTES} bytes of strings")
        elif isinstance(v, int) and not (_INT_MIN <= v <= _INT_MAX):
            raise BoundaryError(f"{path}: integer {v} does not fit in 64 bits")
        out.append(v)

    def walk(v: Any, depth: int, path: str) -> None:
        if v is None:
            shape.append("n")
        elif v is True:
            shape.append("t")
        elif v is False:
            shape.append("f")
        elif isinstance(v, (str, int, float)):
            shape.append("v")
            scalar(v, path)
        elif isinstance(v, (list, tuple)):
            if depth >= MAX_DEPTH:
                raise BoundaryError(f"{path}: nested deeper than {MAX_DEPTH}")
            shape.append("a" if v else "m")
            scalar(len(v), path)
            for i, item in enumerate(v, 1):
                if item is None:
                    raise BoundaryError(f"{path}[{i}]: None cannot be an item of a Lua array")
                walk(item, depth + 1, f"{path}[{i}]")
        elif isinstance(v, dict):
            if depth >= MAX_DEPTH:
                raise BoundaryError(f"{path}: nested deeper than {MAX_DEPTH}")
            items = [(k, x) for k, x in v.items() if x is not None]
            shape.append("m")
            scalar(len(items), path)
            for k, item in items:
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise BoundaryError(f"{path}: key {k!r} is not a string or an integer")
                scalar(k, path)
                walk(item, depth + 1, f"{path}[{k!r}]")
        elif isinstance(v, bytes):
            raise BoundaryError(f"{path}: bytes cannot cross; decode them to str first")
        else:
            raise BoundaryError(f"{path}: a {type(v).__name__} cannot cross into a script")

    for i, v in enumerate(values, 1):
        walk(v, 1, f"[{i}]")
    return "".join(shape), out


def decode(shape: str, values: Sequence[Any]) -> list:
    """Rebuilds the list of top-level values from a shape and its scalars."""
    pos = 0
    vp = 0
    end = len(shape)

    def one() -> Any:
        nonlocal pos, vp
        c = shape[pos]
        pos += 1
        if c == "v":
            v = values[vp]
            vp += 1
            return v
        if c == "a":
            n = values[vp]
            vp += 1
            return [one() for _ in range(n)]
        if c == "m":
            n = values[vp]
            vp += 1
            d = {}
            for _ in range(n):
                k = values[vp]
                vp += 1
                d[k] = one()
            return d
        if c == "t":
            return True
        if c == "f":
            return False
        return None

    result = []
    while pos < end:
        result.append(one())
    return result
