"""The engine's safety switches, kept across restarts: its pause, and each plugin switched off or
on by an administrator (the API, ``telegram:<user id>``) or by the breaker.

Each switch is written to SQLite (``engine/adapters/storage/switches.py``) as it is made, and the kept ones are
applied before the first alert after a start, recovered alerts included: a crash or a restart
never resumes trading, nor brings back a plugin that was switched off. What a start or a load
of a plugin's file does with a kept switch:

- pause: the engine starts paused. Alerts left unfinished by the stop are set ``paused`` as
  if they had come during the pause; a resume with the missed alerts takes them, and their
  age is checked then (``expiry.py``).
- an administrator's disable: the plugin stays off across restarts and saves of its file
  until an administrator enables it.
- the breaker's disable: the plugin stays off across restarts while its file is the version
  that failed. A load of the file while the engine runs (a save) lifts it, as it always did,
  and so does a file changed while the engine was stopped: both are a new version.
- an enable is kept to say who made it; it does not override ``[plugins.NAME] enabled = false``.

moonhook.toml's own switches (``config``) are the file's, not kept here. A switch that cannot
be written still takes effect; the administrators are told it will not survive a restart.
"""

from __future__ import annotations

import logging
import sqlite3
from time import perf_counter
from typing import Any, Awaitable, Callable, Collection

import trio

from engine.domain.alerts import Alert
from engine.domain.id_ranges import IdRuns, ranges
from engine.adapters.storage.switches import GUARD, PAUSE, PLUGIN, SERVED, Switch, Switches
from engine.domain.times import when
from engine.domain.words import counted
from engine.adapters.notify import Notifier
from engine.adapters.storage import AlertJournal, Database
from engine.core.events import Events
from engine.core.plugins import Plugin
from engine.core.run import DURABLE, Journaled
from engine.core.writer import JournalWriter

# Queues an alert in its lane: (id, alert, received perf_counter, journaled, received_at).
Enqueue = Callable[[int, Alert, float, Journaled, float | None], None]

log = logging.getLogger("moonhook.engine")

RELOAD = "reload"  # who lifts the breaker's switch: the plugin's file loaded again


async def _nothing() -> None:
    """No account to compare (an engine not opened by ``open_engine``)."""


class HeldChanged(Exception):
    """A resume was asked with other held alerts shown than are held now (``held``: their ids,
    ascending); the message names those held since and those no longer held."""

    def __init__(self, shown: Collection[int], held: list[int]):
        shown = IdRuns.of(shown)   # a page's runs, never listed: they may name any number of ids
        came, gone = [i for i in held if i not in shown], shown.without(held)
        changed = [f"{_alerts(came)} held since" if came else "", f"{_alerts(gone)} no longer held" if gone else ""]
        super().__init__(f"the alerts held from the pause changed since they were shown: "
                         f"{', '.join(c for c in changed if c)}; {len(held)} held now: asked again")
        self.held = tuple(held)


def _alerts(ids: Collection[int]) -> str:
    """``ids`` named for people, short: "alert 7", "alerts 7-9, 12"."""
    return f"alert{'s' if len(ids) > 1 else ''} {ranges(ids).replace(',', ', ')}"


