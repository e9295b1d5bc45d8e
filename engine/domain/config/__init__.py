"""The engine's settings, as plain dataclasses with their embedded defaults.

Reading moonhook.toml into these is ``settings.py``'s job; here are the values and the
checks that do not depend on where they came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping

from brokerclock import ServerZone

from sandbox import MB, Budget

from engine.domain.alerts.symbols import SymbolMap
from engine.domain.config.hosts import host_entries
from engine.domain.config.mt5 import MT5Config
from engine.domain.config.paper import PaperConfig
from engine.domain.config.shadow import ShadowConfig
from engine.domain.config.telegram import TelegramConfig
from engine.domain.times import clock_zone

# What a plugin gets unless it asks otherwise, and the most it may ask for.
DEFAULT_BUDGET = Budget(instructions=2_000_000, timeout=0.1, memory=16 * MB)
BUDGET_LIMITS = Budget(instructions=50_000_000, timeout=1.0, memory=64 * MB)


@dataclass(frozen=True)
class PluginConfig:
    """``[plugins.NAME]``: switched off, parameters over the script's defaults, a budget."""

    enabled: bool = True
    params: Mapping[str, Any] = field(default_factory=dict)
    budget: Mapping[str, Any] = field(default_factory=dict)


BROKERS = ("paper", "mt5")
MAX_BODY = 64 * 1024  # the largest webhook body accepted (TradingView's are far smaller)
MAX_SESSION_HOURS = 720  # 30 days: a longer login is a password written down


@dataclass(frozen=True)
class ServerConfig:
    """``[server]``: where the webhook listens and what it asks of callers. ``secret`` and
    ``api_token`` have no default: without a secret every webhook is refused (401), without
    a token the API is."""

    host: str = "127.0.0.1"
    port: int = 8080
    secret: str | None = None
    api_token: str | None = None
    allow_ips: tuple[str, ...] = ()        # empty: any address
    trusted_proxies: tuple[str, ...] = ()  # whose X-Forwarded-For is believed
    hosts: tuple[str, ...] = ()            # names answered besides IP addresses and localhost (config/hosts.py)
    max_body: int = MAX_BODY
    max_connections: int = 512             # open at once; one more waits up to 2 s for room, then is closed
    max_connections_per_ip: int = 128      # of those, from one address (web/per_address.py for who is exempt)
    session_hours: float = 12              # how long a dashboard login lasts (docs/dashboard.md)
    dashboard_edit: bool = True            # whether the dashboard may save scripts

    @property
    def secrets(self) -> tuple[str, ...]:
        """The secrets an alert may carry by mistake, never kept in one (``domain/alerts/secrets.py``)."""
        return tuple(s for s in (self.secret, self.api_token) if s)

    def __post_init__(self) -> None:
        hours = self.session_hours
        if isinstance(hours, bool) or not (isinstance(hours, (int, float)) and 0 < hours <= MAX_SESSION_HOURS):
            raise ValueError(f"server.session_hours: must be a number of hours above 0 and at most "
                             f"{MAX_SESSION_HOURS}, got {hours!r}")
        host_entries(self.hosts)
        if not isinstance(self.dashboard_edit, bool):
            raise ValueError(f"server.dashboard_edit: must be true or false, got {self.dashboard_edit!r}")

    def __repr__(self) -> str:  # the secrets never reach a log through a repr
        return (f"ServerConfig(host={self.host!r}, port={self.port}, secret={'***' if self.secret else None}, "
                f"api_token={'***' if self.api_token else None}, allow_ips={self.allow_ips!r}, "
                f"trusted_proxies={self.trusted_proxies!r}, hosts={self.hosts!r}, "
                f"session_hours={self.session_hours!r}, dashboard_edit={self.dashboard_edit!r})")


