"""The engine: an alert journaled, run through the plugins it concerns, executed at the broker.

``await engine.submit(alert)`` writes the alert durably and returns its id; the alert is then
processed in the background, in its symbol's lane: alerts for one symbol in arrival order,
different symbols side by side, one without a symbol (closeall) in order against all (``turns.py``).
An alert is done when its status is written; until then a restart processes it again, and the
broker's client ids make the second pass find the orders of the first instead of sending them again.
"""

from __future__ import annotations

import logging
import sqlite3
from contextlib import contextmanager, suppress
from functools import partial
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any, Awaitable, Callable, Collection, Iterator

import trio

from sandbox import Pool, SandboxError

from engine.domain.alerts import Alert, SymbolMap
from engine.adapters.brokers.base import Broker
from engine.domain.orders import BrokerError, Connection, Dropped, Event, Fill, Notice, Overturned, StopOut
from engine.domain.config import EngineConfig
from engine.domain.words import counted
from engine.core.metrics import Metrics
from engine.core.monitor import Monitor
from engine.adapters.notify import Notifier
from engine.adapters.storage import (AlertJournal, Database, MetaCache, OrderLedger, Outbox, PlanBook, PluginStore,
                                    Recorded, TrendBook)
from engine.core import expiry, following, reports
from engine.core.decide import Decider
from engine.core.desk import Desk
from engine.core.disk import Disk
from engine.core.event_queue import EventQueue
from engine.core.events import Events
from engine.core.hooks import Hooks
from engine.core.lanes import Lanes
from engine.core.lifecycle import Lifecycle
from engine.core.limits import HOUR, LimitWatch, Limits
from engine.core.loader import Loader
from engine.core.services import Host, OrderCaps
from engine.core.plugins import Plugin, failed_call
from engine.core.roster import PluginSet
from engine.core.scripts_folder import ScriptsFolder
from engine.core.stopouts import StopOuts
from engine.core.broker_wait import LeftForNextStart, wait_for_broker
from engine.core.run import DURABLE, RERUN, Journaled, NotJournaled, Run, current as _run, event_key, working
from engine.core.switchboard import Switchboard
from engine.core.turns import Turn, Turns
from engine.core.writer import JournalWriter

if TYPE_CHECKING:
    from engine.core.account_change import AccountChange
    from engine.core.shadow import Shadow

log = logging.getLogger("moonhook.engine")


