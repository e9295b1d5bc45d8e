"""What hook calls and orders are working for (an alert, a timer, a broker event), and the
gate that holds an alert's effects until its journal entry is durable."""

from __future__ import annotations

import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Any, Iterator

import trio

from engine.domain.orders import Closed, Dropped, Fill

if TYPE_CHECKING:
    from engine.core.roster import PluginSet, Roster


class NotJournaled(Exception):
    """The alert's journal entry could not be written: it was never acknowledged, and nothing
    it asked for may happen."""


class Journaled:
    """Settled once the alert's journal write has committed or failed.

    An alert is processed while its entry is still being written (the commit's fsync is the
    slowest step on its path); its effects, orders first, wait here. An order sent for an
    alert whose entry was then lost could be sent again when TradingView repeats it."""

    __slots__ = ("_event", "_ok")

    def __init__(self, ok: bool | None = None):
        self._event = trio.Event()
        self._ok = ok
        if ok is not None:
            self._event.set()

    def settle(self, ok: bool) -> None:
        self._ok = ok
        self._event.set()

    async def wait(self) -> None:
        """Returns once the entry is durable; raises NotJournaled if it never will be."""
        if not self._event.is_set():
            await self._event.wait()
        if not self._ok:
            raise NotJournaled("the alert could not be journaled")


DURABLE = Journaled(ok=True)  # an alert read back from the journal (a resume's missed alerts)
RERUN = Journaled(ok=True)    # one a stop cut before its status was written (recovery): run again


@dataclass
class Run:
    """What hook calls are working for: an alert (its id and receipt), or a timer or event.
    It names the client ids of the orders placed meanwhile and collects their outcomes."""

    alert_id: int | None
    origin: str                      # alert | timer | fill | close
    received: float = field(default_factory=perf_counter)
    journaled: Journaled = DURABLE
    stamp: int = field(default_factory=time.time_ns)
    orders: list[dict[str, Any]] = field(default_factory=list)
    first_call: float | None = None  # perf_counter of the first broker call
    first_fill: float | None = None  # perf_counter of the broker's first answer executing an order
    roster: "Roster | None" = None   # the plugins it runs on (held by ``Engine.working``)
    expires: tuple[float, str] | None = None  # when its alert expires (the engine's clock), by what rule
    key: str | None = None           # a broker event's name for its orders' client ids (``event_key``)
    account: str | None = None       # the account it is for: where its orders may go (``account_change.py``)
    versions: dict[str, str] = field(default_factory=dict)  # plugin -> the version whose hooks it called
    rerun: bool = False              # its alert ran before (cut by a stop or a wait): the ledger may hold its orders
    _seq: dict[str, int] = field(default_factory=dict)
    _writes: dict[str, int] = field(default_factory=dict)

    def write(self, plugin: str) -> int:
        """Counts a durable write of ``plugin``'s (store.set, trend.set ...) for this run; how many so far."""
        n = self._writes[plugin] = self._writes.get(plugin, 0) + 1
        return n

    def placed(self, plugin: str) -> int:
        """How many orders ``plugin`` has placed for this run (its client ids so far)."""
        return self._seq.get(plugin, 0)

    def client_id(self, plugin: str) -> str:
        n = self._seq[plugin] = self._seq.get(plugin, 0) + 1
        if self.alert_id is not None:
            return alert_client_id(self.alert_id, plugin, n)
        return f"{self.key or self.origin[0] + format(self.stamp, 'x')}-{plugin}-{n}"


def event_key(event: Fill | Closed | Dropped) -> str:
    """What names the orders placed by the hooks of a broker event: its deal (and the deal's entry:
    a netting account's reversal is one deal told as two fills, ``mt5/rows.relived``), or the
    ticket of the position it closed or of the pending order it ended, and its time. An event a
    crash left untold is told again at the next start (``storage/untold.py``), and its hooks may
    have placed their orders the first time: named so, they are found at the broker, not sent
    twice, as an alert's are. The time keeps apart two events of one number, which another server
    or a new paper account may give: the second's orders would be taken as the first's, not sent."""
    at = format(round(event.time * 1000), "x")
    if isinstance(event, Fill):
        return f"fill{event.deal}{event.entry}.{at}"   # fill42in.19ae..., close1003.19ae...: never an alert's,
    return f"{event.hook[3:]}{event.ticket}.{at}"        # a timer's or a command's


def alert_client_id(alert_id: int, plugin: str, n: int) -> str:
    """The client id of ``plugin``'s ``n``-th order (from 1) for alert ``alert_id``."""
    return f"a{alert_id}-{plugin}-{n}"


current: ContextVar[Run | None] = ContextVar("moonhook_run", default=None)
# A plugin's top-level code, on_load or on_unload call: no run (``current`` stays None: orders
# are refused there), but its writes are counted as one run's (``writing``).
_outside: ContextVar[Run | None] = ContextVar("moonhook_outside_run", default=None)


@contextmanager
def outside(what: str) -> Iterator[None]:
    """A plugin's top-level code, on_load or on_unload (``what``: "this on_load call" ...) runs
    meanwhile: outside any alert, tick or event, but its durable writes counted as one run's, as
    each of theirs are (``MAX_PLUGIN_WRITES``)."""
    token = _outside.set(Run(None, what))
    try:
        yield
    finally:
        _outside.reset(token)


def writing() -> Run | None:
    """What a plugin's durable write now counts against: the current run, else the top-level code,
    on_load or on_unload call running (its ``origin`` says which), else nothing."""
    return current.get() or _outside.get()


@contextmanager
def working(plugins: "PluginSet", run: Run, account: str | None = None) -> Iterator[Run]:
    """``run`` is what hook calls and orders are for meanwhile (``current``), on the plugins
    of ``plugins``' roster current now: a reload meanwhile does not change the versions it calls;
    for ``account`` (the one traded on now), unless it says its own (a broker event's, as heard)."""
    run.roster, run.account = plugins.hold(), run.account or account
    token = current.set(run)
    try:
        yield run
    finally:
        current.reset(token)
        plugins.release(run.roster)


def placed(plugin: str) -> int:
    """How many orders ``plugin`` has placed for the current alert or event (0 outside one)."""
    run = current.get()
    return run.placed(plugin) if run is not None else 0


def client_id(plugin: str) -> tuple[str, int | None]:
    """The client id of the next order ``plugin`` places for the current alert or event, and
    that alert's id (None for a timer or an event)."""
    run = current.get() or Run(None, "call")
    return run.client_id(plugin), run.alert_id

