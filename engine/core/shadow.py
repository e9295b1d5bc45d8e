"""Shadow mode: another folder of scripts run live, beside the real ones, on a private broker.

The shadow follows the live journal: each time a live alert's status is written the engine
wakes it (``wake``: never a wait), and it runs the alerts after its cursor whose status is
final, in the journal's order, up to the first still in flight. So it never skips an alert,
however far behind a burst leaves it, and after a restart it goes on where it stopped. An
alert journaled while paused is held (in the shadow's file) until a resume that runs the
missed alerts decides it live, and run then, before the alerts after it. Each
runs through the shadow scripts as a ``Trial`` (``trial.py``: the engine's own decisions, on
the shadow's paper broker and books), is compared with the live outcome (``differences.py``)
and recorded in the shadow's own file (``ShadowRecords``, with the cursor).

What keeps it apart from the live engine:

- its scripts' services (``Trial.host``) and its decisions see only its own broker, desk,
  store and trend book: nothing it does can reach the real broker or the live journal;
- its plugins run in a sandbox worker of their own (``compose.py``), in a plugin set, hook
  chains and lifecycle of their own: a save in its folder reloads them as a
  live save does, their errors never trip the live breaker nor notify the administrators, and
  are logged once per plugin at WARNING, named as the shadow's (``_ShadowLog``);
- it waits for the live engine to be idle before each alert, so the live path goes first.
"""

from __future__ import annotations

import logging
import math
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import replace
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable, Iterator

import trio

from engine.adapters.brokers.base import Broker
from engine.adapters.storage import UNFINISHED, AlertJournal, Database, MetaCache
from engine.adapters.storage.shadow import ShadowRecords
from engine.core.differences import differences
from engine.core.events import Events
from engine.core.hooks import Pool
from engine.core import following
from engine.core.lifecycle import Lifecycle
from engine.core.limits import HOUR
from engine.core.loader import Loader
from engine.core.plugins import Plugin
from engine.core.roster import PluginSet
from engine.core.run import Run, event_key
from engine.core.run import current as current_run
from engine.core.trial import Trial
from engine.core.watch import watch as watch_files
from engine.domain.alerts import Alert
from engine.domain.config import EngineConfig
from engine.domain.orders import BrokerError, Closed, Dropped, Event, Fill
from engine.domain.words import counted

log = logging.getLogger("moonhook.shadow")

BATCH = 50                            # journal rows read at a time
CHECKPOINT_EVERY = 200                # records between two checkpoints of the shadow file's WAL
DECIDED = frozenset({"done", "rejected", "failed", "expired"})  # what live decided: the shadow runs these
_LOGGERS = ("moonhook.hooks", "moonhook.plugins", "moonhook.watch")  # the chains', lifecycle's and watcher's lines

_in_shadow: ContextVar[bool] = ContextVar("moonhook_shadow", default=False)


class _ShadowLog(logging.Filter):
    """On the hook chains' and the lifecycle's loggers, the lines of the shadow's tasks: named
    as the shadow's ("shadow: plugin x ..."), at most WARNING, and a plugin's failed hooks
    told once (its count is in /api/shadow). Live lines pass untouched."""

    def __init__(self) -> None:
        super().__init__()
        self._told: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if not _in_shadow.get():
            return True
        if record.name == "moonhook.hooks" and record.levelno >= logging.WARNING:
            plugin = record.args[0] if isinstance(record.args, tuple) and record.args else None
            if plugin in self._told:
                return False
            self._told.add(str(plugin))
            record.msg = f"{record.msg} (its next failures are counted in /api/shadow, not logged)"
        record.msg = f"shadow: {record.msg}"
        if record.levelno > logging.WARNING:
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


class _Quiet:
    """The shadow tells no one: its failures are not the administrators' notifications."""

    def send(self, channel: str, text: str, key: str | None = None) -> None:
        pass


class _NoSwitches:
    """The shadow's plugins keep no switch across restarts (the live switchboard is the live ones')."""

    def loaded(self, new: Plugin, replaced: list[Plugin]) -> None:
        pass

    def switched(self, plugin: Plugin, enabled: bool, by: str, reason: str | None = None) -> None:
        pass

    def deleted(self, file: str) -> None:
        pass

    def scripts_at_start(self, files: set[str]) -> None:
        pass

    def not_loaded_at_start(self, file: str, error: str, guard: bool) -> None:
        pass  # a shadow guard missing trades nothing: the live engine goes on

    def served_last(self, name: str) -> str | None:
        return None

    def name_clash_at_start(self, name: str, files: list[str], guard: bool) -> None:
        pass