class Switchboard:
    """The kept switches of one engine; made with the engine, so it is born paused if it was.
    ``paused`` is the engine's pause, owned here."""

    def __init__(self, database: Database, journal: AlertJournal, writer: JournalWriter, notifier: Notifier,
                 clock: Callable[[], float], enqueue: Enqueue, events: Events):
        self._journal, self._writer, self._notifier = journal, writer, notifier
        self._events = events
        self._clock, self._enqueue = clock, enqueue
        self._kept = Switches(database)
        kept = self._kept.all()
        self._pause = kept.get(PAUSE)
        self._plugins = {t[len(PLUGIN):]: s for t, s in kept.items() if t.startswith(PLUGIN)}
        self._guards = {t[len(GUARD):] for t, s in kept.items() if t.startswith(GUARD) and s.state == "guard"}
        self._served = {t[len(SERVED):]: s.state for t, s in kept.items() if t.startswith(SERVED)}
        self.served_at_start = dict(self._served)  # plugin name -> the file that served it when moonhook last ran
        self.paused = self._kept_paused()
        self._arriving = 0             # alerts being journaled as paused (see ``arriving``)
        self._arrived = trio.Event()   # none is
        self._held: list[tuple] | None = None  # alerts journaled while a resume queues the missed ones
        self._resuming = trio.Lock()   # two resumes at once would queue the missed alerts twice
        self.recovered = trio.Event()  # set once the alerts the last run left are queued or held (``recover``)
        self.skipped: Callable[[], None] = lambda: None  # told once a resume skipped alerts (the shadow's)
        self.recheck: Callable[[], Awaitable[None]] = _nothing  # the account compared again (``account_change.py``)

    @property
    def pause(self) -> dict[str, Any] | None:
        """The last pause or resume: ``{"paused", "by", "at", "reason"}``; None if there was none."""
        if self._pause is None:
            return None
        return {"paused": self._pause.state == "paused", **self._pause.to_plain()}

    def _kept_paused(self) -> bool:
        """Whether the engine starts paused: the last run's pause stands (said in the log and to
        the administrators)."""
        kept = self._pause
        if kept is None or kept.state != "paused":
            return False
        told = (f"moonhook started paused (paused by {kept.by} at {when(kept.at)}"
                f"{': ' + kept.reason if kept.reason else ''}): alerts are journaled, not executed, until a resume")
        log.warning("%s", told)
        self._notifier.send("admin", told, key="paused")
        return True

    # -- the pause ------------------------------------------------------------------------------

    def pause_engine(self, by: str, reason: str | None) -> None:
        """Alerts are still journaled and answered, but not processed (status "paused")."""
        if self.paused:
            return  # the first pause stands, with who made it
        self.paused = True
        self._keep(Switch(PAUSE, "paused", by, self._clock(), reason), "pause")
        self._pause_switched(by, reason)
        self._events.publish("pause", by=by, reason=reason)

    def _pause_switched(self, by: str, reason: str | None) -> None:
        log.warning("paused by %s: alerts are journaled, not executed, and no entry is made", by)
        self._notifier.send("admin", f"moonhook paused by {by}{': ' + reason if reason else ''}: "
                                     "alerts are journaled, not executed, and no entry is made (closes go on)")

    def arriving(self) -> bool:
        """Whether an alert arriving now is held as paused. Such an alert counts as arriving
        until ``arrived()``: a resume waits for it, which would otherwise leave it paused."""
        if not self.paused:
            return False
        if self._arriving == 0:
            self._arrived = trio.Event()
        self._arriving += 1
        return True

    def arrived(self, paused: bool) -> None:
        """An alert ``arriving`` (as paused, if ``paused``) is journaled, or failed."""
        if not paused:
            return
        self._arriving -= 1
        if self._arriving == 0:
            self._arrived.set()

    def enqueue(self, alert_id: int, alert: Alert, received: float, gate: Journaled, received_at: float) -> None:
        """Queues an alert just journaled in its lane; while a resume queues the missed alerts,
        after them, so that a close sent as the engine resumes follows the entry it closes."""
        if self._held is not None:
            self._held.append((alert_id, alert, received, gate, received_at))
        else:
            self._enqueue(alert_id, alert, received, gate, received_at)

    async def resume_engine(self, execute_missed: bool, by: str, shown: Collection[int] | None = None) -> int:
        """Processes alerts again. Those journaled while paused are queued if ``execute_missed``
        (oldest first, each expired if too old when its turn comes), ahead of any alert
        arriving meanwhile; else they are skipped (status "skipped", final: a later resume does
        not run them). Returns how many were queued. ``shown``: the ids of the held alerts the
        trader was told of; raises HeldChanged, still paused, when others are held now (one
        came, or one was settled and another came in its place: a count would match), so that
        none is skipped or run unshown."""
        # An interface up before the recovery (Telegram's commands, at the start) waits for it: the
        # alerts it holds are counted, and those it would queue are not queued twice.
        await self.recovered.wait()
        async with self._resuming:
            await self.recheck()  # alerts held for another account than the broker's now are skipped, not taken
            if shown is not None and self.paused:
                while self._arriving:  # one being journaled as paused counts too
                    await self._arrived.wait()
                # No checkpoint from here to _take_missed's read: the set compared is what it takes.
                if IdRuns.of(held := self._journal.ids_with_status("paused")) != IdRuns.of(shown):
                    raise HeldChanged(shown, held)
            was = self.paused
            if was:
                self.paused = False
                self._keep(Switch(PAUSE, "running", by, self._clock()), "resume")
                self._events.publish("resume", by=by, reason=None)
            missed = await self._take_missed(execute_missed, by)
        if not was and not missed:
            return 0  # running already (resumed from elsewhere first): not told as a resume of its own
        done = "queued" if execute_missed else "skipped"
        alerts = "alert" if len(missed) == 1 else "alerts"
        log.warning("resumed by %s%s", by, f"; {len(missed)} {alerts} from the pause {done}" if missed else "")
        self._notifier.send("admin", f"moonhook resumed by {by}" + (f"; {len(missed)} missed {alerts} {done}"
                                                                     if missed else ""))
        return len(missed) if execute_missed else 0

    async def _take_missed(self, execute: bool, by: str) -> list[dict[str, Any]]:
        self._held = held = []
        try:
            while self._arriving:  # an alert journaled as paused as the resume came: missed too
                await self._arrived.wait()
            missed = self._journal.with_status("paused")
            for row in missed:
                alert = Alert.from_plain(row["alert"])
                if execute:
                    await self._writer.set_status(row["id"], "received", None)
                    self._enqueue(row["id"], alert, perf_counter(), DURABLE, row["received_at"])
                    # Queued again: its row shows "received" while it waits its turn, not "paused".
                    self._events.received(row["id"], alert, "received")
                    continue
                await self.skip(row, {"reason": f"skipped: resumed by {by} without the alerts missed while paused"})
            if missed and not execute:
                self.skipped()
            return missed
        finally:
            self._held = None
            for queued in held:
                self._enqueue(*queued)

    async def skip(self, row: dict[str, Any], outcome: dict[str, Any]) -> None:
        """The journaled alert ``row`` settled "skipped" with ``outcome`` (its ``reason``), and told."""
        alert = Alert.from_plain(row["alert"])
        await self._writer.set_status(row["id"], "skipped", outcome)
        self._events.publish("alert.finished", id=row["id"], symbol=alert.symbol, status="skipped",
                             command=alert.action.value if alert.action else None, reason=outcome["reason"],
                             plugins=[], latency_ms=round((self._clock() - row["received_at"]) * 1000, 3))

    async def recover(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """At the start, the alerts the stop left unfinished (``rows``): those to queue now,
        none when paused (``hold``). A resume waits for this."""
        if self.paused:
            await self.hold(rows)
            rows = []
        self.recovered.set()
        return rows

    async def hold(self, rows: list[dict[str, Any]]) -> None:
        """At a start paused: the alerts the stop left unfinished wait as if they had come
        during the pause (status "paused"), for a resume to take or leave."""
        for row in rows:
            await self._writer.set_status(row["id"], "paused", None)
        if rows:
            log.warning("paused: %s journaled before the stop held, not executed: %s", counted(len(rows), "alert"),
                        ", ".join(str(r["id"]) for r in rows[:20]) + (" ..." if len(rows) > 20 else ""))

    # -- plugins --------------------------------------------------------------------------------

    def switched(self, plugin: Plugin, enabled: bool, by: str, reason: str | None = None) -> None:
        """``plugin`` was just switched by ``by``: kept, unless moonhook.toml's own switch."""
        if by == "config":
            self._events.publish("plugin.switched", plugin=plugin.name, enabled=enabled, by=by, reason=reason)
            return
        switch = Switch(PLUGIN + plugin.name, "enabled" if enabled else "disabled", by, self._clock(),
                        reason, plugin.digest)
        self._plugins[plugin.name] = switch
        plugin.switched = {"enabled": enabled, **switch.to_plain()}
        self._keep(switch, f"plugin {plugin.name}")
        self._events.publish("plugin.switched", plugin=plugin.name, enabled=enabled, by=by, reason=reason)

    def loaded(self, new: Plugin, replaced: list[Plugin]) -> None:
        """``new`` goes into service (at start, or in place of ``replaced``), its ``enabled``
        set from moonhook.toml: the kept switch of its name applies (see the module's doc)."""
        self._guard_file(new.path.name, new.meta.guard, new.name)
        if self._served.get(new.name) != new.path.name:
            self._served[new.name] = new.path.name
            self._keep(Switch(SERVED + new.name, new.path.name, "load", self._clock()), f"file of {new.name}")
        kept = self._plugins.get(new.name)
        if kept is None:
            return
        if kept.state == "disabled" and kept.by == "breaker" and (replaced or kept.digest != new.digest):
            why = "loaded again" if replaced else "changed while moonhook was stopped"
            log.info("plugin %s: %s %s: the breaker's switch is lifted", new.name, new.path.name, why)
            self.switched(new, True, RELOAD, f"{new.path.name} {why}")
            return
        if kept.state == "disabled":
            new.enabled, new.disabled_by = False, kept.by
        new.switched = {"enabled": kept.state == "enabled", **kept.to_plain()}

    # -- guards ---------------------------------------------------------------------------------

    def _guard_file(self, file: str, guard: bool, name: str) -> None:
        """Keeps whether ``file``'s version in service is a guard (written only when that changes)."""
        if guard != (file in self._guards):
            if guard:
                self._guards.add(file)
            else:
                self._guards.discard(file)
            self._keep(Switch(GUARD + file, "guard" if guard else "plain", "load", self._clock(), name),
                       f"guard {file}")

    def deleted(self, file: str) -> None:
        """``file`` was deleted: a trader's choice, so it is no guard missing at the next start."""
        self._guard_file(file, False, "deleted")

    def not_loaded_at_start(self, file: str, error: str, guard: bool) -> None:
        """``file`` did not load at start and no version of it serves: if it was a guard, or
        says it is one (``guard``: it failed after its ``plugin`` table was read, at its first
        start too), the engine pauses (entries would go through unguarded), and the
        administrators are told."""
        if guard:
            self._guard_file(file, True, "load")
        if file in self._guards:
            self.pause_engine("guard", f"the guard {file} did not load ({error}); fix it (moonhook check), "
                                       "then resume")

    def served_last(self, name: str) -> str | None:
        """The file that served the plugin ``name`` when moonhook last ran, if known."""
        return self.served_at_start.get(name) or None

    def name_clash_at_start(self, name: str, files: list[str], guard: bool) -> None:
        """``files`` all name the plugin ``name`` and none of them serves it (which should is not
        known): if one is a guard, the engine pauses, as when a guard does not load. The file
        loaded first for it served nothing: it is not kept as the one that did."""
        if self._served.get(name):
            self._served[name] = ""
            self._keep(Switch(SERVED + name, "", "clash", self._clock()), f"file of {name}")
        if guard:
            self.pause_engine("guard", f"the guard {name} is claimed by {' and '.join(files)}: neither is loaded; "
                                       "rename the plugin in one of them (plugin.name), then resume")

    def scripts_at_start(self, files: set[str]) -> None:
        """The scripts found at start: a guard that served when moonhook last ran and is not
        among them (deleted while stopped, or the scripts folder moved) pauses the engine; its
        record goes, so the resume is what says to go on without it."""
        for file in sorted(self._guards - files):
            self._guard_file(file, False, "missing")
            self.pause_engine("guard", f"the guard {file} is not in the scripts folder: it guarded entries when "
                                       "moonhook last ran; put it back, or resume to go on without it")

    # -- writing --------------------------------------------------------------------------------

    def _keep(self, switch: Switch, what: str) -> None:
        if switch.target == PAUSE:
            self._pause = switch
        try:
            self._kept.set(switch)
        except sqlite3.Error as e:  # the switch holds until the next start; its last kept one then
            told = f"{what} ({switch.state} by {switch.by}) cannot be kept for the next start: {e}"
            log.error("%s", told)
            self._notifier.send("errors", told, key="switch-not-kept")
