"""What an alert leads to: its plugins' ``on_alert`` chain, then the trend it sets or the
orders of the default execution placed through a desk (every order passes the other plugins'
``on_order`` there).

One place for it, run by the live engine (``engine.py``: the real broker, the desk with its
ledger) and by a trial (``trial.py``: a broker of its own, for replay and shadow mode), so
what a replay or the shadow decides is what the engine would have decided.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, Awaitable, Callable, Protocol

from engine.adapters.brokers.base import Broker
from engine.core import execution
from engine.core.hooks import Hooks
from engine.core.run import Run
from engine.domain.alerts import Action, Alert
from engine.domain.config import EngineConfig
from engine.domain.orders import OPENING, OrderRequest, OrderResult


class Placer(Protocol):
    """Where an accepted alert's orders go: through ``on_order``, to the broker once."""

    async def place(self, request: OrderRequest, origin: str) -> OrderResult: ...

    async def place_if(self, request: OrderRequest, origin: str,
                       needed: Callable[[], Awaitable[bool]] | None = None) -> OrderResult | None: ...

    async def sent_before(self, alert_id: int) -> list[dict[str, Any]]: ...


@dataclass
class Decider:
    """``trend(alert)`` records a trend alert's state (the engine: once the alert is durable);
    ``plans`` keeps the plans written ahead (the engine's; a trial never restarts). ``config``
    follows a saved moonhook.toml (``following.py``)."""

    config: EngineConfig
    broker: Broker
    hooks: Hooks
    desk: Placer
    trend: Callable[[Alert], Awaitable[None]]
    clock: Callable[[], float]
    plans: execution.Plans | None = None

    async def decide(self, alert_id: int, alert: Alert, run: Run) -> tuple[str, dict[str, Any]]:
        """The alert's status (done, rejected, failed) and outcome, as the journal keeps them:
        ``plugins`` (each on_alert step), ``orders`` (``run.orders``), ``versions`` (of each plugin
        whose hooks it called: ``run.versions``, filled as they are), and the rejection, the
        error, the note or who handled it. Raises what the broker raises (BrokerError)."""
        if alert.market_price is not None:
            await self.broker.quote(alert.symbol, alert.market_price, self.clock(), alert.timenow)
        plain = {**alert.to_plain(), "alert_id": alert_id}
        verdict = await self.hooks.on_alert(alert, plain)
        outcome: dict[str, Any] = {"plugins": verdict.steps, "orders": run.orders, "versions": run.versions}
        if verdict.rejected_by:
            outcome.update(rejected_by=verdict.rejected_by, reason=verdict.reason)
            if self.config.execute_alerts:  # a refused reversal still leaves the position the strategy left
                for request in await execution.reversal(alert, alert_id, self.broker):
                    result = await self._place(request, {})
                    done = ("closed meanwhile by another order" if result is None else
                            f"{'closed' if result.ok else 'NOT closed: ' + str(result.error)} all the same")
                    outcome["note"] = (f"the {request.side} position on {request.symbol} was {done}: "
                                       f"the strategy is {alert.position} now")
            status = "rejected"
        else:
            final = Alert.from_plain(verdict.data) if verdict.data is not plain else alert
            status = await self._execute(final, alert_id, verdict.handled_by, outcome)
        return await self._run_again(alert_id, status, outcome) if run.rerun else (status, outcome)

    async def _run_again(self, alert_id: int, status: str, outcome: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The outcome of an alert run again (its earlier run cut by a restart, or by a wait for the
        broker or the disk) with the orders that run sent and this one did not place again (a plugin
        that decides otherwise now: a flag its first run set): they stand, and are listed first, each
        ``earlier_run``, or a trader reading it would not see what the alert left live. The alert is
        what they came to as well (failed while one is refused or not known). A rejection now, one of
        them done or not known, is a note: its guards, run again, see what those did (``one_position.lua``:
        the position it opened) and cannot undo it; not told to the trades chat as one."""
        now = {o["client_id"] for o in outcome["orders"]}   # this run's (a refused reversal's close)
        earlier = [o for o in await self.desk.sent_before(alert_id) if o["client_id"] not in now]
        if not earlier:
            return status, outcome
        orders = outcome["orders"] = [*earlier, *outcome["orders"]]
        if status == "rejected":
            if not any(o.get("ok") or o.get("unknown") for o in earlier):
                return status, outcome
            by, reason = outcome.pop("rejected_by"), outcome.pop("reason")
            said = f"its earlier run's orders stand; run again, it was rejected by {by}: {reason}"
        else:
            ids = ", ".join(o["client_id"] for o in earlier)
            said = f"its earlier run's {ids} {'stands' if len(earlier) == 1 else 'stand'}, not placed again"
        outcome["note"] = f"{outcome['note']}; {said}" if outcome.get("note") else said
        return ("done" if status != "failed" and all(o.get("ok") for o in orders) else "failed"), outcome

    async def _execute(self, alert: Alert, alert_id: int, handled_by: str | None, outcome: dict) -> str:
        if alert.action is Action.TREND:
            await self.trend(alert)
            outcome["trend"] = f"{alert.symbol} {alert.timeframe} {alert.state}"
            return "done"
        if handled_by:
            outcome["handled_by"] = handled_by
            return "done"
        if not self.config.execute_alerts or alert.action is None:
            outcome["note"] = "not executed: engine.execute_alerts is off" if alert.action else "no trading command"
            return "done"
        plan = await execution.plan(alert, alert_id, self.broker, self.config.default_volume, self.plans)
        if plan.note:
            outcome["note"] = plan.note
        results = [await self._place(r, outcome) for r in plan.requests]
        if plan.error:
            outcome["error"] = plan.error
            return "failed"
        return "done" if all(r.ok for r in results if r is not None) else "failed"

    async def _place(self, request: OrderRequest, outcome: dict) -> OrderResult | None:
        """Places one of the default execution's orders. A close by symbol, planned on the
        positions read before its turn at the desk, is sent only if it still has one to close
        there: a plugin's close of the symbol placed meanwhile (from another symbol's alert, a
        timer) leaves nothing to it, and the alert is not failed for it (None, and a note)."""
        if request.kind != "close" or request.ticket is not None:
            return await self.desk.place(request, origin=execution.ENGINE)
        result = await self.desk.place_if(request, execution.ENGINE,
                                          partial(execution.still_to_close, self.broker, request))
        if result is None:
            side = f"{request.side} " if request.side else ""
            said = f"no {side}position left on {request.symbol} to close: closed by an order placed meanwhile"
            outcome["note"] = f"{outcome['note']}; {said}" if outcome.get("note") else said
        return result


def amend(request: OrderRequest, data: dict[str, Any]) -> OrderRequest:
    """``request`` with the changes the ``on_order`` chain made to it (``data``, the chain's
    final order); a stop or target set to 0 removes it."""
    changes = {k: v for k, v in data.items() if getattr(request, k, None) != v}
    if request.kind in OPENING:
        changes.update({k: None for k in ("sl", "tp") if data.get(k) == 0})
    return request.with_changes(changes) if changes else request
