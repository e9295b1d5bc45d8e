"""What one plugin may place, whatever its script does: ``engine.max_plugin_orders`` orders for
one alert, timer tick or broker event, and ``engine.max_plugin_entries_per_minute`` entries in
any minute from its timers and broker-event hooks. The first stops a loop inside one run; the
second what it cannot see: a script that opens an entry from each of its own fills (each fill a
new event: hundreds of positions a second on paper). An alert's entries are not counted in the
second: alerts come from outside, a bar's close may bring a burst of them, and each has the
first. Past either, ``orders.*`` raises in the script: its hook fails, and the breaker
(``engine.breaker``) switches a plugin that goes on off.

Minutes are the engine's clock (the replayed one in a replay). Both follow a saved moonhook.toml.
The minute's entries are read back from the order ledger at a start: a restart (a crash, a
service restarting the engine) does not let a looping script begin its minute again.
"""

from __future__ import annotations

from collections import deque
from typing import Callable, Iterable

from sandbox import HostError

from engine.core.run import current, placed
from engine.domain.config import EngineConfig
from engine.domain.orders import OPENING

MINUTE = 60.0


class OrderCaps:
    def __init__(self, orders: int = 20, entries_per_minute: int = 30):
        self.orders, self.entries_per_minute = orders, entries_per_minute
        self._entries: dict[str, deque[float]] = {}   # plugin -> when its entries of the last minute were placed

    @classmethod
    def of(cls, config: EngineConfig, clock: Callable[[], float] | None = None,
           placed: Callable[[float], Iterable[tuple[str, float]]] | None = None) -> "OrderCaps":
        """``placed(since)``: which plugin placed each entry from its timers and broker events
        since then, and when (the ledger's, at a start), counted on ``clock``'s last minute."""
        caps = cls(config.max_plugin_orders, config.max_plugin_entries_per_minute)
        if clock is not None and placed is not None:
            for plugin, at in placed(clock() - MINUTE):
                caps._entries.setdefault(plugin, deque()).append(at)
        return caps

    def follow(self, config: EngineConfig) -> None:
        self.orders, self.entries_per_minute = config.max_plugin_orders, config.max_plugin_entries_per_minute

    def take(self, plugin: str, kind: str, fn: str, clock: Callable[[], float]) -> None:
        """Counts ``plugin``'s order of ``kind`` about to be placed by ``fn`` (an entry from a
        timer or an event, in the minute's); raises HostError, counting nothing, past a cap."""
        if placed(plugin) >= self.orders:
            raise HostError(f"{fn}: refused: {self.orders} orders already placed by this plugin for this "
                            "alert, timer tick or event (engine.max_plugin_orders)")
        run = current.get()
        if kind not in OPENING or (run is not None and run.alert_id is not None):
            return
        now = clock()
        times = self._entries.setdefault(plugin, deque())
        while times and (times[0] <= now - MINUTE or times[0] > now):  # a clock stepped back forgets them
            times.popleft()
        if len(times) >= self.entries_per_minute:
            raise HostError(f"{fn}: refused: {self.entries_per_minute} entries already placed by this plugin in the "
                            "last minute from its timers and broker events (engine.max_plugin_entries_per_minute): "
                            "a script opening entries from its own fills or timers in a loop stops here")
        times.append(now)
