"""A command's engine refused at its start, before anything was done (``engine.app.REFUSED``: its
data folder in use, a journal of a newer version, the sandbox's workers dying as they start): said
in one line on stderr, exit status ``REFUSED_EXIT``, never a traceback. ``moonhook run`` and
``moonhook check`` (which opens a throwaway engine) say it the same way, from here."""

from __future__ import annotations

import sys
from typing import Awaitable, Callable, TypeVar

import trio

T = TypeVar("T")
REFUSED_EXIT = 2   # as the other refusals before a start (settings, a folder missing)


def run_unless_refused(main: Callable[..., Awaitable[T]], *args: object,
                       also: tuple[type[Exception], ...] = ()) -> T | None:
    """``trio.run(main, *args)``'s value, or None when the start was refused (REFUSED, or one of
    ``also``: what only that command's start refuses), said in one line. Whatever else it raises
    goes on up."""
    from engine.app import REFUSED

    refused: list[BaseException] = []
    try:
        return trio.run(main, *args)
    except* (*REFUSED, *also) as group:
        refused.append(_first(group))
    print(f"moonhook: {refused[0]}", file=sys.stderr)
    return None


def _first(group: BaseException) -> BaseException:
    """The first exception in ``group``, however deep the nurseries nested it."""
    while isinstance(group, BaseExceptionGroup):
        group = group.exceptions[0]
    return group
