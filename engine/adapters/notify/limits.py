"""A Telegram bot's sending limits, kept on our side so that Telegram rarely has to say no.

Telegram does not publish fixed numbers; its guidance is about 30 messages a second per bot,
about one a second per chat (short bursts tolerated) and 20 a minute per group. Each is a
token bucket here; a message waits until every bucket that applies to it has a token. A 429
answer pauses the whole bot for the ``retry_after`` Telegram gives.

Our bursts are smaller than Telegram's: its buckets then stay nearly full, and absorb the
jitter between our sending a message and its arriving (messages queued in a connection pool
arrive bunched), which at the same rate and burst as Telegram's gives a 429 now and then.
"""

from __future__ import annotations

from dataclasses import dataclass

import trio


@dataclass(frozen=True)
class Limits:
    per_second: float = 30.0        # the bot, all chats together ...
    burst: int = 10                 # ... with this many at once
    per_chat: float = 1.0           # one chat, per second ...
    chat_burst: int = 2             # ... with this many at once
    group_per_minute: float = 20.0  # a group or channel (negative chat id)


class _Bucket:
    __slots__ = ("rate", "capacity", "tokens", "at")

    def __init__(self, rate: float, capacity: float, now: float):
        self.rate, self.capacity, self.tokens, self.at = rate, capacity, capacity, now

    def wait(self, now: float) -> float:
        """Seconds until a token is there (0: now)."""
        self.tokens = min(self.capacity, self.tokens + (now - self.at) * self.rate)
        self.at = now
        # within a rounding error of a whole token is one: otherwise the wait can shrink
        # below what the clock can add, and never end
        return 0.0 if self.tokens >= 1 - 1e-9 else (1 - self.tokens) / self.rate

    def take(self) -> None:
        self.tokens -= 1


class BotLimits:
    """One bot's buckets; ``acquire(chat)`` returns when a message to ``chat`` may go."""

    def __init__(self, limits: Limits = Limits()):
        self.limits = limits
        now = trio.current_time()
        self._bot = _Bucket(limits.per_second, max(1, limits.burst), now)
        self._chats: dict[str, _Bucket] = {}
        self._groups: dict[str, _Bucket] = {}
        self._paused_until = now

    def pause(self, seconds: float) -> None:
        """Telegram said 429: nothing from this bot for ``seconds``."""
        self._paused_until = max(self._paused_until, trio.current_time() + seconds)

    @property
    def paused(self) -> bool:
        return trio.current_time() < self._paused_until

    async def acquire(self, chat: int | str) -> None:
        key = str(chat)
        while True:
            now = trio.current_time()
            buckets = [self._bot, self._bucket(self._chats, key, self.limits.per_chat, self.limits.chat_burst, now)]
            if key.startswith("-"):
                per_minute = self.limits.group_per_minute
                buckets.append(self._bucket(self._groups, key, per_minute / 60, per_minute, now))
            wait = max([self._paused_until - now, *(b.wait(now) for b in buckets)])
            if wait <= 0:
                for b in buckets:
                    b.take()
                return
            await trio.sleep(wait)

    @staticmethod
    def _bucket(table: dict[str, _Bucket], key: str, rate: float, capacity: float, now: float) -> _Bucket:
        bucket = table.get(key)
        if bucket is None:
            bucket = table[key] = _Bucket(rate, capacity, now)
        return bucket
