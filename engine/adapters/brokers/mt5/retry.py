"""When the MT5 broker tries to connect again after a failed try (``Session.connect``, ``MT5Broker.run``).

A terminal out of reach (Wine restarted, the trade server's maintenance) comes back by itself: it is tried
again within seconds, doubling to once a minute. A login MetaTrader refuses ("Authorization failed", -6, for a
wrong login, password or server alike) does not fix itself, and brokers lock an account or an address after
repeated failed logins: it is tried again after minutes, doubling to once an hour (some 28 tries a day, not
1,440), so that a login refused for the server's own reasons (a refusal it gives while it restarts) is still
found again without a restart. The two kinds keep their own steps: a terminal restarted between two refusals does
not bring the refusals back to minutes. A connection found resets both.
"""

from __future__ import annotations

import math
import time
from typing import Callable

import trio

from engine.domain.orders import BrokerError


class LoginRefused(BrokerError):
    """MetaTrader refused the login (-6): a wrong login, password or server, which it does not tell apart."""


NETWORK = (1.0, 60.0)       # seconds: the first wait after a failure to reach the terminal, and the longest
REFUSED = (300.0, 3600.0)   # seconds: the same after a refused login


class Retry:
    def __init__(self, clock: Callable[[], float] = time.time):
        """``clock``: the wall's, for the time of the next try said to the trader (the waits are trio's)."""
        self._clock = clock
        self.due = -math.inf         # trio time at which the next try may be made
        self.refusals = 0            # logins refused in a row, since the last connection
        self._steps = {False: NETWORK[0], True: REFUSED[0]}
        self._now = trio.Event()     # set to try at once (``now``)

    async def turn(self) -> None:
        """Returns once the next try is due, or asked for at once (``now``)."""
        with trio.move_on_at(self.due):
            await self._now.wait()
        self._now = trio.Event()

    def now(self) -> None:
        """The next try is made at once (a corrected login saved), not when it was due."""
        self.due = -math.inf
        self._now.set()

    def failed(self, error: BrokerError) -> str:
        """A try failed with ``error``: the next one is due after its kind's wait, which then doubles. Returns
        what the trader is told of the next try after a refused login (appended to its message), else ""."""
        refused = isinstance(error, LoginRefused)
        first, cap = REFUSED if refused else NETWORK
        wait = self._steps[refused]
        self._steps[refused] = min(cap, wait * 2)
        self.due = trio.current_time() + wait
        if not refused:
            return ""
        self.refusals += 1
        at = time.strftime("%H:%M", time.gmtime(self._clock() + wait))
        count = "once" if self.refusals == 1 else f"{self.refusals} times in a row"
        return (f"; refused {count}; the next try at {at} UTC "
                f"(in {wait / 60:g} min), then less often, up to once an hour, as brokers lock an account after "
                "repeated failed logins: save it corrected in moonhook.toml, or restart moonhook, to try at once")

    @property
    def wait(self) -> float:
        """Seconds until the next try is due (0: now)."""
        return max(0.0, self.due - trio.current_time())

    def later(self) -> str:
        """The wait until the next try, in words: "1 s", "5 min"."""
        wait = self.wait
        return f"{wait / 60:.0f} min" if wait >= 120 else f"{wait:.0f} s"

    def connected(self) -> None:
        """A connection was made: the next failure is tried again after its kind's first wait."""
        self.due, self.refusals = -math.inf, 0
        self._steps = {False: NETWORK[0], True: REFUSED[0]}
