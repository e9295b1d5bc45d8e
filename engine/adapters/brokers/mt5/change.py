"""A stop change (a modify) at MetaTrader 5: the position or pending order it is for, and the
request that changes it (``orders.modify_request``), measured at the market now as the trade
server would measure it (``orders.check_change``: the stops level, the freeze level; nothing to
change is done). The change itself (``MT5Broker.execute``) and the dry run's check
(``MT5Broker.check``) both build it here: what a check says is what the change would meet."""

from __future__ import annotations

from typing import Any, Protocol

from engine.adapters.brokers.mt5.orders import modify_request, tag_for
from engine.adapters.brokers.mt5.session import Unknown
from engine.domain.config.mt5 import MT5Config
from engine.domain.orders import BrokerError, OrderRequest
from engine.domain.rules import Refused, ticket_of


class Terminal(Protocol):
    """What a change needs of the broker (MT5Broker is one)."""

    config: MT5Config

    async def query(self, fn: str, *args: Any, deadline: float | None = None, **kwargs: Any) -> Any: ...

    async def symbol_info(self, symbol: str | None) -> dict[str, Any]: ...

    async def tick(self, symbol: str) -> dict[str, Any]: ...


def gone(ticket: int) -> Refused:
    return Refused(f"ticket {ticket}: no open position or pending order")


async def target(terminal: Terminal, ticket: int) -> tuple[dict[str, Any] | None, bool]:
    """The open position ``ticket`` (and True), else the pending order (and False), else None.
    Raises Unknown when MetaTrader cannot be asked."""
    position = await terminal.query("positions_get", ticket=ticket)
    found = position or await terminal.query("orders_get", ticket=ticket)
    return (found[0] if found else None), bool(position)


async def request(terminal: Terminal, r: OrderRequest, row: dict[str, Any], position: bool) -> dict[str, Any] | None:
    """The request changing ``row`` as ``r`` asks, at the symbol's market now; None when ``row`` is
    as asked already. Raises Refused for what the trade server would refuse (``modify_request``)."""
    symbol = terminal.config.from_broker(row["symbol"])
    info, tick = await terminal.symbol_info(symbol), await terminal.tick(symbol)
    return modify_request(r, row, position, info, tag_for(r.client_id, r.alert_id), tick)


async def check(terminal: Terminal, r: OrderRequest) -> str | None:
    """Why the change ``r`` would be refused now, in the words ``execute`` would say it, sending
    nothing; None if it would be done (a change to the stops already set is). Raises BrokerError
    when MetaTrader cannot be asked."""
    try:
        ticket = ticket_of(r.ticket)
        row, position = await target(terminal, ticket)
        if row is None:
            raise gone(ticket)
        await request(terminal, r, row, position)
    except Refused as e:
        return str(e)
    except Unknown as e:
        raise BrokerError(str(e)) from None
    return None
