"""``open_engine``: the composition root. It opens the journal, the broker and the sandbox
pool, builds the engine from them, starts every background task in one nursery it owns,
and starts the interfaces it is given (Telegram) as ``Service``s.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager, nullcontext
from functools import partial
from pathlib import Path
from typing import AsyncIterator, Callable, Collection, Protocol, Sequence

import httpx
import trio

from sandbox import PoolDidNotStart, open_pool

from engine.adapters.brokers import PaperBroker, open_broker
from engine.adapters.brokers.base import Broker
from engine.adapters.storage import AlertJournal, Database, FolderInUse, SchemaError, claim
from engine.adapters.storage.switches import Switches
from engine.app.operations import Operations
from engine.core import Engine
from engine.core.account_change import AccountChange
from engine.core.execution import entry_ids
from engine.core.shadow import Shadow
from engine.core.unsettled import Settler
from engine.core.watch import watch as watch_files
from engine.domain.config import EngineConfig


# This machine's own addresses are called directly, never through a proxy of the environment (HTTP_PROXY): one
# elsewhere cannot reach them, and would be handed every URL, a bot's token in each (a Bot API server run here).
DIRECT = {f"all://{host}": None for host in ("127.0.0.1", "localhost", "[::1]")}


SHADOW_NICE = 10  # the shadow's worker, below the engine and its live workers

# What open_engine raises before anything was done (no alert taken, no order sent): a start
# refused, which `moonhook run` says in one line.
REFUSED = (FolderInUse, SchemaError, PoolDidNotStart)


class Service(Protocol):
    """An interface the engine runs for its whole life (Telegram's bots): started once the
    engine is built, stopped after its alerts are drained, so what they say is delivered."""

    async def run(self, ops: Operations, http: httpx.AsyncClient,
                  task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None: ...

    async def stop(self) -> None: ...


def number_past(journal: AlertJournal, broker: Broker, shadow: Shadow | None) -> None:
    """Alerts are numbered past every id the broker's records (``Broker.alerts_seen``, read again
    at each connection) and the shadow's file have seen. Both live outside the journal: restored
    from a backup, it would number its alerts again from the backup's, and a new alert would meet
    an old one's orders under its tags, and the shadow's record of it (docs/operations.md). The
    broker is told which alerts were journaled before this start (``Broker.alerts_journaled``)."""
    shadow_top = shadow.records.highest() if shadow is not None else 0
    journal.floor = lambda: max(broker.alerts_seen, shadow_top)
    broker.alerts_journaled = journal.last_id()


async def adopt_numbers(engine: Engine) -> None:
    """The broker is told the client ids an alert's entry may have had from the plugins loaded now
    (read at each connection from here on), and takes back what its records outside the journal say
    is theirs: after a restore, MetaTrader's magic number of a plugin whose first order came after
    the backup. Before recovery runs an alert again or a plugin trades: their orders go under it."""
    engine.broker.entry_ids = lambda alert_id: entry_ids(alert_id, [p.name for p in engine.plugins],
                                                         engine.host.caps.orders)
    await engine.broker.adopt()


@asynccontextmanager
async def open_engine(config: EngineConfig = EngineConfig(), *, broker: Broker | None = None,
                      clock: Callable[[], float] = time.time, stop_timeout: float = 10.0,
                      watch: bool = False, settings_file: Path | None = None,
                      reload_settings: Callable[[], EngineConfig] | None = None,
                      settings_waiting: Callable[[], list[str]] | None = None,
                      services: Sequence[Service] = (), secrets: Collection[str] = ()) -> AsyncIterator[Engine]:
    """Opens the database, the broker (paper unless given) and the sandbox pool, loads
    every script, recovers unfinished alerts, and yields the running engine. On exit, the
    alerts in flight finish (within ``stop_timeout``), the ``services`` stop, and everything
    is closed.

    With ``watch``, saves in the scripts folder reload their plugins, and saves of
    ``settings_file`` apply its ``[plugins.NAME]`` tables, as ``reload_settings()`` reads them
    (``load_settings(saved=True)``: a file holding no settings is refused, not read as the defaults);
    ``settings_waiting()`` names the settings outside ``[engine]`` that read changed (they wait
    for the next start, and the save's message says so).
    No interface starts unless given: ``[telegram]`` takes effect through the
    ``engine.interfaces.telegram.TelegramHub`` passed in ``services`` (``moonhook run`` passes
    it), so a throwaway engine (``moonhook check``) never polls the bots' updates. ``secrets``
    (the webhook's secret, the API token) are written ``***`` in any alert the services parse.
    With ``[shadow]``, its scripts run beside the live ones on a paper broker over a file of
    their own (``engine.shadow``; docs/shadow.md), reloaded on saves with ``watch``.
    Raises FolderInUse, before anything is opened, when another engine runs on the same data
    folder, what opening the database or starting the broker raises, and PoolDidNotStart when
    the sandbox's workers die as they start (a second time: sandbox/start.py)."""
    # First: a second engine on the same journal would send orders twice (storage/claim.py).
    with claim(config.data):
        # Made durable by the journal's fsyncs; the WAL is checkpointed by the journal writer's thread.
        database = Database(config.database, fsync=False, autocheckpoint=False)
        journal = Database(config.database, shared_lock=False, turn=database.turn, autocheckpoint=False)
        broker = broker or open_broker(config.broker, database, config.paper, config.mt5, clock)
        # The shadow's file: its checkpoints run in its task's thread calls (see Shadow).
        shadow_database = (Database(config.shadow_database, fsync=False, autocheckpoint=False)
                           if config.shadow.enabled else None)
        http = httpx.AsyncClient(limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
                                 mounts=DIRECT)
        try:
            await broker.start()
            # The shadow's worker is its own: a shadow script that wedges or kills its worker
            # never takes the live plugins' calls with it, and live folds never queue behind its.
            # It runs below the engine's priority: the live alerts come first for the cores.
            shadow_workers = open_pool(workers=1, spares=0, nice=SHADOW_NICE) if shadow_database else nullcontext()
            async with http, open_pool(workers=config.workers) as pool, shadow_workers as shadow_pool, \
                    trio.open_nursery() as nursery:
                engine = Engine(config, database, broker, pool, nursery, clock, journal)
                if shadow_database is not None:
                    engine.shadow = Shadow(config, shadow_pool, PaperBroker(shadow_database, config.paper, clock),
                                           shadow_database, AlertJournal(database), clock, idle=engine.drain,
                                           paused=lambda: engine.paused, live_price=broker.price)
                    engine.switchboard.skipped = engine.shadow.wake   # it holds them no longer
                    engine.lifecycle.neighbours = lambda: engine.shadow.plugins   # [plugins.NAME] reach them too
                engine.account = account = AccountChange(engine, Switches(database), nursery)
                engine.switchboard.recheck = account.recheck
                engine.desk.elsewhere = account.refusal   # a timer's or an event's orders from the account left
                account.listen(broker)  # another account's events left untold: its history, not the plugins'
                await nursery.start(broker.run, name=f"broker {broker.name}")
                number_past(engine.journal, broker, engine.shadow)
                # Read before this run places any order: those a crash left; then each answered unknown.
                settler = Settler(database, engine.ledger, broker, engine.events, engine.notifier)
                engine.desk.left_unknown = settler.unknown
                nursery.start_soon(settler.run, engine.ledger.unknown_not_run_again(), name="orders left unknown")
                nursery.start_soon(engine.writer.run, name="journal writer")
                nursery.start_soon(engine.notifier.run, name="notifier")
                nursery.start_soon(engine.lifecycle.retirer, name="plugin retirer")
                nursery.start_soon(engine.monitor.run, name="monitor")
                nursery.start_soon(engine.limit_watch.run, name="limit watch")
                nursery.start_soon(engine.metrics.lag.run, name="lag monitor")
                ops = Operations(engine, secrets)
                for service in services:
                    await nursery.start(partial(service.run, ops, http), name=type(service).__name__)
                if watch:
                    lifecycle = engine.lifecycle
                    lifecycle.settings = (settings_file, reload_settings) if settings_file and reload_settings else None
                    lifecycle.elsewhere = settings_waiting
                    await nursery.start(partial(watch_files, lifecycle.folders(), lifecycle.watched,
                                                engine.scripts_folder.changed, lifecycle.stop), name="file watcher")
                await engine.lifecycle.load_all()
                await adopt_numbers(engine)
                # Only now: what the broker tells at its start (a stop hit while moonhook was
                # stopped) reaches the plugins' on_close, not a roster still empty.
                nursery.start_soon(engine.broker_events, name="broker events")
                if engine.shadow is not None:
                    await nursery.start(partial(engine.shadow.run, watch), name="shadow")
                await account.settle(broker)  # another account's alerts: not traded here
                await engine.recover()
                try:
                    yield engine
                finally:
                    with trio.CancelScope(shield=True):
                        await engine.stop(stop_timeout)
                        broker.stopping()   # what is cancelled from here on is the stop's doing
                        for service in services:
                            await service.stop()
                    nursery.cancel_scope.cancel()
        finally:
            with trio.CancelScope(shield=True):
                await broker.stop()
            journal.close()
            database.close()
            if shadow_database is not None:
                shadow_database.close()
