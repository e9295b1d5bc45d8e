"""MetaTrader's times in UTC, and UTC in MetaTrader's.

Every time the terminal gives (a tick's, a deal's, a position's opening) is the trade server's
wall clock written as epoch seconds, and the dates it is asked for are read the same way. Most
brokers run GMT+2 in winter and GMT+3 in summer: read as UTC, a position opened now was opened
in two or three hours, a script's "open for 4 hours" is wrong by as much, and a history asked
from a UTC time starts hours off (before it, for a broker behind UTC: the deals of those hours
are missed).

``mt5.server_clock`` names the clock, or "auto" (the default) finds it at the first connection
from a forex major's hourly bars: the forex week ends on Friday at 17:00 in New York, so where
the server's week ends tells its offset, week by week, and the weeks of March and November tell
whose daylight saving it follows (brokerclock does the reading). Without bars it is measured
from a live tick (then fixed: a switch of daylight saving is not seen until the next start).
Unknown, times are left as the server writes them, and the session warns.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, Awaitable, Callable

import brokerclock
from brokerclock import ServerZone

from engine.domain.config.mt5 import MT5Config, server_zone
from engine.domain.times import from_server

log = logging.getLogger("moonhook.mt5")

MAJORS = ("EURUSD", "GBPUSD", "USDJPY", "AUDUSD", "USDCHF", "USDCAD")  # the forex week's hours
BARS = 6_500        # hourly bars: a year of forex weeks, both switches of daylight saving in it
TIMEFRAME_H1 = 16_385  # the package's TIMEFRAME_H1
PREFERRED = ("America/New_York", "Europe/London", "Australia/Sydney", "UTC")  # on a tie: the commonest first

Call = Callable[..., Awaitable[Any]]


class ServerClock:
    """The trade server's clock: ``zone`` None while unknown (times pass unchanged)."""

    def __init__(self, zone: ServerZone | None, how: str):
        self.zone = zone
        self.how = how  # said in the log: set in the config, found from bars, measured, unknown

    @classmethod
    def of(cls, config: MT5Config) -> "ServerClock":
        zone = server_zone(config.server_clock)
        return cls(zone, "mt5.server_clock") if zone is not None else cls(None, "not found yet")

    @property
    def known(self) -> bool:
        return self.zone is not None

    def utc(self, server_time: float) -> float:
        """A time the terminal gave, as Unix time."""
        if self.zone is None or not server_time:
            return float(server_time)
        return from_server(server_time, self.zone)

    def server(self, unix_time: float) -> int:
        """A Unix time as the terminal reads a date."""
        if self.zone is None:
            return int(unix_time)
        return self.zone.server_timestamp(datetime.fromtimestamp(unix_time, timezone.utc))

    def __str__(self) -> str:
        return f"{self.zone} ({self.how})" if self.zone is not None else "unknown"


async def find(call: Call, config: MT5Config, now: float) -> ServerClock:
    """The server's clock from a major's hourly bars, else measured from a fresh tick, else
    unknown. ``call`` is the session's (raises what it raises: the connection lost)."""
    ticks: list[float] = []
    for major in MAJORS:
        name = config.to_broker(major)
        if not await call("symbol_select", name, True):
            continue
        rates = await call("copy_rates_from_pos", name, TIMEFRAME_H1, 0, BARS) or ()
        tick = await call("symbol_info_tick", name)
        if tick:
            ticks.append((tick.get("time_msc") or tick["time"] * 1000) / 1000)
        try:
            found = brokerclock.detect([int(r["time"]) for r in rates], timeframe=3600)
        except brokerclock.NotEnoughData:
            continue
        zone = found.zone or min(found.candidates, key=lambda z: (PREFERRED.index(z.zone)
                                                                    if z.zone in PREFERRED else len(PREFERRED)))
        clock = ServerClock(zone, f"found from {major}'s hourly bars, {found.matched} of {found.total} weeks"
                                  + (", the commonest of the clocks they fit" if found.zone is None else ""))
        _confirm(clock, ticks, now)
        return clock
    try:
        offset = brokerclock.measure_offset(ticks, now) if ticks else None
    except brokerclock.BrokerClockError as e:
        log.warning("MetaTrader 5: the server's clock cannot be measured from a tick: %s", e)
        offset = None
    if offset is None:
        return ServerClock(None, "unknown")
    return ServerClock(ServerZone.fixed(offset.total_seconds() / 3600),
                       "measured from a tick; a switch of daylight saving is seen at the next start")


def _confirm(clock: ServerClock, ticks: list[float], now: float) -> None:
    try:
        if ticks:
            brokerclock.check(clock.zone, ticks, now)
    except brokerclock.ZoneMismatchError as e:
        log.warning("MetaTrader 5: the server clock %s does not fit its last tick (%s); set mt5.server_clock",
                    clock, e)
