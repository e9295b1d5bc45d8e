"""How long to wait before trying Telegram again: doubling from ``first`` up to ``cap``, with
jitter, so that many chats or bots that failed together do not retry together."""

from __future__ import annotations

import random


class Backoff:
    def __init__(self, first: float = 0.5, cap: float = 30.0):
        self.first, self.cap = first, cap
        self._next = first

    def next(self) -> float:
        """The next wait: the current step, give or take a quarter; the step then doubles."""
        wait = self._next * random.uniform(0.75, 1.25)
        self._next = min(self.cap, self._next * 2)
        return min(wait, self.cap)

    def reset(self) -> None:
        """After a success: the next failure waits ``first`` again."""
        self._next = self.first
