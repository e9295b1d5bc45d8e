"""Where in its script a plugin placed the order being sent (``services``' ``orders.*``), for the trades
chat's advice on an order the plugin itself made malformed (``reports.describe_not_done``): "trail.lua:10"
when the script calls that order function at one place, else its file alone (the host is not told the
calling line). Held in a context variable for the call's task, worked out only when a refusal asks."""

from __future__ import annotations

import re
from contextlib import contextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, Callable, Iterator

_SITE: ContextVar[Callable[[], str] | None] = ContextVar("order_site", default=None)


@contextmanager
def placing(plugin: Any, fn: str) -> Iterator[None]:
    """While the order ``fn`` ("orders.modify") of ``plugin`` (an engine Plugin: ``path``, ``source``) is
    placed, ``where()`` names it."""
    token = _SITE.set(partial(_site, plugin, fn))
    try:
        yield
    finally:
        _SITE.reset(token)


def where() -> str | None:
    """The script's file (and line) of the plugin order being placed; None for any other order (an
    alert's, an administrator's)."""
    lazy = _SITE.get()
    return lazy() if lazy is not None else None


def _site(plugin: Any, fn: str) -> str:
    text = (plugin.source or b"").decode("utf-8", "replace")
    calls = [m.start() for m in re.finditer(rf"(?<![\w.]){re.escape(fn)}\b", text)]
    name = plugin.path.name
    return f"{name}:{text.count(chr(10), 0, calls[0]) + 1}" if len(calls) == 1 else name
