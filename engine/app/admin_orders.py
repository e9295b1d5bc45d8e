"""An administrator's orders (Telegram's /close and /cancel, the API's and the dashboard's):
placed through the order desk as the interface's plugin name, so every plugin's ``on_order``
sees each, the ledger records it, and it runs even while the engine is paused.

Each target is acted on alone: one that raises is answered with its exception and the others
still go; one no longer there (closed or filled since the question was shown) is answered None.
That is looked at again in the symbol's turn at the desk, right before the send: the same close
sent twice at once (a double click, two admins) finds the ticket gone there, sends nothing and
is answered None, not refused by the broker.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Awaitable, Callable, Hashable, Sequence, TypeVar

from engine.core import Engine
from engine.core.run import Run
from engine.domain.orders import OrderRequest, OrderResult

log = logging.getLogger("moonhook.operations")

Target = TypeVar("Target", bound=Hashable)
Results = list[tuple[Target, OrderResult | Exception | None]]


async def close_positions(engine: Engine, tickets: Sequence[int], *, plugin: str, origin: str,
                          comment: str) -> Results[int]:
    """Closes each position of ``tickets``, whole, by its ticket."""
    positions = {p["ticket"]: p for p in await engine.broker.positions()}

    async def still_open(ticket: int) -> bool:
        return any(p["ticket"] == ticket for p in await engine.broker.positions(positions[ticket]["symbol"]))
    return await _each(engine, tickets, set(positions), still_open, origin, plugin, "closing",
                       lambda ticket: engine.desk.new_request("close", plugin, symbol=positions[ticket]["symbol"],
                                                              ticket=ticket, comment=comment))


async def cancel(engine: Engine, tickets: Sequence[int], *, plugin: str, origin: str, comment: str) -> Results[int]:
    """Removes each pending order of ``tickets`` (a close by its ticket, of its type: one filled
    meanwhile is refused, its position left open)."""
    orders = {o["ticket"]: o for o in await engine.broker.orders()}

    async def still_pending(ticket: int) -> bool:
        return any(o["ticket"] == ticket for o in await engine.broker.orders(orders[ticket]["symbol"]))
    return await _each(engine, tickets, set(orders), still_pending, origin, plugin, "cancelling",
                       lambda ticket: engine.desk.new_request("close", plugin, symbol=orders[ticket]["symbol"],
                                                              ticket=ticket, type=orders[ticket]["type"],
                                                              comment=comment))


async def _each(engine: Engine, targets: Sequence[Target], still: set[Any], there: Callable[[Target], Awaitable[bool]],
                origin: str, plugin: str, doing: str, request: Callable[[Target], OrderRequest]) -> Results[Target]:
    """``still``: the targets there when read first; ``there(target)``: whether it still is, asked in its turn."""
    done: Results[Target] = []
    with engine.working(Run(None, "command")):
        for target in targets:
            if target not in still:
                done.append((target, None))
                continue
            try:
                done.append((target, await engine.desk.place_if(request(target), origin, partial(there, target))))
            except Exception as e:
                log.exception("%s %s for %s failed", doing, target, plugin)
                done.append((target, e))
    return done
