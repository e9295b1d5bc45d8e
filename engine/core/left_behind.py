"""What a plugin taken out of service for good leaves behind: its positions and pending orders at
the broker, and its store. They stay as they are; but no version of the plugin sees their fills,
closes and cancels any more, so a script deleted (or renamed to another plugin name) with a
position open would otherwise leave it unmanaged without a word."""

from __future__ import annotations

import logging
from typing import Any, Callable

from engine.core.plugins import Plugin
from engine.core.services import Host
from engine.domain.orders import BrokerError
from engine.domain.words import counted

log = logging.getLogger("moonhook.plugins")


async def tell_left_behind(plugin: Plugin, host: Host, tell: Callable[[str], None]) -> None:
    """Says in the log (WARNING) and through ``tell`` what ``plugin``, whose file is gone, leaves:
    its open positions and pending orders (by ticket) and its store's keys; nothing when it
    leaves nothing. A broker that cannot answer now is said too, never raised."""
    name = plugin.name
    try:
        positions, orders = (_tickets(await host.market.positions(), name), _tickets(await host.market.orders(), name))
        held = [counted(len(positions), "open position") + _listed(positions)] if positions else []
        held += [counted(len(orders), "pending order") + _listed(orders)] if orders else []
    except BrokerError as e:
        held = [f"positions and orders unknown (the broker cannot answer now: {e})"]
    if keys := len(host.store.keys(name)):
        held.append(f"{counted(keys, 'key')} in its store")
    if not held:
        return
    said = (f"plugin {name}: {plugin.path.name} deleted, leaves {', '.join(held)}: they stay as they are; no version "
            f"of {name} sees their fills, closes and cancels until a script names it again (its store is kept for it)")
    log.warning("%s", said)
    tell(said)


def _tickets(rows: list[dict[str, Any]], name: str) -> list[int]:
    return [row["ticket"] for row in rows if row.get("plugin") == name]


def _listed(tickets: list[int]) -> str:
    shown = ", ".join(str(t) for t in tickets[:10])
    return f" ({shown}{' ...' if len(tickets) > 10 else ''})" if tickets else ""
