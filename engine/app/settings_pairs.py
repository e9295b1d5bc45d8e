"""Settings of moonhook.toml that each pass their own check but defeat one another: a limit
another setting keeps from ever acting, or one that refuses what the other asks for. Each is
told as a warning by ``moonhook check``, naming both keys and their values; the engine runs
with them as they are."""

from __future__ import annotations

from engine.domain.config import Settings


def defeated(settings: Settings) -> list[str]:
    """What each pair of settings that defeat one another does, in words (empty: none)."""
    server, engine = settings.server, settings.engine
    said = []
    if server.max_connections_per_ip >= server.max_connections:
        said.append(f"server.max_connections_per_ip = {server.max_connections_per_ip} is not below "
                    f"server.max_connections = {server.max_connections}: one address may take every connection, "
                    "so the per-address limit never acts; set it lower (by default 128 of 512)")
    if engine.default_volume is not None and engine.max_order_volume is not None \
            and engine.default_volume > engine.max_order_volume:
        said.append(f"engine.default_volume = {engine.default_volume:g} is above engine.max_order_volume = "
                    f"{engine.max_order_volume:g}: every entry sized by the default (an alert with neither volume "
                    "nor risk) is refused")
    if engine.max_spread_wait and not engine.max_spread_pips:
        said.append(f"engine.max_spread_wait = {engine.max_spread_wait:g} waits for a spread to narrow below "
                    "engine.max_spread_pips, which is not set: no entry is ever held, so the wait never acts")
    if engine.broker == "paper" and engine.min_equity is not None and engine.min_equity >= engine.paper.balance:
        said.append(f"engine.min_equity = {engine.min_equity:g} is not below paper.balance = "
                    f"{engine.paper.balance:g}: the paper account starts at or under the equity entries stop at, "
                    "so every entry is refused")
    return said
