"""The account's hard limits: ``engine.max_order_volume`` (lots in one opening order),
``engine.max_open_positions`` (positions and pending orders open at the broker) and
``engine.max_price_gap_pct`` (how far the broker's price may be from the one a market entry was
asked at: the chart's feed is not the broker's, and a market can run between them).

A fat finger (``units=1000000``), a script placing orders on every tick, or an alert sent in a
loop stops at them, whoever places the order: the engine, a plugin or an administrator. They
are checked at the desk after ``on_order`` (a plugin cannot raise a volume past them), on
entries only: a close or a stop change is never held back.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.adapters.brokers.base import Broker
from engine.domain.config import EngineConfig
from engine.domain.orders import OPENING, OrderRequest


BREACH = "over engine."  # how a refusal by a limit begins


def is_breach(error: str | None) -> bool:
    """Whether ``error`` is a limit's refusal (``Limits.breach``)."""
    return bool(error) and error.startswith(BREACH)


@dataclass(frozen=True)
class Limits:
    max_volume: float | None = None
    max_positions: int | None = None
    max_gap_pct: float | None = None

    @classmethod
    def of(cls, config: EngineConfig) -> "Limits":
        return cls(config.max_order_volume, config.max_open_positions, config.max_price_gap_pct)

    def apply_to(self, request: OrderRequest) -> bool:
        """Whether ``request`` is an entry with a limit to pass."""
        return request.kind in OPENING and (self.max_volume is not None or self.max_positions is not None
                                            or self._gap_applies(request))

    def _gap_applies(self, request: OrderRequest) -> bool:
        return self.max_gap_pct is not None and request.kind == "market" and bool(request.price)

    async def breach(self, request: OrderRequest, broker: Broker) -> str | None:
        """Why ``request`` would pass a limit, or None. Reads the broker's positions and orders
        when ``max_positions`` is set, its price when ``max_gap_pct`` is (raises what the broker
        raises); a broker without a quote for the symbol leaves the gap unmeasured."""
        if self.max_volume is not None and request.volume is not None and request.volume > self.max_volume + 1e-9:
            return f"{BREACH}max_order_volume: {request.volume:g} lots asked, at most {self.max_volume:g}"
        if self.max_positions is not None:
            held = len(await broker.positions()) + len(await broker.orders())
            if held >= self.max_positions:
                return (f"{BREACH}max_open_positions: {held} positions and pending orders are open, "
                        f"at most {self.max_positions}")
        if self._gap_applies(request) and (quote := await broker.price(request.symbol)) is not None:
            side = "ask" if request.side == "buy" else "bid"
            asked, now = request.price, quote[side]
            gap = abs(now - asked) / asked * 100
            if gap > self.max_gap_pct + 1e-9:
                return (f"{BREACH}max_price_gap_pct: the broker's {side} {now:g} is {gap:.2f}% from the price "
                        f"{asked:g} the entry was asked at, at most {self.max_gap_pct:g}%")
        return None