class Shadow:
    """The shadow of a live engine: scripts from ``config.shadow.scripts`` deciding on
    ``broker`` (a paper broker over ``database``, the shadow's own file), loaded into ``pool``.
    ``idle()`` returns once the live engine has no alert in flight. Use ``run`` in the
    engine's nursery."""

    def __init__(self, config: EngineConfig, pool: Pool, broker: Broker, database: Database, journal: AlertJournal,
                 clock: Callable[[], float], idle: Callable[[], Awaitable[None]] | None = None,
                 paused: Callable[[], bool] = lambda: False,
                 live_price: Callable[[str], Awaitable[dict[str, Any] | None]] | None = None):
        """``journal``: the live journal, read (never written) on the event loop; ``paused()``:
        whether the live engine is paused; ``live_price``: the live broker's ``price``."""
        assert config.shadow.scripts is not None
        self.config = replace(config, scripts=config.shadow.scripts)
        self.folder = config.shadow.scripts
        self.pool, self.broker, self.database, self.clock = pool, broker, database, clock
        self.journal = journal
        self.records = ShadowRecords(database)
        self.plugins = PluginSet()
        self._live_paused, self._live_price = paused, live_price
        self.trial = Trial(self.config, pool, self.plugins, broker, database, clock, report=self._hook_failed,
                           logs="moonhook.shadow.plugin", entered=self.records.entries_since(clock() - HOUR),
                           paused=self._paused, kept=self.records)
        self.lifecycle: Lifecycle | None = None  # made by ``run``, in its nursery
        self.cursor = 0                           # the last live alert id looked at (set by ``run``)
        self.ran = 0                              # alerts run since the start
        self._idle = idle
        self._woken = trio.Event()
        self._events_send, self._events_recv = trio.open_memory_channel[Event](math.inf)

    async def follow(self, config: EngineConfig) -> None:
        """The live settings of ``config`` (the live engine's, after a save) in force here too;
        the shadow's scripts that name symbols the map now names otherwise are loaded again."""
        new = following.follow(self.trial, config)
        self.config = self.trial.config
        if "symbol_map" in new and self.lifecycle is not None:
            await self.lifecycle.follow_symbols()

    # -- alerts in ------------------------------------------------------------------------------

    def wake(self) -> None:
        """A live alert's status is written: the shadow looks at the journal. Never a wait."""
        self._woken.set()

    @property
    def missing(self) -> bool:
        """Whether the shadow's folder is gone (deleted or moved while running): its scripts are
        unloaded until it is back (its watcher loads them again then)."""
        return not self.folder.is_dir()

    @property
    def behind(self) -> int:
        """How many live alerts the shadow has not looked at yet."""
        return max(self.journal.last_id() - self.cursor, 0)

    # -- the task ---------------------------------------------------------------------------------

    async def run(self, watch: bool = False, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Loads the shadow's scripts (and, with ``watch``, reloads them on saves), then runs
        the live alerts as they are decided, one at a time, until cancelled. Started once its
        scripts are loaded."""
        _in_shadow.set(True)  # for this task and every task it starts (timers, the watcher)
        named = _ShadowLog()
        for name in _LOGGERS:
            logging.getLogger(name).addFilter(named)
        await self.broker.start()
        try:
            async with trio.open_nursery() as nursery:
                loader = Loader(self.pool, self.plugins, MetaCache(self.database), self.database,
                                self.trial.symbols, self.trial.host)
                lifecycle = self.lifecycle = Lifecycle(self.config, loader, self.trial.hooks, _Quiet(),  # type: ignore[arg-type]
                                                       _NoSwitches(), self._working, nursery,
                                                       Events(self.clock))
                self.broker.listen(self._event)
                await nursery.start(self.broker.run, name="shadow broker")
                nursery.start_soon(lifecycle.retirer, name="shadow plugin retirer")
                self.folder.mkdir(parents=True, exist_ok=True)
                if watch:
                    await nursery.start(partial(watch_files, lifecycle.folders(), lifecycle.watched, self._changed,
                                                lifecycle.stop), name="shadow file watcher")
                await lifecycle.load_all()
                log.info("shadow: %s from %s", counted(len(self.plugins), "plugin"), self.folder)
                nursery.start_soon(self._broker_events, name="shadow broker events")
                task_status.started()
                await self._alerts()
        finally:
            for name in _LOGGERS:
                logging.getLogger(name).removeFilter(named)
            with trio.CancelScope(shield=True):
                await self.broker.stop()

    async def _changed(self, paths: set[Path]) -> None:
        """Saves in the shadow's folder, applied; the folder gone (deleted, or moved, which tells
        none of its files) unloads every script of it, as each file deleted would."""
        folder = self.lifecycle.config.scripts
        if folder in paths:
            paths = paths | {p.path for p in self.plugins} | {folder / name for name in self.lifecycle.errors}
        await self.lifecycle.changed(paths)

    async def _alerts(self) -> None:
        self.cursor = self.records.cursor(self.journal.last_id())
        while True:
            self._woken = trio.Event()   # before looking: a status written meanwhile wakes it again
            if not await self._catch_up():
                await self._woken.wait()

    async def _catch_up(self) -> bool:
        """Runs the live alerts after the cursor whose status is final, oldest first, up to
        the first still in flight; whether the cursor moved."""
        moved = await self._held()
        if moved is None:
            return False
        for row in self.journal.after(self.cursor, BATCH):
            if row["status"] in UNFINISHED:
                break   # its status comes later, and wakes the shadow
            if row["status"] in DECIDED:
                await self._run(row)
            elif row["status"] == "paused":
                self.records.hold(row["id"])
            else:   # a duplicate: nothing was decided live
                self.records.passed(row["id"])
            self.cursor, moved = row["id"], True
        return moved

    async def _held(self) -> bool | None:
        """Runs the held alerts a resume has decided since, oldest first; whether any ran, None
        while one is in flight (the shadow waits for it, as live runs them first)."""
        held = self.records.held()
        # A resume takes every paused alert, oldest first: while the oldest is paused, all are.
        if not held or _status(self.journal.get(held[0])) == "paused":
            return False
        moved = False
        for alert_id in held:
            row = self.journal.get(alert_id)
            status = _status(row)
            if status in UNFINISHED:
                return None
            if row is not None and status in DECIDED:
                await self._run(row)
                moved = True
            elif status != "paused":
                self.records.release(alert_id)
        return moved

    async def _run(self, row: dict[str, Any]) -> None:
        if self._idle is not None:
            await self._idle()  # the live path first: its next alert never waits behind a whole shadow one
        alert_id, alert, live_status = row["id"], Alert.from_plain(row["alert"]), row["status"]
        live_outcome = row["outcome"] or {}
        # An alert live took in time is run as fresh; one it expired expires here too.
        received_at = row["received_at"] if live_status == "expired" else None
        try:
            await self._quote_live(alert)
            # Requests kept and no record: a kill cut its run, which sent them (or was about to).
            rerun = bool(self.records.requests(alert_id))
            status, outcome = await self.trial.alert(alert_id, alert, received_at, rerun)
        except Exception:
            log.exception("shadow: alert %d could not be run", alert_id)
            status, outcome = "failed", {"error": "internal error; see the engine's log"}
        finally:
            self._released()
        found = differences(live_status, live_outcome, status, outcome)
        await self.database.writable()
        self.records.add(alert_id, self.clock(), alert.symbol, live_status, status, outcome, found)
        self.ran += 1
        if self.ran % CHECKPOINT_EVERY == 0:  # its fsyncs in a thread, never on the loop
            await trio.to_thread.run_sync(self.database.checkpoint)

    async def _quote_live(self, alert: Alert) -> None:
        """The live broker's price, quoted on the shadow's, for an alert that brings none (a text
        alert on MetaTrader 5): live trades it at that price, and the shadow's paper broker knows
        only the prices alerts bring (none, without this: every such alert failed there)."""
        if self._live_price is None or not alert.symbol or alert.market_price is not None:
            return
        try:
            live = await self._live_price(alert.symbol)
        except BrokerError:   # live cannot say now: the shadow's last price stands
            return
        if live and live.get("bid"):
            await self.broker.quote(alert.symbol, live["bid"], self.clock())

    def _paused(self) -> bool:
        """Live's pause holds the shadow's timers and broker-event hooks as it holds live's: no
        entry. Not its alerts: each is one live decided (one journaled while paused is held)."""
        run = current_run.get()
        return self._live_paused() and (run is None or run.origin != "alert")

    def _hook_failed(self, plugin: Plugin, hook: str, message: str, kind: str) -> None:
        """The shadow's own breaker, as live: what the next version would do live includes it."""
        if self.lifecycle is not None:
            self.lifecycle.hook_failed(plugin, self.config.breaker)

    def _event(self, event: Event) -> None:
        if isinstance(event, (Fill, Closed, Dropped)):
            self._events_send.send_nowait(event)

    async def _broker_events(self) -> None:
        """``on_fill``, ``on_close`` and ``on_cancel`` of the shadow's plugins, for its own broker's events."""
        async for event in self._events_recv:
            for plugin in self.plugins.concerned(event.symbol, event.hook):
                await self.trial.call(plugin, event.hook, event.to_plain(), origin=event.hook[3:], key=event_key(event))
            self.broker.told(event)
            self._released()

    @contextmanager
    def _working(self, run: Run) -> Iterator[Run]:
        """The trial's ``working``, then a retiring plugin may be free (as ``Engine.working``)."""
        try:
            with self.trial.working(run) as held:
                yield held
        finally:
            self._released()

    def _released(self) -> None:
        if self.lifecycle is not None:
            self.lifecycle.released()

    # -- views ------------------------------------------------------------------------------------

    def plugin_rows(self) -> list[dict[str, Any]]:
        """The shadow's plugins: serving ones with their version (``version``: the source's
        hash), then the files none of whose versions serves, with why."""
        rows = [{"name": p.name, "file": p.path.name, "state": p.state, "loaded": True, "version": p.version,
                 "calls": p.stats.calls, "errors": p.stats.errors + p.stats.timeouts,   # budget overruns too
                 "error": p.reload_error or p.stats.last_error}
                for p in self.plugins]
        served = {row["file"] for row in rows}
        errors = self.lifecycle.errors if self.lifecycle is not None else {}
        rows += [{"name": None, "file": file, "state": "failed", "loaded": False, "version": None, "calls": 0,
                  "errors": 0, "error": error} for file, error in sorted(errors.items()) if file not in served]
        return rows


def _status(row: dict[str, Any] | None) -> str | None:
    return row["status"] if row is not None else None
