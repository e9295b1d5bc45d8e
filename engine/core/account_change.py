"""Alerts left from another account are not traded at this one.

A trader who tests on paper, then sets ``engine.broker = "mt5"`` (or moves ``[mt5] login`` from a
demo account to the live one, or logs the terminal in to it) starts again on the same journal. An
alert the last run left unfinished (a stop cut it short) or held while paused was sent for the
account traded then: run again at this start, or by a resume with the missed alerts, it would
trade at the new account, where nothing of it was meant to go, and its order was perhaps already
made at the old one (its client id unknown to the new broker, so sent again). The journal keeps
the account it last traded on (``account_of``: as the broker says once connected, a kept switch);
started on another, each such alert is settled
``skipped``, with what an earlier run of it sent, and told; nothing runs for it. So are the
broker's events that run left untold (its account's fills, closes, orders ended): told to the
trades chat as that account's, never to the plugins, whose ``on_fill`` would place its follow-up
orders (a target, a hedge, the next entry) at the new account. And the last hour's entries the
ledger has from the old account do not count toward the new one's ``max_entries_per_hour``.

A change can show only once moonhook runs: the terminal down at the start (its account not said),
then up at another account, or logged in to another by hand (``Session.watch`` makes the connection
again there). The account is compared again as each connection is made, and at each alert's turn
and resume: the alerts journaled until the change was seen, held or waiting for the broker, are
skipped so, and the hour's entries count from then. And at each order: one of a run begun at the
old account (an alert's, a timer's call, the hooks of a broker event heard there) is refused
(``refusal``, ``Desk``).
"""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

import trio

from engine.adapters.brokers.base import Broker
from engine.adapters.storage.switches import Switch, Switches
from engine.core import expiry
from engine.core.reports import describe_event
from engine.core.run import Journaled
from engine.domain.config import EngineConfig
from engine.domain.orders import Connection, Event

log = logging.getLogger("moonhook.engine")

ACCOUNT = "account"  # the kept switch's target; its state: the account the last run traded on (``account_of``)


def account_of(config: EngineConfig, broker: Broker | None = None) -> str:
    """The account moonhook trades on: as ``broker`` says once connected (``Broker.trading_on``: "paper",
    "mt5 LOGIN@SERVER"), else as ``config`` does: "paper", or "mt5" with the ``[mt5]`` login when given
    (the terminal's own login is its account otherwise)."""
    if broker is not None and broker.trading_on is not None:
        return broker.trading_on
    if config.broker != "mt5" or config.mt5.login is None:
        return config.broker
    return f"mt5 {config.mt5.login}"


def another(before: str | None, now: str) -> bool:
    """Whether ``now`` is another account than ``before`` (None: not known). What one of them does
    not say is taken for the same: a login set where none was, or no longer given (the terminal
    may be logged in to it), a server the broker has not said (not connected at that start)."""
    if before is None:
        return False
    return any(b is not None and n is not None and b != n for b, n in zip(_parts(before), _parts(now)))


def _says_more(now: str, before: str | None) -> bool:
    """Whether ``now`` says all ``before`` did about the account, and more: the journal keeps it
    then, not an account a start said less of (the terminal not reached), or the next start's
    change from ``before`` would go unseen."""
    if before is None:
        return True
    return now != before and all(n is not None for b, n in zip(_parts(before), _parts(now)) if b is not None)


def _parts(account: str) -> tuple[str, str | None, str | None]:
    """``account``'s broker, login and server ("mt5 111@Broker-Demo"), None for those it does not say."""
    broker, _, rest = account.partition(" ")
    login, _, server = rest.partition("@")
    return broker, login or None, server or None


