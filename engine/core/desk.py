"""The order desk: every order, a plugin's, the engine's or an administrator's, passes the
other plugins' ``on_order`` and then goes to the broker once.

A request is named after the alert (or event) in hand and the plugin placing it
(``a42-engine-open``, ``a42-trend-1``): the broker executes a client id once, so an alert
processed again after a crash finds its orders instead of sending them twice.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from functools import partial
from time import perf_counter
from typing import Any, Awaitable, Callable, Protocol

import trio

from engine.adapters.brokers.base import Broker
from engine.adapters.notify import Notifier
from engine.adapters.storage import Database, OrderLedger
from engine.core.decide import amend
from engine.core.events import Events
from engine.core.hooks import Hooks
from engine.core.limits import Limits, is_breach
from engine.core.metrics import Metrics
from engine.core.monitor import Monitor
from engine.core.order_turns import OrderTurns
from engine.core.reports import describe_not_done
from engine.core.run import Run, client_id
from engine.core.run import current as _run
from engine.core.unsettled import settled
from engine.domain.orders import OPENING, BrokerError, Fill, OrderRequest, OrderResult

# The request's fields an order's record keeps beside the broker's answer: what was sent
# (the shadow compares them, differences.py).
SENT = ("symbol", "side", "type", "sl", "tp")

log = logging.getLogger("moonhook.engine")


Placed = Callable[[OrderRequest, OrderResult, dict[str, Any]], None]


class Kept(Protocol):
    """Where a trial's desk keeps its alerts' requests until their records (the shadow's file): what a
    run of an alert cut by a kill sent, for its run again (``ShadowRecords``)."""

    def sending(self, request: OrderRequest) -> None: ...

    def request(self, client_id: str) -> dict[str, Any] | None: ...

    def requests(self, alert_id: int) -> list[dict[str, Any]]: ...


PAUSED = "moonhook is paused: no entry is made until it is resumed (closes, stop changes and cancels go on)"


class PlainDesk:
    """An order desk and nothing more: an order passes the other plugins' ``on_order``, then
    goes to ``broker`` if it passes the account's ``limits`` and, while ``paused()``, is not an
    entry; its record joins the current run's orders, and ``placed(request, result, record)``
    is told. A trial's desk (``trial.py``); the engine's (``Desk``) adds its books around the send.
    With ``kept`` (the shadow's), an alert's requests are kept before their send, and a run of it
    again (``Run.rerun``) finds them as the engine's desk finds its ledger's."""

    def __init__(self, broker: Broker, hooks: Hooks, placed: Placed | None = None, limits: Limits | None = None,
                 paused: Callable[[], bool] = lambda: False, kept: Kept | None = None):
        self.broker = broker
        self._kept = kept
        self._paused = paused
        self._hooks = hooks
        self._placed = placed
        self._limits = limits if limits is not None else Limits()
        self._entering = trio.Lock()  # two lanes' entries never both take the last open place
        self._turns = OrderTurns(hooks.held)  # one order at a time on a symbol, on_order to the answer

    def new_request(self, kind: str, plugin: str, **fields: Any) -> OrderRequest:
        """A request from ``plugin``, with the client id of the current alert or event."""
        cid, alert_id = client_id(plugin)
        return OrderRequest(kind, cid, plugin=plugin, alert_id=alert_id, **fields)

    async def place(self, request: OrderRequest, origin: str) -> OrderResult:
        """Runs ``request`` through every other plugin's ``on_order``, then sends it once, in its
        symbol's turn (``order_turns.py``): what ``on_order`` judged is what the send meets. A
        refused or vetoed order is an ``ok=False`` result; BrokerError (disconnected) is raised."""
        result = await self.place_if(request, origin)
        assert result is not None
        return result

    async def place_if(self, request: OrderRequest, origin: str,
                       needed: Callable[[], Awaitable[bool]] | None = None) -> OrderResult | None:
        """``place``, unless ``needed()``, asked first in the symbol's turn, says the order is no
        longer needed (what it was planned on was changed by an order placed meanwhile): None,
        and nothing is sent or recorded."""
        run = _run.get()
        # A wait the symbol's other orders do not share, ended when the alert expires (``late``). A
        # plugin's entry, placed from a hook, would wait holding every plugin's hooks, and so every
        # alert: it does not wait, and a wide spread refuses it at once.
        late = None if self._hooks.holding() else await self._limits.spread_settled(
            request, self.broker, run.expires if run is not None else None)
        async with self._turns.of(request.symbol, request.client_id) as turn:
            if needed is not None and not await needed():
                return None
            first = await self._sent_before(request)
            verdict = None if first is not None else await self._hooks.on_order(request.to_plain(), origin)
            await turn.hooks_done()
            if first is not None:  # sent before a restart: no on_order now undoes what the broker did
                request = first
                result = await self._send(request, run, late)
            elif verdict.rejected_by:
                result = OrderResult.refused(f"vetoed by {verdict.rejected_by}: {verdict.reason}")
                await self._vetoed(request, result)
            else:
                request = amend(request, verdict.data)
                result = await self._send(request, run, late)
        record = _record(partial(getattr, request), result.to_plain())
        if verdict is not None and verdict.steps:
            record["on_order"] = verdict.steps
        if run is not None:
            run.orders.append(record)
        if self._placed is not None:
            self._placed(request, result, record)
        return result

    async def sent_before(self, alert_id: int) -> list[dict[str, Any]]:
        """The records of the orders an earlier run of alert ``alert_id``, cut by a kill, sent and the
        broker answered, each marked ``earlier_run``: none without ``kept`` (a replay never restarts)."""
        records = []
        for first in self._kept.requests(alert_id) if self._kept is not None else ():
            if (result := await self.broker.first_result(first["client_id"])) is not None:
                records.append({**_record(first.get, result.to_plain()), "earlier_run": True})
        return records

    async def _sent_before(self, request: OrderRequest) -> OrderRequest | None:
        """The request to send again in place of ``request`` if its client id was sent before and
        answered (its alert run again), asked of no ``on_order``: the broker answers it with what it
        did then. None: judge it anew (always, on a first run)."""
        run = _run.get()
        if self._kept is None or run is None or not run.rerun:
            return None
        first = self._kept.request(request.client_id)
        if first is None or await self.broker.first_result(request.client_id) is None:
            return None
        return OrderRequest(**first)

    async def _vetoed(self, request: OrderRequest, result: OrderResult) -> None:
        pass

    async def _send(self, request: OrderRequest, run: Run | None, late: str | None = None) -> OrderResult:
        if self._kept is not None and request.alert_id is not None:
            self._kept.sending(request)   # before the send: a kill after it leaves it to the run again
        return await self._execute(request, late)

    async def _execute(self, request: OrderRequest, late: str | None = None) -> OrderResult:
        """``request`` at the broker once, unless it is an entry past a limit and not already
        executed (an alert processed again after a crash finds its entry, not a refusal)."""
        if request.kind in OPENING and self._paused() and await self.broker.first_result(request.client_id) is None:
            return OrderResult.refused(PAUSED)
        if not self._limits.apply_to(request):
            result = await self.broker.execute(request)
            self._limits.entered(request, result)
            return result
        if not self._limits.counts:  # nothing counted: entries need not wait for each other
            return await self._checked(request, late)
        async with self._entering:  # two entries at once never both take the last place
            return await self._checked(request, late)

    async def _checked(self, request: OrderRequest, late: str | None = None) -> OrderResult:
        """``late``: the refusal of an entry whose alert expired while it waited for a spread."""
        # A plugin's entry (the hook lock still held) had no wait for a wide spread: its refusal says so.
        breach = late or await self._limits.breach(request, self.broker, waited=not self._hooks.holding())
        if breach is not None and await self.broker.first_result(request.client_id) is None:
            return OrderResult.refused(breach)
        result = await self.broker.execute(request)
        self._limits.entered(request, result)
        return result


class Desk(PlainDesk):
    """The engine's desk: an order is sent once its alert is durable, and the ledger, the
    metrics, the latency monitor, the notifications and the events are told of it. While
    ``paused()``, no entry is sent, whoever places it: a pause stops the plugins' timers and
    broker-event hooks from opening positions too, not only the alerts."""

    def __init__(self, broker: Broker, hooks: Hooks, database: Database, ledger: OrderLedger, notifier: Notifier,
                 monitor: Monitor, metrics: Metrics, events: Events, limits: Limits | None = None,
                 paused: Callable[[], bool] = lambda: False):
        super().__init__(broker, hooks, self._told, limits, paused)
        self._database = database
        self._ledger = ledger
        self._notifier = notifier
        self._monitor = monitor
        self._metrics = metrics
        self._events = events
        self.left_unknown: Callable[[str], None] = lambda client_id: None   # no alert runs it again (compose)
        # Why a run's orders are not sent, begun at an account moonhook no longer trades on (compose), or None.
        self.elsewhere: Callable[[str | None], str | None] = lambda account: None

    async def sent_before(self, alert_id: int) -> list[dict[str, Any]]:
        """The records of the orders an earlier run of alert ``alert_id`` sent (cut by a crash, or
        by a wait for the broker or the disk), each marked ``earlier_run``, for an alert that expired
        or whose run again did not place them: nothing meets them again, so each left unknown is
        asked of the broker now, and handed on if it cannot tell yet."""
        for row in self._ledger.for_alert(alert_id):
            cid = row["client_id"]
            if row["status"] == "unknown" and not await settled(self._database, self._ledger, self.broker, self._events,
                                                                 cid, alone=True, notifier=self._notifier):
                self.left_unknown(cid)
        return [{**_record(row["request"].get, row["result"] or _LOST), "earlier_run": True}
                for row in self._ledger.for_alert(alert_id)]

    def filled(self, fill: Fill) -> None:
        """``fill``, a deal at the broker, told to the dashboard's listeners. One of an order the
        ledger has refused (a close whose answer was lost, judged not executed while its position
        was open whole, that the trade server executed later) is ``overturned`` by the engine, before
        the fill is told done to the broker."""
        if self._events.listening:
            self._events.publish("fill", symbol=fill.symbol, ticket=fill.position, side=fill.side, volume=fill.volume,
                                 price=fill.price, profit=fill.profit, entry=fill.entry, reason=fill.reason,
                                 alert_id=fill.alert_id, plugin=fill.plugin)

    async def overturned(self, client_id: str) -> None:
        """The broker did ``client_id``'s request after all (a deal of it, a change or removal in effect
        late): one the ledger has refused (its answer lost, judged not executed) is settled as one answered
        unknown is, its record and its alert's taking what the broker now answers for it, and the trades
        chat told. Now, before the event that says so is told done to the broker: a crash after that would
        leave it refused for good (no start looks at a refused row again). Handed on (``left_unknown``)
        when it cannot be now: its alert's run goes on, the broker cannot tell yet, the disk."""
        if self._ledger.refusal(client_id) is not None and not await settled(
                self._database, self._ledger, self.broker, self._events, client_id, notifier=self._notifier):
            self.left_unknown(client_id)

    async def _unsent(self, client_id: str) -> None:
        """The broker could not serve ``client_id``'s request and sent nothing: its ledger row
        goes, so that an alert expiring while it waits does not say it may be live (a close by
        symbol that closed some positions first, which the broker knows, stays)."""
        try:
            if await self.broker.first_result(client_id) is not None:
                return
        except BrokerError:
            return
        await self._database.writable()
        self._ledger.unsent(client_id)

    async def _sent_before(self, request: OrderRequest) -> OrderRequest | None:
        """The request first sent under ``request``'s client id, if the broker answered it: its alert
        or broker event is run again (after a restart, or a wait for the broker), and ``on_order``, which
        now sees what that order did (``one_position.lua``: the position it opened), is not asked again;
        its veto would write the order vetoed in the ledger, never gone, though the broker did it. The
        first request as sent (with its ``on_order`` changes); ``request`` itself if the plugin now asks
        another order under that id (``OrderLedger.clash``: the broker's repeat is refused). None: never
        sent. Raises BrokerError as ``Broker.first_result`` does."""
        first = self._ledger.request(request.client_id)
        if first is None or await self.broker.first_result(request.client_id) is None:
            return None
        return request if self._ledger.clash(request) is not None else OrderRequest(**first)

    async def _vetoed(self, request: OrderRequest, result: OrderResult) -> None:
        await self._database.writable()
        self._ledger.finish(request, "vetoed", result)

    async def _execute(self, request: OrderRequest, late: str | None = None) -> OrderResult:
        """An entry a limit refused before a restart stays refused, answered as a repeat: the
        trader was told so, and no broker keeps that refusal to answer it again. An order of a run
        begun at another account than the one traded on now (an alert's, a timer's call, a broker
        event's hooks) is refused, unless the broker answers it already (it went before the change)."""
        if self._limits.apply_to(request) and is_breach(said := self._ledger.refusal(request.client_id)):
            return replace(OrderResult.refused(said), duplicate=True)
        run = _run.get()
        if (said := self.elsewhere(run.account if run is not None else None)) is not None \
                and await self.broker.first_result(request.client_id) is None:
            return OrderResult.refused(said)
        return await super()._execute(request, late)

    async def _send(self, request: OrderRequest, run: Run | None, late: str | None = None) -> OrderResult:
        if run is not None:
            await run.journaled.wait()
            if run.first_call is None:
                run.first_call = perf_counter()
        latency = (perf_counter() - run.received) * 1000 if run is not None else None
        if latency is not None and run is not None and run.alert_id is not None:
            self._monitor.latency(run.alert_id, latency)
        await self._database.writable()
        self._ledger.sending(request)
        sent = perf_counter()
        try:
            result = await self._execute(request, late)
        except BrokerError:
            await self._unsent(request.client_id)
            raise
        clash = self._ledger.clash(request) if result.duplicate else None
        await self._database.writable()
        if clash is not None:  # the ledger keeps the first order under its client id, with its answer
            self._ledger.answered(request.client_id, result)
            result = OrderResult.refused(clash)
        else:
            self._metrics.executed(request, result, sent, run)
            self._ledger.finish(request, "done" if result.ok else "unknown" if result.unknown else "refused", result,
                                latency)
            if result.unknown:   # settled when the broker can tell, its alert's outcome too (unsettled.py)
                self.left_unknown(request.client_id)
        if not result.ok and not result.duplicate:
            self._notifier.send("trades", *describe_not_done(request, result))
        return result

    def _told(self, request: OrderRequest, result: OrderResult, record: dict[str, Any]) -> None:
        """``order.placed`` or ``order.refused``, once the ledger has the broker's answer."""
        if not self._events.listening:
            return
        run = _run.get()
        alert_id = request.alert_id if request.alert_id is not None else (run.alert_id if run else None)
        if result.ok:
            self._events.publish("order.placed", alert_id=alert_id, plugin=request.plugin, symbol=request.symbol,
                                 side=request.side,
                                 volume=result.volume if result.volume is not None else request.volume,
                                 ticket=result.ticket, price=result.price, order=request.kind,
                                 client_id=request.client_id)
        else:
            self._events.publish("order.refused", alert_id=alert_id, plugin=request.plugin, symbol=request.symbol,
                                 reason=result.error, side=request.side, volume=request.volume, order=request.kind,
                                 client_id=request.client_id)


_LOST = {"ok": False, "unknown": True, "error": "its answer was lost; it is looked for at the broker, and never sent "
                                                "again"}


def _record(field: Callable[[str], Any], result: dict[str, Any]) -> dict[str, Any]:
    """An order's record in its alert's outcome: the request's fields (``field(name)``, of an
    OrderRequest or of its ledger row's plain request) and the broker's ``result``."""
    record = {"client_id": field("client_id"), "plugin": field("plugin"), "kind": field("kind")}
    record.update((k, v) for k in SENT if (v := field(k)) is not None)
    record.update(result)
    return record
