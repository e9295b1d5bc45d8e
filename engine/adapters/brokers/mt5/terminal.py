"""What the MT5 broker's readers need of the broker that owns them (MT5Broker is one): the deal
history (``history.py``), the look for a send whose answer was lost (``lost.py``), the tag
finder (``found.py``) and the pending orders' watch read through ``query``, write the book
through ``write`` and end a send with ``settle``."""

from __future__ import annotations

from typing import Any, Callable, Protocol

from engine.adapters.brokers.mt5.book import Book
from engine.adapters.brokers.mt5.clock import ServerClock
from engine.adapters.storage.untold import UntoldEvents
from engine.domain.config.mt5 import MT5Config
from engine.domain.orders import OrderResult


class Terminal(Protocol):
    book: Book
    config: MT5Config
    clock: Callable[[], float]
    server_clock: ServerClock
    alerts_seen: int
    alerts_journaled: int
    untold: UntoldEvents | None
    warnings: tuple[str, ...]

    async def query(self, fn: str, *args: Any, deadline: float | None = None, **kwargs: Any) -> Any: ...

    async def write(self, fn: Callable[..., Any], *args: Any) -> Any: ...

    async def settle(self, tag: str, result: OrderResult, stands: bool = False) -> OrderResult: ...