class AccountChange:
    """What a start on another account than the journal's last does (``compose.open_engine``):
    ``listen`` first, then ``settle`` before ``Engine.recover``; made once the broker has started,
    which has connected if it could: the account it says it trades on is compared. While moonhook
    runs, it is compared again at each connection, alert's turn and resume (``seen``, ``elsewhere``,
    ``recheck``): a change that shows only then is met as at a start."""

    def __init__(self, engine: Any, switches: Switches, nursery: trio.Nursery):
        self._engine, self._switches, self.now = engine, switches, account_of(engine.config, engine.broker)
        self._nursery, self._settling = nursery, trio.Lock()
        kept = switches.get(ACCOUNT)
        self.before = self._kept = kept.state if kept is not None else None   # the last run's account
        self._old: list[Event] = []   # its events left untold, told as its history
        # The ledger's entries of the last hour: those before this account's first start were the old one's
        # (0: since before the account was kept, as far back as known).
        self._since = engine.clock() if self.changed else kept.at if kept is not None else 0.0
        engine.limits.entries_after(self._since)
        # The account this run trades on, as far as known (the kept one while the broker says less: the
        # terminal not reached yet), and each change seen while it runs: (the last alert journaled before, its account).
        self.trading = self.now if self.changed or _says_more(self.now, self.before) else self.before
        self._changes: list[tuple[int, str]] = []

    @property
    def changed(self) -> bool:
        return another(self.before, self.now)

    def listen(self, broker: Broker) -> None:
        """``broker`` told to the engine; on another account, the events the last run left untold
        (``Broker.listen`` hands them over at once) go to the trades chat alone."""
        handing = self.changed

        def listener(event: Event) -> None:
            if isinstance(event, Connection) and event.connected:
                self.seen()  # told as the connection is made: the account is compared before an alert runs there
            if handing and getattr(event, "again", False):
                self._engine.notifier.send("trades", f"{describe_event(event)}, at {self.before}: not told to "
                                                     f"the plugins at {self.now}")
                self._old.append(event)
            else:
                self._engine.on_event(event)
        broker.listen(listener)
        handing = False

    async def settle(self, broker: Broker) -> int:
        """The last run's untold events forgotten once in the outbox; its alerts left unfinished or
        held settled ``skipped``; this account kept as the journal's. Returns how many alerts."""
        async with self._settling:  # not beside a ``recheck`` of a connection made meanwhile
            return await self._settle(broker)

    async def _settle(self, broker: Broker) -> int:
        engine, rows = self._engine, []
        if self._old:
            await engine.notifier.written()
            for event in self._old:
                broker.told(event)
        if self.changed:
            rows = engine.journal.unfinished() + engine.journal.with_status("paused")
            for row in rows:
                await _skip(engine, row, _not_here(self.before, f"this start trades on {self.now}"))
        if rows:
            told = (f"{len(rows)} alerts left by the last run on {self.before} were not executed on {self.now}: "
                    + ", ".join(str(r["id"]) for r in rows[:20]) + (" ..." if len(rows) > 20 else ""))
            log.warning("%s", told)
            engine.notifier.send("admin", told, key="account")
            engine.switchboard.skipped()  # the shadow holds them no longer
        if self.changed or _says_more(self.now, self.before):
            self._switches.set(Switch(ACCOUNT, self.now, "start", self._since))
            self._kept = self.now
        return len(rows)

    def seen(self) -> None:
        """The account the broker says it trades on now, compared again: a terminal reached only after the
        start, or logged in to another account while moonhook runs (``Session.watch``), is another account
        too. On another, the alerts journaled until now were sent for the old one: none of them runs there
        (``elsewhere``, ``recheck``); the hour's entries count from now, and the administrators are told.
        Called at each connection (the broker's event, told before any await) and at each alert's turn; what
        it leaves to do (``recheck``) runs in a task of its own."""
        engine, before = self._engine, self.trading
        now = account_of(engine.config, engine.broker)
        if not another(before, now):
            if _says_more(now, before):  # the same account, said in full once connected: the next start's to compare
                self.trading = now
                self._nursery.start_soon(self.recheck)
            return
        self.trading, self._since = now, engine.clock()
        self._changes.append((engine.journal.last_id(), before))
        engine.limits.entries_after(self._since)
        told = (f"the broker trades on {now} now, not {before}: the alerts journaled before are not executed there, "
                f"and its entries of the hour count from now")
        log.warning("%s", told)
        engine.notifier.send("admin", told, key="account")
        self._nursery.start_soon(self.recheck)

    async def recheck(self) -> None:
        """``seen``; then what a change it saw leaves to do: the alerts held from the pause for the account
        traded on before are skipped (a resume with the missed alerts waits for it, ``Switchboard.resume_engine``),
        then the account is kept as the journal's (not before: a stop meanwhile leaves the old one kept, and
        the next start sees the change again)."""
        self.seen()
        async with self._settling:
            engine = self._engine
            held = [row for row in engine.journal.with_status("paused") if self._before(row["id"]) is not None]
            for row in held:
                await _skip(engine, row, _not_here(self._before(row["id"]), f"moonhook trades on {self.trading} now"))
            if held:
                engine.switchboard.skipped()  # the shadow holds them no longer
            if self._kept != self.trading:
                self._keep(Switch(ACCOUNT, self.trading, "connection", self._since))

    def _before(self, alert_id: int) -> str | None:
        """The account ``alert_id`` was journaled for, if a change seen while moonhook ran came after it."""
        return next((account for last, account in self._changes if alert_id <= last), None)

    async def elsewhere(self, alert_id: int, lost: str | None, gate: Journaled) -> dict[str, Any] | None:
        """At the alert's turn, before anything of it runs (``Engine._turn``): the account compared again
        (``seen``); the alert's outcome, to settle it ``skipped``, if it was journaled before a change seen
        while moonhook ran (with what it waited for, ``lost``, and what an earlier run of it sent), else None."""
        self.seen()
        before = self._before(alert_id)
        if before is None:
            return None
        await gate.wait()
        said = {"reason": _not_here(before, f"moonhook trades on {self.trading} now")}
        return expiry.after(said, lost, await self._engine.desk.sent_before(alert_id))

    def refusal(self, began: str | None) -> str | None:
        """Why an order of a run begun while moonhook traded on ``began`` (an alert's turn, a timer's call, a
        broker event as heard: ``Run.account``) is not sent, if it trades on another account now (compared
        again first, ``seen``): what the run decided was meant for that one, as the alerts journaled before a
        change (``elsewhere``); a close or a stop change by ticket would meet another's ticket here. Else None."""
        self.seen()
        if began is None or not another(began, self.trading):
            return None
        return f"not sent: placed while moonhook traded on {began}, and moonhook trades on {self.trading} now"

    def _keep(self, switch: Switch) -> None:
        """``switch`` kept for the next start; a failed write is said, not raised into an alert's turn."""
        try:
            self._switches.set(switch)
            self._kept = switch.state
        except sqlite3.Error as e:
            log.error("the account %s cannot be kept for the next start: %s", switch.state, e)


def _not_here(before: str, now: str) -> str:
    """Why an alert journaled at ``before`` is not executed (``now``: where moonhook trades)."""
    return f"not executed: journaled while moonhook traded on {before}, and {now}"


async def _skip(engine: Any, row: dict[str, Any], reason: str) -> None:
    said = {"reason": reason}
    await engine.switchboard.skip(row, expiry.after(said, None, await engine.desk.sent_before(row["id"])))
