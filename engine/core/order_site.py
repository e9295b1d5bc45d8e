"""Where in its script a plugin placed the order being sent (``services``' ``orders.*``), for the trades
chat's advice on an order the plugin itself made malformed (``reports.describe_not_done``): "trail.lua:10",
the line of the script's call as the sandbox tells it with the host call (``sandbox.caller``), else the
plugin's file alone. Held in a context variable for the call's task."""

from __future__ import annotations

from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Iterator

import sandbox

_SITE: ContextVar[str | None] = ContextVar("order_site", default=None)


@contextmanager
def placing(plugin: Any) -> Iterator[None]:
    """While an order of ``plugin`` (an engine Plugin: ``path``), asked by its script's call of an
    ``orders.*`` host function, is placed, ``where()`` names that call."""
    token = _SITE.set(sandbox.caller() or plugin.path.name)
    try:
        yield
    finally:
        _SITE.reset(token)


def where() -> str | None:
    """The script's file:line (or file) of the plugin order being placed; None for any other order (an
    alert's, an administrator's)."""
    return _SITE.get()