class Engine:
    """Use ``open_engine``; the engine's tasks live in the nursery it opens."""
    account: AccountChange  # the account it trades on, compared again at each alert's turn (set by open_engine)

    def __init__(self, config: EngineConfig, database: Database, broker: Broker, pool: Pool,
                 nursery: trio.Nursery, clock: Callable[[], float], journal: Database | None = None):
        self.config = config
        self.database = database
        self.broker = broker
        self.pool = pool
        self.clock = clock
        self.events = Events(clock)  # what happens, for whoever listens (the dashboard)
        self.symbols = SymbolMap(config.symbol_map)
        # The journal has its own connection: its commits run in a thread, beside the rest.
        self.journal = AlertJournal(journal or database, config.dedup_window)
        self.writer = JournalWriter(self.journal)
        self.ledger = OrderLedger(database)
        self.store = PluginStore(database)
        self.trend = TrendBook(database)
        self.notifier = Notifier(Outbox(database), write=partial(self.writer.write, durable=False),
                                 throttle_seconds=config.telegram.throttle_seconds)
        self.deals_told = 0  # the broker's deals told so far: what reads the deal history knows it has changed
        self.monitor = Monitor(config.monitor, self.notifier, lambda: pool.worker_pids() + broker.helper_pids())
        self.stop_outs = StopOuts(self.notifier, self.events, self.writer, database)  # told once (``stopouts.py``)
        self.alarms: list[Callable[[str], Awaitable[None]]] = []  # said at once when the disk fails (not the outbox)
        self.plugins = PluginSet()
        self.metrics = Metrics(pool, config.monitor.lag_alert_ms, config.telegram.throttle_seconds)
        self.hooks = Hooks(pool, self.plugins, self._hook_failed, self.metrics, excused=lambda: not broker.connected)
        self.limits = Limits.of(config, clock, entered=self.ledger.entries_since(clock() - HOUR))
        self.desk = Desk(broker, self.hooks, database, self.ledger, self.notifier, self.monitor, self.metrics,
                         self.events, self.limits, paused=lambda: self.paused)
        self.limit_watch = LimitWatch(self.limits, broker, self.notifier, config.monitor.interval_seconds)
        self.decider = Decider(config, broker, self.hooks, self.desk, self._set_trend, clock, PlanBook(database))
        self.started = clock()
        self._nursery = nursery
        self._lanes = Lanes(nursery, self._lane_turn)  # a task a symbol, while it has alerts
        self._broker_events = EventQueue()
        self._turns = Turns()
        self._pending = 0
        self._idle = trio.Event()
        self._idle.set()
        self._stopping = trio.Event()
        self.disk = Disk(self.writer, self.alarms, nursery, self._stopping)
        # The pause and plugin switches kept from the last run: born paused if it was.
        self.switchboard = Switchboard(database, self.journal, self.writer, self.notifier, clock, self._enqueue,
                                       self.events)
        self.host = Host(market=broker, desk=self.desk, symbols=self.symbols, store=self.store, trend=self.trend,
                         durable=self.writer, notifier=self.notifier, clock=clock,
                         caps=OrderCaps.of(config, clock, placed=self.ledger.plugin_entries_since))
        loader = Loader(pool, self.plugins, MetaCache(database), database, self.symbols, self.host)
        self.lifecycle = Lifecycle(config, loader, self.hooks, self.notifier, self.switchboard, self.working, nursery,
                                   self.events, timers_run=lambda: broker.connected, follow=self.follow)
        self.scripts_folder = ScriptsFolder(self.lifecycle, self.plugins, self.notifier, clock)  # its saves, watched
        self.shadow: Shadow | None = None  # [shadow]: offered each alert once its status is written

    @property
    def paused(self) -> bool:
        """Alerts are journaled and answered, not processed (see ``pause``)."""
        return self.switchboard.paused

    # -- alerts in ------------------------------------------------------------------------

    async def submit(self, alert: Alert) -> Recorded:
        """Journals ``alert`` (durably: it survives a kill -9 once this returns) and queues it
        for processing, unless it repeats one already journaled.

        The alert is queued as soon as its entry has an id, and its plugins run while the
        commit's fsync runs in a thread; its effects wait for the commit (see ``Journaled``)."""
        received, now = perf_counter(), self.clock()
        paused = self.switchboard.arriving()
        gate = Journaled()
        told: list[int] = []  # the entry's id, once told as received

        def written(recorded: Recorded) -> None:  # before the commit
            if not paused:
                self.switchboard.enqueue(recorded.id, alert, received, gate, now)
            # Told now, before its plugins' work (an on_order veto does not wait for the commit).
            if self.events.listening:
                told.append(recorded.id)
                self.events.received(recorded.id, alert, "paused" if paused else "received")

        try:
            recorded = await self.writer.record(alert, now, "paused" if paused else "received", written)
        except BaseException as e:
            gate.settle(False)
            for alert_id in told:  # its commit failed: it ends here, never journaled
                self.events.publish("alert.finished", id=alert_id, symbol=alert.symbol,
                                    command=alert.action.value if alert.action else None, status="failed",
                                    latency_ms=round((perf_counter() - received) * 1000, 3),
                                    reason=f"not journaled: {e}")
            raise
        finally:
            self.switchboard.arrived(paused)
        gate.settle(True)
        self.metrics.recorded(recorded, paused)
        if recorded.other_content:  # told: a fixed id drops every alert after the first, exits too
            self.notifier.send("errors", reports.describe_repeated_id(recorded, alert, self.config.dedup_window),
                               key="repeat-id")
        if (paused or recorded.duplicate) and self.shadow is not None:  # final as journaled: held, or passed
            self.shadow.wake()
        return recorded

    def _enqueue(self, alert_id: int, alert: Alert, received: float, gate: Journaled = DURABLE,
                 received_at: float | None = None) -> None:
        """Queues an alert in its lane; its age at its turn is from ``received_at`` (``expiry.py``)."""
        if self._pending == 0:
            self._idle = trio.Event()
        self._pending += 1
        turn = self._turns.take(alert_id, alert.symbol)
        self._lanes.send(alert.symbol or "", (alert_id, alert, received, gate, received_at, turn))

    async def _lane_turn(self, alert_id: int, alert: Alert, received: float, gate: Journaled,
                         received_at: float | None, turn: Turn) -> None:
        # The next alert starts as soon as this one's status is queued: the writer commits in
        # order, and the alert counts as pending (see ``drain``) until its status is durable.
        try:
            async with turn:  # a closeall in the journal's order against every symbol's alerts
                status, outcome = await self._turn(alert_id, alert, received, gate, received_at)
        except NotJournaled:
            log.error("alert %d was not journaled (the write failed); nothing was done for it", alert_id)
            self._processed()
            return
        except LeftForNextStart:
            log.warning("alert %d is left for the next start: the broker is still lost", alert_id)
            self._processed()
            return
        except BrokerError as e:  # the broker answers, but cannot serve (misconfigured): said as it is
            log.error("alert %d: %s", alert_id, e)
            status, outcome = "failed", {"error": str(e)}
        except Exception:
            log.exception("alert %d could not be processed", alert_id)
            status, outcome = "failed", {"error": "internal error; see the engine's log"}
        written = partial(self._status_written, alert_id, alert, status, outcome, received, received_at)
        self.writer.set_status_soon(alert_id, status, outcome, written)

    async def _turn(self, alert_id: int, alert: Alert, received: float, gate: Journaled,
                    received_at: float | None) -> tuple[str, dict[str, Any]]:
        """The alert's status and outcome. With the broker disconnected (or a write failing: ``disk.py``)
        it waits for it, until the alert expires (the lane's later alerts behind it, in order), then
        runs again from the start: what was sent before is found by its client id, not sent twice."""
        lost: str | None = None  # what the alert waited for (the broker, the disk), and why
        expires = expiry.deadline(self.config, alert, received_at)
        failed = 0  # runs cut short by a disk error
        while True:
            stale = expiry.check(self.config, alert, received_at, self.clock())
            if stale is not None:  # too old now: nothing more runs for it; what an earlier run sent stands
                await gate.wait()
                return "expired", expiry.after(stale, lost, await self.desk.sent_before(alert_id))
            if (elsewhere := await self.account.elsewhere(alert_id, lost, gate)) is not None:
                return "skipped", elsewhere   # journaled for the account traded on before (the broker's is another)
            try:
                rerun = gate is RERUN or lost is not None   # its earlier run's orders are in the ledger
                with self.working(Run(alert_id, "alert", received, gate, expires=expires, rerun=rerun)) as run:
                    return await self._process(alert_id, alert, run)
            except BrokerError as e:
                if self.broker.connected:
                    raise
                lost = f"waiting for the broker ({e})"
                left = expiry.remaining(self.config, alert, received_at, self.clock())
                log.warning("alert %d waits for the broker (%s)%s", alert_id, e,
                            "" if left is None else f", at most {max(left, 0):.0f} s before it expires")
                await wait_for_broker(self.broker, left, self._stopping)
            except sqlite3.Error as e:  # a write failed: nothing unrecorded was sent (``disk.py``)
                lost, failed = f"waiting for the disk ({e})", failed + 1
                left = expiry.remaining(self.config, alert, received_at, self.clock())
                await self.disk.wait(alert_id, e, failed, left)  # raises ``e`` unless the disk failed

    def _status_written(self, alert_id: int, alert: Alert, status: str, outcome: dict[str, Any],
                        received: float, received_at: float | None, error: BaseException | None) -> None:
        if error is None:
            if self.shadow is not None:  # never waits: the shadow reads the journal when it can
                self.shadow.wake()
            self.metrics.alert(status)
            if self.events.listening:
                self.events.publish("alert.finished", id=alert_id, symbol=alert.symbol,
                                    command=alert.action.value if alert.action else None, status=status,
                                    latency_ms=round((perf_counter() - received) * 1000, 3),
                                    reason=reports.outcome_reason(outcome), plugins=reports.named_plugins(outcome))
            reports.log_alert(alert_id, alert, status, outcome)
            if status == "rejected":
                self.notifier.send("trades", reports.describe_rejection(alert_id, alert, outcome),
                                   key=f"rejected:{outcome['rejected_by']}")
            elif status == "expired":
                self.notifier.send("admin", expiry.describe(alert_id, alert, outcome), key="expired")
            elif status == "failed" and outcome.get("error"):   # nothing sent for it: said, as a refusal is
                self.notifier.send("trades", reports.describe_failure(alert_id, alert, outcome), key="failed")
        elif self.writer.trouble is not None:  # the disk: written once the journal writes again
            written = partial(self._status_written, alert_id, alert, status, outcome, received, received_at)
            return self.disk.rewrite(alert_id, error, partial(self.writer.set_status_soon, alert_id, status, outcome,
                                                              written), self._processed)
        else:  # the next start processes it again
            log.error("alert %d: %s; it is processed again at the next start", alert_id, error)
        self._processed()

    def _processed(self) -> None:
        self._pending -= 1
        if self._pending == 0:
            self._idle.set()

    def pause(self, by: str = "api", reason: str | None = None) -> None:
        """Alerts are journaled and answered, not processed, until a resume (``pause_engine``)."""
        self.switchboard.pause_engine(by, reason)

    async def resume(self, execute_missed: bool = False, by: str = "api", shown: Collection[int] | None = None) -> int:
        """Processes alerts again, and those paused if ``execute_missed``; returns how many it queued (HeldChanged)."""
        return await self.switchboard.resume_engine(execute_missed, by, shown)

    def set_enabled(self, name: str, enabled: bool, by: str = "api", reason: str | None = None) -> Plugin:
        """Switches a plugin on or off at once (its hooks, its timer), also after a restart, the
        breaker's switch too; ``by`` says who (api, telegram:<user id>). Raises KeyError."""
        return self.lifecycle.set_enabled(name, enabled, by, reason)

    async def follow(self, config: EngineConfig) -> list[str]:
        """The live settings of a saved moonhook.toml in force here and in the shadow
        (``following.py``); returns those that changed."""
        new = following.follow(self, config) + following.login(self, config)
        self.journal.dedup_window = self.config.dedup_window
        if "symbol_map" in new:
            await self.lifecycle.follow_symbols()
        if self.shadow is not None:
            await self.shadow.follow(self.config)
        return new

    async def drain(self) -> None:
        """Returns once every queued alert has been processed and every broker event queued
        has been told to the plugins (at a stop too: the deal history marks a deal read before
        it is told, so an event left in the queue would reach no plugin ever)."""
        while self._pending or self._broker_events.left:
            await self._idle.wait()
            await self._broker_events.told()

    # -- processing -----------------------------------------------------------------------

    async def _process(self, alert_id: int, alert: Alert, run: Run) -> tuple[str, dict[str, Any]]:
        """Runs the alert through its plugins and executes it (``decide.py``); returns its
        status and outcome once its journal entry is durable (raises NotJournaled if it never
        will be)."""
        status, outcome = await self.decider.decide(alert_id, alert, run)
        if run.first_call is not None:
            outcome["latency_ms"] = round((run.first_call - run.received) * 1000, 3)
        self.metrics.alert_timing(run)
        await run.journaled.wait()
        return status, outcome

    @contextmanager
    def working(self, run: Run) -> Iterator[Run]:
        """``run`` is what hook calls and orders are for meanwhile, on the plugins of the
        roster current now: a reload meanwhile does not change the versions it calls."""
        try:
            with working(self.plugins, run, self.account.trading):
                yield run
        finally:
            self.lifecycle.released()

    async def _set_trend(self, alert: Alert) -> None:
        # Planning reads only; a trend waits until the alert is durable, as an order does.
        await _run.get().journaled.wait()
        await self.database.writable()
        self.trend.set(alert.symbol, alert.timeframe, alert.state)

    # -- fills, closes, timers ------------------------------------------------------------

    def on_event(self, event: Event) -> None:
        """The broker's listener: queues a fill, close or connection change for ``broker_events``."""
        if isinstance(event, Fill):
            self.deals_told += 1
        self._broker_events.put(event, self.account.trading)   # its hooks' orders are for that account

    async def broker_events(self) -> None:
        """Runs ``on_fill``, ``on_close`` and ``on_cancel`` for the broker's events, in order; in the
        engine's nursery."""
        await self._broker_events.each(self._tell, self.broker.told)

    async def _tell(self, event: Event, account: str | None) -> None:
        if isinstance(event, (Connection, Notice)):
            return self.monitor.connection(event) if isinstance(event, Connection) else self.monitor.notice(event)
        if isinstance(event, Overturned):   # done after all: its record is asked again, no plugin told
            return await self.desk.overturned(event.client_id)
        if isinstance(event, StopOut):
            return await self.stop_outs.tell(event)
        if isinstance(event, Dropped):   # told, as a refused order is
            log.warning("%s", reports.describe_event(event))
            self.events.publish("order.dropped", **event.to_plain())
        elif isinstance(event, Fill):
            self.desk.filled(event)
        if not isinstance(event, Fill) or event.entry == "in" or event.left:  # a full close: by its Closed
            self.notifier.send("trades", reports.describe_event(event))
        with self.working(Run(None, event.hook[3:], key=event_key(event), account=account)) as run:
            for plugin in run.roster.concerned(event.symbol, event.hook):
                await self.hooks.call(plugin, event.hook, event.to_plain())
        await self.notifier.written()  # in the outbox before the broker forgets the event (``told``)
        if isinstance(event, Fill) and event.client_id:   # a close refused, executed later: its record too
            await self.desk.overturned(event.client_id)

    # -- plugins ----------------------------------------------------------------------------

    async def load(self, path: Path) -> Plugin:
        """Loads one script as a plugin, live at once (its last version replaced); raises PluginError."""
        return await self.lifecycle.load(path)

    async def unload(self, name: str) -> None:
        """Takes a plugin out of service; raises KeyError (see ``Lifecycle.unload``)."""
        await self.lifecycle.unload(name)

    def _hook_failed(self, plugin: Plugin, hook: str, message: str, kind: str) -> None:
        self.notifier.send("errors", f"plugin {plugin.name}: {hook} {failed_call(plugin, hook)}: {message}",
                           key=f"hook:{plugin.name}:{hook}")
        # ``error_kind``: the event's own ``kind`` is "plugin.error" (docs/dashboard.md says ``kind``)
        self.events.publish("plugin.error", plugin=plugin.name, hook=hook, error_kind=kind, message=message)
        self.lifecycle.hook_failed(plugin, self.config.breaker)

    # -- start and stop -----------------------------------------------------------------

    async def recover(self) -> int:
        """Queues every journaled alert not fully processed, oldest first (each expired if too
        old when its turn comes); returns how many. Paused, they are held as paused instead."""
        rows = await self.switchboard.recover(self.journal.unfinished())
        for row in rows:
            self._enqueue(row["id"], Alert.from_plain(row["alert"]), perf_counter(), RERUN, row["received_at"])
        if rows:
            log.warning("recovering %s journaled before a stop: %s", counted(len(rows), "alert"),
                        ", ".join(str(r["id"]) for r in rows[:20]) + (" ..." if len(rows) > 20 else ""))
        return len(rows)

    async def stop(self, timeout: float) -> None:
        """Finishes the alerts in flight (within ``timeout``; the rest are processed at the next
        start), unloads the plugins and flushes the notifier."""
        self.lifecycle.stop.set()  # no more reloads
        self._stopping.set()       # an alert waiting for a lost broker is left for the next start
        with trio.move_on_after(timeout) as scope:
            await self.drain()
        if scope.cancelled_caught:
            log.warning("stopping with %s unprocessed, for the next start", counted(self._pending, "alert"))
        for name in [p.name for p in self.plugins]:
            with trio.move_on_after(timeout), suppress(SandboxError):
                await self.unload(name)
        await self.notifier.aclose()

