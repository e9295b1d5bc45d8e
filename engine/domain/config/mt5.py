"""``[mt5]``: which module talks to which terminal, how to log in, and how orders are sent."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Mapping

from brokerclock import ServerZone

from engine.domain.times import clock_zone

MODULES = ("MetaTrader5", "mt5linux")
# The MetaTrader5 package exists for Windows only; elsewhere a terminal is reached through mt5linux.
DEFAULT_MODULE = "MetaTrader5" if sys.platform == "win32" else "mt5linux"


@dataclass(frozen=True)
class MT5Config:
    module: str = DEFAULT_MODULE     # MetaTrader5 (Windows) or mt5linux (Linux, terminal under Wine)
    path: str | None = None          # terminal64.exe; unset: the terminal already running
    login: int | None = None
    password: str | None = field(default=None, repr=False)  # or MOONHOOK_MT5_PASSWORD
    server: str | None = None
    host: str = "localhost"          # the RPyC server holding the package (mt5linux's)
    port: int = 18812
    timeout: float = 10.0            # seconds a call may take before the worker counts as hung
    init_timeout: float = 60.0       # initialize and login may take longer
    deviation: int = 10              # points a market order may slip
    magic_base: int = 7_770_000      # plugins' orders carry numbers above it, none another uses
    retries: int = 3                 # requotes and price changes, each with a fresh tick
    poll_seconds: float = 1.0        # deals, SL/TP hits and the connection checked this often
    resolve_seconds: float = 5.0     # how long an order with a lost answer is looked for
    symbol_suffix: str = ""          # "EURUSD" is "EURUSD.r" at this broker
    symbols: Mapping[str, str] = field(default_factory=dict)  # engine name -> broker name, over the suffix
    server_clock: str = "auto"       # the trade server's time zone: "auto", "GMT+2/+3 US", "GMT+2", an IANA name

    def __post_init__(self) -> None:
        if not self.module.strip():
            raise ValueError("mt5.module: expected a module name (MetaTrader5 or mt5linux)")
        for name in ("timeout", "init_timeout", "poll_seconds", "resolve_seconds"):
            if not getattr(self, name) > 0:
                raise ValueError(f"mt5.{name}: must be a positive number of seconds, got {getattr(self, name)!r}")
        if not 0 <= self.retries <= 20:
            raise ValueError(f"mt5.retries: expected 0 to 20, got {self.retries!r}")
        if not 0 <= self.deviation <= 10_000:
            raise ValueError(f"mt5.deviation: expected 0 to 10000 points, got {self.deviation!r}")
        server_zone(self.server_clock)

    def to_broker(self, symbol: str) -> str:
        return self.symbols.get(symbol) or symbol + self.symbol_suffix

    def from_broker(self, name: str) -> str:
        for ours, theirs in self.symbols.items():
            if theirs == name:
                return ours
        if self.symbol_suffix and name.endswith(self.symbol_suffix):
            return name[: -len(self.symbol_suffix)]
        return name



def server_zone(spec: str) -> ServerZone | None:
    """``mt5.server_clock`` read: None for "auto" (found from the broker's price history at
    connection), else the clock MetaTrader's times are written in. Raises ValueError naming
    the key."""
    return clock_zone(spec, "mt5.server_clock", auto=True)
