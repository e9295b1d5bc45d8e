"""The order alerts take across their lanes.

An alert of one symbol waits for the alerts of that symbol before it, in its lane, and not for
the others. An alert without a symbol (``closeall``, ``cancelall``) acts on every symbol, so it
takes its turn in the journal's order against all of them: it waits for every alert queued
before it, and every alert queued after it waits for it. "closeall", then "buy EURUSD" a
millisecond later, flattens the account and then opens the long; run side by side, the close
could read the positions after the long was opened and close it too.
"""

from __future__ import annotations

import itertools
import logging
from typing import Any

import trio

log = logging.getLogger("moonhook.engine")


class Turns:
    """Hands each queued alert its ``Turn``, in the order they are queued."""

    def __init__(self) -> None:
        self._next = itertools.count()
        self._open: dict[int, Turn] = {}     # queued and not yet through, by place
        self._global: dict[int, Turn] = {}   # the same, of the alerts without a symbol

    def take(self, alert_id: int, symbol: str | None) -> "Turn":
        turn = Turn(self, next(self._next), alert_id, symbol is None)
        self._open[turn.place] = turn
        if turn.every_symbol:
            self._global[turn.place] = turn
        return turn

    def _before(self, turn: "Turn") -> list["Turn"]:
        waits_for = self._open if turn.every_symbol else self._global
        return [t for place, t in waits_for.items() if place < turn.place]

    def _through(self, turn: "Turn") -> None:
        self._open.pop(turn.place, None)
        self._global.pop(turn.place, None)
        turn.done.set()


class Turn:
    """``async with turn:`` waits for the alerts this one must follow; leaving it (however the
    alert ended) lets those after it go."""

    __slots__ = ("_turns", "place", "alert_id", "every_symbol", "done")

    def __init__(self, turns: Turns, place: int, alert_id: int, every_symbol: bool):
        self._turns, self.place, self.alert_id, self.every_symbol = turns, place, alert_id, every_symbol
        self.done = trio.Event()

    async def __aenter__(self) -> None:
        before = self._turns._before(self)
        if before:
            log.debug("alert %d waits for alert %s before it", self.alert_id,
                      ", ".join(str(t.alert_id) for t in before))
        for turn in before:
            await turn.done.wait()

    async def __aexit__(self, *_: Any) -> None:
        self._turns._through(self)
