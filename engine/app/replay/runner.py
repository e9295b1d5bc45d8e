"""The replay loop (issue 22): recorded alerts, oldest first, through a folder of scripts,
decided as the live engine decides (a ``Trial``: the same chains, default execution and
services) on the simulated paper account (``Book``), everything on the replayed clock.

The scripts run in the real sandbox with their budgets, in this process
(``sandbox.inline``): no worker processes, no fsync, the scripts' stores in an in-memory
SQLite database. A repeat within ``engine.dedup_window`` (``repeat_key``: the same id, or
the same content) is a duplicate and is not run again, as live.

The clock is the alert's receipt time while it runs: ``time.now``, ``os.time()``, an alert's
age against ``engine.max_alert_age``, the orders' fill times. A plugin's ``on_timer`` runs at
its interval from the first alert on, before the alerts after it, and on to the end of the bars;
it sees the bars that have ended by then, not the close of the one under way. ``on_fill`` runs for every
deal the book makes and ``on_close`` for every position it closes fully (by an order, a stop
or a target), with what the paper broker would tell (``Book.events``), after the alert or bar
that made them.
"""

from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Mapping, Sequence

from sandbox.inline import InlinePool

from engine.adapters.storage import Database, MetaCache, repeat_key
from engine.app.replay.alerts import RecordedAlert, journaled
from engine.app.replay.broker import BookBroker
from engine.app.replay.fills import Book
from engine.app.replay.prices import Bar
from engine.app.replay.problems import Problem
from engine.app.replay.records import Covered
from engine.app.replay.report import Decision, Fault, Order, Outcome, Unexecuted, when
from engine.core.script_files import digest, scripts_in
from engine.core.loader import Loader, NameTaken
from engine.core.plugins import Plugin, PluginError, breaker_trips
from engine.core.roster import PluginSet
from engine.core.reports import describe_event
from engine.core.trial import Trial
from engine.domain.alerts import AlertError, parse_value, read_body
from engine.domain.config import EngineConfig
from engine.domain.orders import Dropped, Fill, OrderRequest, OrderResult

BUDGET_KINDS = ("instructions", "timeout", "memory")
RESULTS = {"pass": "pass", "changed": "changed", "rejected": "rejected", "error": "error"}  # on_alert step -> report


class ReplayError(Exception):
    """The replay cannot start: a script that does not load (file:line: what); ``file``: the file
    the text begins with (None when it begins with none), for a caller replaying two folders to
    name its folder."""

    def __init__(self, message: str, file: str | None = None):
        super().__init__(message)
        self.file = file