@dataclass(frozen=True)
class MonitorConfig:
    """``[monitor]``: when the engine tells the administrators it is in trouble."""

    latency_alert_ms: float = 1000.0   # an alert's receipt to its broker call took longer
    memory_alert_mb: float = 500.0     # resident memory of the engine and its sandbox workers
    interval_seconds: float = 10.0     # how often memory and the money limits are looked at
    lag_alert_ms: float = 100.0        # the event loop woke this late: logged with the task that held it

    def __post_init__(self) -> None:
        for name in ("latency_alert_ms", "memory_alert_mb", "interval_seconds", "lag_alert_ms"):
            if not getattr(self, name) > 0:
                raise ValueError(f"monitor.{name}: must be a positive number, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class EngineConfig:
    scripts: Path = Path("scripts")
    data: Path = Path("data")
    broker: str = "paper"            # paper | mt5
    execute_alerts: bool = True      # run the default execution for accepted alerts
    dedup_window: float = 60.0       # seconds within which the same id (or content) is a repeat
    default_volume: float | None = None  # for an entry with neither volume nor risk
    # Sandbox worker processes. Hook calls run one at a time (see engine/core/hooks.py), so one
    # worker, kept busy, answers faster than two that take turns waking up; the warm spare
    # still replaces a dead one in milliseconds.
    workers: int = 1
    # The breaker: a plugin failing this many hook calls in a row (errors or budget
    # overruns) is switched off until its file is saved again or the API enables it; 0: never.
    breaker: int = 5
    # An alert older than this (seconds from its receipt) when its turn comes, at recovery after
    # a stop or at a resume with the missed alerts, is expired, not executed; 0: no limit. An
    # alert's own ``ttl`` can shorten it, never lengthen it.
    max_alert_age: float = 120.0
    expire_closes: bool = True       # closes, stop changes and cancels expire too (an old close can be as wrong)
    # Orders one plugin may place for one alert, timer tick or broker event: a script looping
    # over orders.market by mistake places that many, not thousands.
    max_plugin_orders: int = 20
    # Entries one plugin may place in any minute from its timers and broker-event hooks: a script
    # opening an entry from each of its own fills (each a new event) stops there, not at hundreds a second.
    max_plugin_entries_per_minute: int = 30
    # The account's hard limits (core/limits.py), on every entry whoever places it; None: none.
    max_order_volume: float | None = None    # lots in one order
    max_open_positions: int | None = None    # positions and pending orders open at the broker
    max_price_gap_pct: float | None = None   # the broker's price from a market entry's asked price, in %
    max_daily_loss_pct: float | None = None  # the trading day's loss, in % of the balance it began with
    min_equity: float | None = None          # entries refused while the equity is at or under it
    max_risk_pct: float | None = None        # what one entry may lose at its stop, in % of the balance
    max_entries_per_hour: int | None = None  # entries the broker made in the last hour
    # The widest spread (pips) a market entry is sent at, by symbol, "*" for the rest; {}: none.
    max_spread_pips: Mapping[str, float] = field(default_factory=dict)
    max_spread_wait: float = 0.0   # seconds a market entry waits for a wide spread to narrow; 0: refused at once
    # The clock whose midnight begins the trading day: the daily loss limit's and the views' "today".
    trading_day: str = "UTC"
    default_budget: Budget = DEFAULT_BUDGET
    budget_limits: Budget = BUDGET_LIMITS
    symbol_map: Mapping[str, str] = field(default_factory=dict)
    plugins: Mapping[str, PluginConfig] = field(default_factory=dict)
    paper: PaperConfig = field(default_factory=PaperConfig)
    telegram: TelegramConfig = field(default_factory=TelegramConfig)
    mt5: MT5Config = field(default_factory=MT5Config)
    monitor: MonitorConfig = field(default_factory=MonitorConfig)
    shadow: ShadowConfig = field(default_factory=ShadowConfig)

    def __post_init__(self) -> None:
        if not self.dedup_window >= 0:
            raise ValueError(f"engine.dedup_window: must be 0 or more seconds, got {self.dedup_window!r}")
        if self.default_volume is not None and not self.default_volume > 0:
            raise ValueError(f"engine.default_volume: must be a positive volume, got {self.default_volume!r}")
        if self.max_order_volume is not None and not self.max_order_volume > 0:
            raise ValueError(f"engine.max_order_volume: must be a positive volume, got {self.max_order_volume!r}")
        if self.max_open_positions is not None and (isinstance(self.max_open_positions, bool) or not (
                isinstance(self.max_open_positions, int) and self.max_open_positions >= 1)):
            raise ValueError(f"engine.max_open_positions: must be a whole number, 1 or more, "
                             f"got {self.max_open_positions!r}")
        if self.max_price_gap_pct is not None and not (0 < self.max_price_gap_pct <= 100):
            raise ValueError(f"engine.max_price_gap_pct: must be a percent above 0, at most 100, "
                             f"got {self.max_price_gap_pct!r}")
        if self.max_daily_loss_pct is not None and not (0 < self.max_daily_loss_pct < 100):
            raise ValueError(f"engine.max_daily_loss_pct: must be a percent above 0, under 100, "
                             f"got {self.max_daily_loss_pct!r}")
        if self.max_entries_per_hour is not None and (isinstance(self.max_entries_per_hour, bool) or not (
                isinstance(self.max_entries_per_hour, int) and self.max_entries_per_hour >= 1)):
            raise ValueError(f"engine.max_entries_per_hour: must be a whole number, 1 or more, "
                             f"got {self.max_entries_per_hour!r}")
        if self.max_risk_pct is not None and not (0 < self.max_risk_pct <= 100):
            raise ValueError(f"engine.max_risk_pct: must be a percent above 0, at most 100, got {self.max_risk_pct!r}")
        if self.min_equity is not None and not self.min_equity > 0:
            raise ValueError(f"engine.min_equity: must be an amount above 0, got {self.min_equity!r}")
        for symbol, pips in self.max_spread_pips.items():
            if isinstance(pips, bool) or not (isinstance(pips, (int, float)) and 0 < pips < float("inf")):
                raise ValueError(f"engine.max_spread_pips.{symbol}: must be a number of pips above 0, got {pips!r}")
        if isinstance(self.max_spread_wait, bool) or not (isinstance(self.max_spread_wait, (int, float))
                                                           and 0 <= self.max_spread_wait <= 600):
            raise ValueError(f"engine.max_spread_wait: must be 0 to 600 seconds, got {self.max_spread_wait!r}")
        if self.max_alert_age and self.max_spread_wait > self.max_alert_age:
            raise ValueError(f"engine.max_spread_wait: {self.max_spread_wait:g} s is longer than engine.max_alert_age "
                             f"({self.max_alert_age:g} s): an entry would be sent older than its alert may be; "
                             "raise max_alert_age with it")
        clock_zone(self.trading_day, "engine.trading_day")
        try:
            symbols = SymbolMap(self.symbol_map)
        except ValueError as e:  # a name no broker has: refused with the file, not at the first alert
            raise ValueError(f"engine.{e}") from None
        self._check_spread_symbols(symbols)
        if self.broker == "mt5":
            self._check_mt5_symbols(symbols)
        if self.broker not in BROKERS:
            raise ValueError(f"engine.broker: expected one of {', '.join(BROKERS)}, got {self.broker!r}")
        if isinstance(self.breaker, bool) or not (isinstance(self.breaker, int) and 0 <= self.breaker <= 1000):
            raise ValueError(f"engine.breaker: must be an integer from 0 (off) to 1000, got {self.breaker!r}")
        if isinstance(self.max_alert_age, bool) or not (isinstance(self.max_alert_age, (int, float))
                                                        and 0 <= self.max_alert_age < float("inf")):
            raise ValueError(f"engine.max_alert_age: must be 0 (no limit) or more seconds, got {self.max_alert_age!r}")
        if not isinstance(self.expire_closes, bool):
            raise ValueError(f"engine.expire_closes: must be true or false, got {self.expire_closes!r}")
        if isinstance(self.max_plugin_orders, bool) or not (isinstance(self.max_plugin_orders, int)
                                                            and 1 <= self.max_plugin_orders <= 1000):
            raise ValueError("engine.max_plugin_orders: must be an integer from 1 to 1000, "
                             f"got {self.max_plugin_orders!r}")
        per_minute = self.max_plugin_entries_per_minute
        if isinstance(per_minute, bool) or not (isinstance(per_minute, int) and 1 <= per_minute <= 10_000):
            raise ValueError("engine.max_plugin_entries_per_minute: must be an integer from 1 to 10000, "
                             f"got {self.max_plugin_entries_per_minute!r}")
        if not (isinstance(self.workers, int) and 1 <= self.workers <= 64):
            raise ValueError(f"engine.workers: must be an integer from 1 to 64, got {self.workers!r}")

    def _check_spread_symbols(self, symbols: SymbolMap) -> None:
        """``max_spread_pips`` is looked up by the name an entry is sent on (``Limits.spread_for``,
        in any case): a key no entry is ever sent on (TradingView's ``OANDA:XAUUSD``, a ticker
        ``symbol_map`` maps to another name, MetaTrader's ``EURUSD.r``) would hold none to its limit."""
        seen: dict[str, str] = {}
        for key in self.max_spread_pips:
            if (first := seen.setdefault(key.upper(), key)) != key:  # looked up in any case: one would be dropped
                raise ValueError(f"engine.max_spread_pips.{key}: {first} and {key} are one symbol (read in any case): "
                                 "keep one")
            if key == "*":
                continue
            written = self.mt5.from_broker(key) if self.broker == "mt5" else key
            try:
                sent = symbols.normalize(written)
            except ValueError:
                raise ValueError(f"engine.max_spread_pips.{key}: not a symbol (letters, digits and . _ - #)") from None
            if sent.upper() != key.upper():
                raise ValueError(f"engine.max_spread_pips.{key}: an entry on it is sent as {sent}, the name the "
                                 f"limit is looked up by: write {sent}")

    def _check_mt5_symbols(self, symbols: SymbolMap) -> None:
        """``mt5.symbols`` is looked up by the engine's name for a symbol, exactly: a key it never
        names (``xauusd``, a ticker ``symbol_map`` maps to another name) would send that symbol's
        orders to the broker's symbol of the same name, not to the one the key names."""
        mapped = set(self.symbol_map.values())
        for key in self.mt5.symbols:
            try:
                named = key if key in mapped else symbols.normalize(key)
            except ValueError:
                raise ValueError(f"mt5.symbols.{key}: not a symbol (letters, digits and . _ - #)") from None
            if named != key:
                raise ValueError(f"mt5.symbols.{key}: the engine names this symbol {named}, and finds its "
                                 f"broker's name by it: write {named}")

    @cached_property
    def day_zone(self) -> ServerZone:
        """The clock whose midnight begins the trading day (``trading_day``)."""
        return clock_zone(self.trading_day, "engine.trading_day")

    @property
    def database(self) -> Path:
        return self.data / "moonhook.db"

    @property
    def shadow_database(self) -> Path:
        """The shadow's own file beside the journal: its paper broker, its plugins' stores, its
        records. The live journal is never written by the shadow."""
        return self.data / "moonhook-shadow.db"

    def plugin(self, name: str) -> PluginConfig:
        return self.plugins.get(name) or PluginConfig()


@dataclass(frozen=True)
class Settings:
    """Everything moonhook.toml configures (``[telegram]`` and ``[monitor]`` live in ``engine``)."""

    server: ServerConfig = field(default_factory=ServerConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
