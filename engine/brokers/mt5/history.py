"""What happened at the broker, read back from MetaTrader: fills and closes from the deal
history, told as events whoever caused them (our orders, a stop or target hit, a pending
order triggered), and a send whose answer was lost found again by the tag it carries.

Only moonhook's deals become events (a magic number it gave, or its tag in the comment):
positions opened by hand are shown by ``positions()``, never acted on.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from ..base import Closed, Event, Fill
from . import constants as c

if TYPE_CHECKING:
    from .broker import MT5Broker

WATERMARK = "deals_read_until"
DAY = 86_400
_ALERT = re.compile(r"^mh:a(\d+):")


class History:
    def __init__(self, broker: "MT5Broker"):
        self._b = broker
        self._seen: dict[int, float] = {}  # deal ticket -> its time, for deals at the watermark's second

    async def start(self) -> None:
        """At the first start ever, history before now is not replayed as events."""
        if self._b.book.get_state(WATERMARK) is None:
            deals = await self._deals(self._b.clock() - DAY)
            latest = max((d["time"] for d in deals), default=int(self._b.clock()))
            await self._b.write(self._b.book.put_state, WATERMARK, str(latest))
            self._seen = {d["ticket"]: d["time"] for d in deals}

    async def poll(self) -> list[Event]:
        """The events of the deals made since the last poll; the broker emits them."""
        since = float(self._b.book.get_state(WATERMARK) or self._b.clock())
        deals = sorted((d for d in await self._deals(since) if d["ticket"] not in self._seen),
                       key=lambda d: (d.get("time_msc") or d["time"] * 1000, d["ticket"]))
        events: list[Event] = []
        for deal in deals:
            self._seen[deal["ticket"]] = deal["time"]
            if self._ours(deal) and deal["entry"] in (c.DEAL_ENTRY_IN, c.DEAL_ENTRY_OUT, c.DEAL_ENTRY_OUT_BY):
                events.extend(await self._events(deal))
        if deals:
            latest = max(d["time"] for d in deals)
            self._seen = {t: at for t, at in self._seen.items() if at >= latest}
            await self._b.write(self._b.book.put_state, WATERMARK, str(latest))
        return events

    async def find(self, tag: str, since: float) -> dict[str, Any] | None:
        """Where a send tagged ``tag`` went: its position, pending order or deal, or None."""
        for fn in ("positions_get", "orders_get"):
            for item in await self._b.query(fn) or ():
                if item.get("comment") == tag:
                    return {"ticket": item["ticket"], "price": item.get("price_open"),
                            "volume": item.get("volume") or item.get("volume_current")}
        for deal in await self._deals(since):
            if deal.get("comment") == tag:
                return {"ticket": deal["position_id"], "price": deal["price"], "volume": deal["volume"], "deal": deal["ticket"]}
        for order in await self._b.query("history_orders_get", int(since) - DAY, int(self._b.clock()) + DAY) or ():
            if order.get("comment") == tag:
                return {"ticket": order["ticket"], "price": order.get("price_open"),
                        "volume": order.get("volume_initial")}
        return None

    # -- deals to events ------------------------------------------------------------------------

    async def _deals(self, since: float) -> list[dict[str, Any]]:
        return list(await self._b.query("history_deals_get", int(since) - 1, int(self._b.clock()) + DAY) or ())

    def _ours(self, deal: dict[str, Any]) -> bool:
        return self._b.book.plugin_of(deal.get("magic") or 0) is not None or str(deal.get("comment", "")).startswith("mh:")

    async def _events(self, deal: dict[str, Any]) -> list[Event]:
        b = self._b
        entry = "in" if deal["entry"] == c.DEAL_ENTRY_IN else "out"
        tag = str(deal.get("comment") or "")
        send = b.book.send(tag) if tag.startswith("mh:") else None
        if entry == "in":
            reason = "pending" if send is not None and send["kind"] == "pending" else "market"
        else:
            reason = c.DEAL_REASONS.get(deal.get("reason"), "close")
        alert = _ALERT.match(tag)
        fill = Fill(deal["ticket"], deal.get("order") or 0, deal["position_id"], b.config.from_broker(deal["symbol"]),
                    c.DEAL_SIDES.get(deal["type"], "buy"), deal["volume"], deal["price"], entry, reason,
                    float(deal["time"]), float(deal.get("profit") or 0.0), float(deal.get("commission") or 0.0),
                    b.book.plugin_of(deal.get("magic") or 0), send["client_id"] if send else None,
                    int(alert[1]) if alert else None)
        if entry == "in" or await b.query("positions_get", ticket=deal["position_id"]):
            return [fill]
        deals = await b.query("history_deals_get", position=deal["position_id"]) or []
        opening = next((d for d in deals if d["entry"] == c.DEAL_ENTRY_IN), None)
        outs = [d for d in deals if d["entry"] != c.DEAL_ENTRY_IN] or [deal]
        side = c.DEAL_SIDES.get(opening["type"], "buy") if opening else ("sell" if fill.side == "buy" else "buy")
        closed = Closed(deal["position_id"], fill.symbol, side, round(sum(d["volume"] for d in outs), 8),
                        opening["price"] if opening else deal["price"], deal["price"],
                        round(sum(float(d.get("profit") or 0) for d in outs), 2) + 0.0,
                        reason if reason in ("sl", "tp") else "close", float(deal["time"]), fill.plugin)
        return [fill, closed]