class Clock:
    """The replayed time: where the replay stands, in Unix seconds."""

    def __init__(self, now: float = 0.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@dataclass
class _Timer:
    plugin: Plugin
    due: float
    every: float


Progress = Callable[[int], None]   # told how many alerts are done, after each


async def replay(config: EngineConfig, scripts: Path, alerts: Sequence[RecordedAlert],
                 bars: Mapping[str, Sequence[Bar]] | None = None, *, label: str | None = None,
                 problems: Sequence[Problem] = (), progress: Progress | None = None,
                 timer_every: float | None = None, strict: bool = False, secrets: Sequence[str] = (),
                 baseline: Path | None = None) -> Outcome:
    """What the scripts of ``scripts`` do with ``alerts`` (oldest first) on a paper account
    set up by ``config.paper`` with ``bars`` (by symbol); ``timer_every``: no ``on_timer``
    more often than that many seconds. Raises ReplayError for a script that does not load, and
    with ``strict`` for an alert whose body is not one (else skipped, one of the problems); a
    script's errors and overruns while replaying are in the outcome. ``secrets`` (the webhook's secret,
    the API token) are written ``***`` in the alerts read, as the webhook does: an alert log holds them.
    ``baseline``: the folder ``scripts`` is compared with (``--compare``); its files load first (see
    ``_load``)."""
    clock = Clock(alerts[0].time if alerts else 0.0)
    database = Database(":memory:", fsync=False)
    try:
        return await _Replay(config, clock, database, bars or {}, label or scripts.name, problems, timer_every,
                             strict, secrets).run(scripts, alerts, progress, baseline)
    finally:
        database.close()


class _Replay:
    def __init__(self, config: EngineConfig, clock: Clock, database: Database, bars: Mapping[str, Sequence[Bar]],
                 label: str, problems: Sequence[Problem], timer_every: float | None = None, strict: bool = False,
                 secrets: Sequence[str] = ()):
        self.config, self.clock, self.strict, self.secrets = config, clock, strict, tuple(secrets)
        self.book = Book(config.paper, bars)
        self.has_bars = any(bars.values())
        self.broker = BookBroker(self.book, clock)
        self.originals: dict[str, tuple[float, str]] = {}   # repeat key -> when and where its last original came
        self.serial = 0                          # the alerts run: their ids
        self.database = database
        self.out = Outcome(problems=list(problems), scripts=label, timer_every=timer_every)
        self.current: str | None = None   # the alert in hand (its where), for faults and orders
        self.trial = Trial(config, InlinePool(clock=clock), PluginSet(), self.broker, database, clock,
                           report=self._fault, placed=self._placed)
        self.symbols = self.trial.symbols
        self.timers: list[_Timer] = []
        self._told = 0   # the book's events the plugins were told of

    async def run(self, scripts: Path, alerts: Sequence[RecordedAlert], progress: Progress | None,
                  baseline: Path | None = None) -> Outcome:
        await self._load(scripts, baseline)
        with _long_lived():
            return await self._run(alerts, progress)

    async def _run(self, alerts: Sequence[RecordedAlert], progress: Progress | None) -> Outcome:
        if alerts:
            self.out.start, self.out.end = alerts[0].time, alerts[-1].time
        for done, recorded in enumerate(alerts, 1):
            await self._until(recorded.time)
            await self._alert(recorded)
            if progress is not None:
                progress(done)
        end = self.book.prices_end
        if alerts and end is not None and end > self.clock.now:
            await self._until(end)   # timers go on while prices do: a stop trailed, an order expired
        self.book.finish()
        await self._events()
        self.out.alerts, self.out.replayed = len(alerts), self.serial
        self.out.trades = list(self.book.closed_trades)
        self.out.equity = [(p.time, p.balance) for p in self.book.equity]
        self.out.open = self.book.open_positions
        self.out.waiting = self.book.pending_orders
        self.out.prices_simulated = self.has_bars and self.book.stops_simulated
        self.out.without_prices = self.book.without_prices if self.has_bars else []
        return self.out

    async def _load(self, scripts: Path, baseline: Path | None) -> None:
        """Loads each script, by name; those the same in ``baseline`` first: they serve live, and
        a changed or new file naming a plugin one of them serves is the one refused, named first,
        as the live engine refuses the save (a draft alpha.lua naming demo.lua's plugin)."""
        if not scripts.is_dir():
            raise ReplayError(f"{scripts}: no such folder of scripts")
        loader = Loader(self.trial.pool, self.trial.plugins, MetaCache(self.database), self.database,
                        self.symbols, self.trial.host)
        sources = {path: path.read_bytes() for path in scripts_in(scripts)}
        for path, source in sorted(sources.items(), key=lambda item: not _same(baseline, *item)):
            self.current = None
            try:
                plugin = await loader.load(self.config, path, source, digest(source))
            except NameTaken as e:
                holder = scripts / e.holder
                if holder in sources and _same(baseline, holder, sources[holder]) == _same(baseline, path, source):
                    raise ReplayError(_clash(e.name, [holder, path])) from None
                raise ReplayError(str(e), e.file) from None   # a draft naming a plugin a file serving has
            except PluginError as e:
                raise ReplayError(str(e), e.file) from None
            self.trial.plugins.swap(add=plugin)
            if plugin.meta.every and "on_timer" in plugin.hooks:
                every = max(plugin.meta.every, self.out.timer_every or 0.0)
                self.timers.append(_Timer(plugin, self.clock.now + every, every))

    async def _until(self, t: float) -> None:
        """The timers due before ``t``, in time order (a tie by plugin name), each at its time."""
        while True:
            due = [timer for timer in self.timers if timer.due < t and timer.plugin.enabled]
            if not due:
                break
            timer = min(due, key=lambda x: (x.due, x.plugin.name))
            self.clock.now = timer.due
            self.book.advance(timer.due, ended=True)
            await self._events()
            self.current = None
            self.broker.in_timer = True
            try:
                await self.trial.call(timer.plugin, "on_timer")
            finally:
                self.broker.in_timer = False
            timer.due += timer.every
        self.clock.now = t
        self.book.advance(t)
        await self._events()

    async def _alert(self, recorded: RecordedAlert) -> None:
        self.current = recorded.where
        try:
            alert = (journaled(json.loads(recorded.body), self.secrets) if recorded.plain
                     else parse_value(read_body(recorded.body), self.symbols, self.secrets))
        except AlertError as e:
            if self.strict:   # a malformed row, as --strict refuses one the files' readers find
                raise ReplayError(f"{recorded.where}: not an alert: {e}") from None
            self.out.problems.append(Problem(recorded.where, f"not an alert: {e}"))
            return
        key = repeat_key(alert)
        first = self.originals.get(key)
        if first is not None and recorded.time - first[0] <= self.config.dedup_window:
            # a repeat, as the journal takes one: not run again, and said, or the count of alerts hides it
            self.out.problems.append(Problem(recorded.where, f"a repeat of {first[1]} within engine.dedup_window "
                                             f"({self.config.dedup_window:g} s): a duplicate, not run, as live"))
            return
        self.originals[key] = (recorded.time, recorded.where)
        self.serial += 1
        self.out.alert_names[self.serial] = recorded.where   # what its trades' alert_id name
        outside = len(self.book.outside)
        if alert.symbol and (inside := self.book.check_inside(alert.symbol, recorded.time)) is not None:
            self.out.covered.setdefault(alert.symbol, Covered()).add(recorded.time, inside)
        with self.broker.deciding():
            status, outcome = await self.trial.alert(self.serial, alert, recorded.time)
        if status in ("failed", "expired"):   # as the journal would keep it, with why
            self.out.unexecuted.append(Unexecuted(recorded.where, status, _why(outcome)))
        for step in outcome.get("plugins") or ():
            result = RESULTS[step["result"]]
            self.out.decisions.append(Decision(recorded.where, step["plugin"], result,
                                               _detail(step) if result != "pass" else ""))
        for o in self.book.outside[outside:]:
            edge = "" if o.edge is None else \
                f" ({when(o.edge)})" if o.time < o.edge else f" (it ends at {when(o.edge)})"
            self.out.problems.append(Problem(recorded.where, f"{o.symbol}: at {when(o.time)}, {o.what}{edge}"))
        await self._events()

    async def _events(self) -> None:
        """``on_fill``, ``on_close`` and ``on_cancel`` for each of the book's events since the last
        call, in order (as the engine's ``broker_events``); what their orders make is told after them."""
        events, current = self.book.events, self.current
        while self._told < len(events):
            event = events[self._told]
            self._told += 1
            if isinstance(event, Dropped):   # a problem of the replay, as live tells it, and on_cancel
                self.out.problems.append(Problem(current or "timer", describe_event(event)))
            # what its faults and orders are for
            self.current = (f"on_fill of deal {event.deal}" if isinstance(event, Fill)
                            else f"{event.hook} of {event.ticket}")
            for plugin in self.trial.plugins.concerned(event.symbol, event.hook):
                await self.trial.call(plugin, event.hook, event.to_plain(), origin=event.hook[3:])
        self.current = current

    def _fault(self, plugin: Plugin, hook: str, message: str, kind: str) -> None:
        where = plugin.stats.last_where or plugin.path.name
        message = message.replace(f" at {where}: ", ": ", 1)   # the report names the place, once
        self.out.faults.append(Fault(where, plugin.name, message, "budget" if kind in BUDGET_KINDS else "error",
                                     self.current, self.clock.now))
        if breaker_trips(plugin, self.config.breaker):   # as live: off for the rest of the replay
            plugin.enabled, plugin.disabled_by = False, "breaker"
            self.trial.plugins.changed()
            self.out.faults.append(Fault(where, plugin.name, f"switched off by the breaker after "
                                         f"{self.config.breaker} failures in a row (engine.breaker), as live; "
                                         "not called for the rest of the replay", "error", self.current,
                                         self.clock.now))

    def _placed(self, request: OrderRequest, result: OrderResult, record: dict) -> None:
        """An order filled, a position closed, or an order refused (a veto, or the book's reason),
        for the report; a placed modify changes no trade and is left out."""
        if result.ok and request.kind == "modify":
            return
        volume = result.volume if result.volume is not None else request.volume or 0.0
        cancel = (result.ok and request.kind == "close" and result.ticket is not None
                  and self.book.cancelled(result.ticket))
        self.out.orders.append(Order(self.current or "timer", request.symbol or "*",
                                     "cancel" if cancel else _side(request), volume,
                                     result.price, request.sl, request.tp, request.plugin,
                                     None if result.ok else result.error or "refused"))


def _clash(name: str, paths: list[Path]) -> str:
    """Two files claiming plugin ``name`` alike (neither a draft of a file serving): refused both, as
    moonhook's start refuses them when it does not know which one served it last (core/clashes.py)."""
    a, b = sorted(str(p) for p in paths)
    return (f"plugin {name!r} is named by {a} and {b}: a replay serves neither, as moonhook at a start serves "
            "neither when it does not know which one served it last; give one another plugin.name")


def _same(baseline: Path | None, path: Path, source: bytes) -> bool:
    """Whether ``baseline`` holds ``path``'s file as it is (``source``)."""
    twin = baseline / path.name if baseline is not None else None
    return twin is not None and twin.is_file() and twin.read_bytes() == source


@contextmanager
def _long_lived() -> Iterator[None]:
    """What exists before the alerts (the modules, the recorded alerts, the loaded scripts:
    about 100,000 objects) is left out of Python's full collections until the replay ends.
    They come as the report's records pile up, and each walked all of that again (40-90 ms of
    CPU each, 3 to 5 % of the loop). Only cycles of those objects dropped meanwhile wait longer."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def _side(request: OrderRequest) -> str:
    """How an order reads in the report: buy, sell, close (of a side), modify, buy limit... (a
    pending order's cancel, a close by its ticket, is named by the caller, which knows)."""
    if request.kind == "close":
        return f"close {request.side}" if request.side else "close"
    if request.kind == "modify":
        return "modify"
    return " ".join(x for x in (request.side, request.type) if x)


def _why(outcome: dict) -> str:
    """Why an alert failed or expired: the outcome's error or reason, else its refused orders'."""
    said = outcome.get("error") or outcome.get("reason")
    if said:
        return str(said)
    return "; ".join(str(o["error"]) for o in outcome.get("orders") or () if o.get("error")) or "an order failed"


def _detail(step: dict) -> str:
    if step.get("reason") is not None:
        return str(step["reason"])
    if step.get("error") is not None:
        return str(step["error"])
    changes = step.get("changes") or {}
    return ", ".join(f"{k} {v}" for k, v in sorted(changes.items()))
