"""A trial: alerts run through a set of plugins on a broker of their own, the live engine's way
(``decide.py``: the same chains, default execution and order checks) but with none of its
books: no journal, ledger, notifications, metrics or events. Replay runs a trial over recorded
alerts on a simulated broker; shadow mode runs one beside the live engine on a private paper
broker. Nothing a trial does can reach the live broker: its scripts' services are bound to
the trial's broker, store and desk (``Trial.host``).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator

from engine.adapters.brokers.base import Broker
from engine.adapters.storage import Database, PluginStore, TrendBook
from engine.core import expiry
from engine.core.decide import Decider
from engine.core.desk import Kept, PlainDesk, Placed
from engine.core.hooks import Hooks, Pool, Reporter
from engine.core.limits import Limits
from engine.core.plugins import Plugin
from engine.core.roster import PluginSet
from engine.core.run import Run, working
from engine.core.services import Host, OrderCaps
from engine.domain.alerts import Alert, SymbolMap
from engine.domain.config import EngineConfig
from engine.domain.orders import BrokerError

class _Quiet:
    """Metrics and notifications of a trial: none (it has no dashboard or bot of its own)."""

    def hook(self, plugin: Plugin, hook: str, seconds: float) -> None:
        pass

    def failed(self, plugin: Plugin, hook: str, kind: str) -> None:
        pass

    def send(self, channel: str, text: str, key: str | None = None) -> None:
        pass


class _AtOnce:
    """A trial's durable writes (``store.set``, ``trend.set``): committed at once in the
    trial's own database."""

    def __init__(self, database: Database):
        self._database = database

    async def write(self, fn: Callable[[Any], Any]) -> None:
        with self._database.transaction() as db:
            fn(db)


class Trial:
    """The plugins of ``plugins`` (loaded into ``pool`` with ``host``'s services), deciding
    on ``broker``; their stores and trends are kept in ``database``, the trial's own.
    ``report(plugin, hook, message, kind)`` is told of each failed hook call;
    ``placed(request, result, record)`` of each order; ``logs`` names its scripts' loggers
    (``logs.<plugin name>``); ``entered``, when the last hour's entries were made (a shadow's
    after a restart); while ``paused()``, no entry is made (a shadow's, while live is paused);
    ``kept``: where its desk keeps an alert's requests for a run of it again (``PlainDesk``)."""

    def __init__(self, config: EngineConfig, pool: Pool, plugins: PluginSet, broker: Broker, database: Database,
                 clock: Callable[[], float], report: Reporter | None = None, placed: Placed | None = None,
                 logs: str = "moonhook.plugin", entered: Iterable[float] = (),
                 paused: Callable[[], bool] = lambda: False, kept: Kept | None = None):
        self.config = config
        self.pool = pool
        self.plugins = plugins
        self.broker = broker
        self.database = database
        self.clock = clock
        self.store = PluginStore(database)
        self.trend = TrendBook(database)
        quiet = _Quiet()
        self.hooks = Hooks(pool, plugins, report or (lambda *_: None), quiet)
        # A replay's spreads are [paper]'s, which no wait narrows (and its clock is not the wall's).
        self.limits = Limits.of(config, clock, waits=False, entered=entered)
        self.desk = PlainDesk(broker, self.hooks, placed, self.limits, paused, kept)
        self.decider = Decider(config, broker, self.hooks, self.desk, self._set_trend, clock)
        self.symbols = SymbolMap(config.symbol_map)
        # The services the trial's scripts are given: bound to its broker, desk and books.
        self.host = Host(market=broker, desk=self.desk, symbols=self.symbols, store=self.store, trend=self.trend,
                         durable=_AtOnce(database), notifier=quiet, clock=clock, logs=logs,  # type: ignore[arg-type]
                         caps=OrderCaps.of(config))

    async def _set_trend(self, alert: Alert) -> None:
        self.trend.set(alert.symbol, alert.timeframe, alert.state)

    @contextmanager
    def working(self, run: Run) -> Iterator[Run]:
        """``run`` is what hook calls and orders are for meanwhile, on the plugins now in service."""
        with working(self.plugins, run):
            yield run

    async def alert(self, alert_id: int, alert: Alert, received_at: float | None,
                    rerun: bool = False) -> tuple[str, dict[str, Any]]:
        """The alert's status and outcome as the engine would journal them (expired when too
        old at ``clock()``; without ``received_at``, run as received now); ``rerun``: an earlier
        run of it was cut (``Run.rerun``). A broker that cannot serve fails the alert, as live."""
        stale = expiry.check(self.config, alert, received_at, self.clock())
        if stale is not None:
            return "expired", stale
        # When it expires, as live knows it: an entry's wait for a wide spread ends then, and says so.
        expires = expiry.deadline(self.config, alert, self.clock() if received_at is None else received_at)
        with self.working(Run(alert_id, "alert", stamp=int(self.clock() * 1e9), expires=expires, rerun=rerun)) as run:
            try:
                return await self.decider.decide(alert_id, alert, run)
            except BrokerError as e:
                return "failed", {"plugins": [], "orders": run.orders, "error": str(e)}

    async def call(self, plugin: Plugin, hook: str, *args: Any, origin: str = "timer", key: str | None = None) -> None:
        """Runs one hook of ``plugin`` (``on_timer``, ``on_fill``, ``on_close``) as the engine
        does, orders placed meanwhile named after ``key`` (a broker event's, ``run.event_key``:
        told again after a kill, its hooks find their orders at the broker), else after ``origin``
        and the trial's clock."""
        with self.working(Run(None, origin, stamp=int(self.clock() * 1e9), key=key)):
            await self.hooks.call(plugin, hook, *args)
