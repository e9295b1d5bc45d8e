"""Repeats of one event told once per window: a plugin failing on every alert, a refused
order retried all day, must not bury the messages that matter.

The first message with a key goes out at once and opens a window; repeats within it are
counted, not sent. When the window ends, one message tells the last of them and how many
were folded in, and opens the next window; a window without repeats closes silently.
"""

from __future__ import annotations

from dataclasses import dataclass

Message = tuple[str, str, "str | None"]  # (kind, text, key)


@dataclass
class _Window:
    ends: float
    kind: str
    last: str = ""
    folded: int = 0


class Throttle:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self._open: dict[str, _Window] = {}

    def admit(self, message: Message, now: float) -> bool:
        """True: send ``message`` now. False: it is counted in its key's window."""
        kind, text, key = message
        if key is None or self.seconds <= 0:
            return True
        window = self._open.get(key)
        if window is None:
            self._open[key] = _Window(now + self.seconds, kind)
            return True
        window.folded += 1
        window.last = text
        return False

    def settle(self, key: str) -> None:
        """The event of ``key`` is over (what it told is superseded): its window closes, the
        repeats it folded untold."""
        self._open.pop(key, None)

    def next_deadline(self) -> float | None:
        return min((w.ends for w in self._open.values()), default=None)

    def due(self, now: float) -> list[Message]:
        """The summaries of the windows that ended by ``now``."""
        out: list[Message] = []
        for key, window in list(self._open.items()):
            if window.ends > now:
                continue
            if window.folded:
                out.append(self._summary(key, window))
                self._open[key] = _Window(now + self.seconds, window.kind)
            else:
                del self._open[key]
        return out

    def ending(self) -> list[Message]:
        """At a stop, the summaries of every window with repeats, ended or not: told then, not
        lost with the windows (no start tells them)."""
        out = [self._summary(key, window) for key, window in self._open.items() if window.folded]
        self._open.clear()
        return out

    def _summary(self, key: str, window: _Window) -> Message:
        more = f"{window.folded} more like this" if window.folded > 1 else "1 more like this"
        return window.kind, f"{window.last}\n({more} in the last {self.seconds:g} s)", key
