"""A close of one MetaTrader 5 position (``MT5Broker._close_position``): sent in parts of at most the symbol's
``volume_max`` (a position larger than it, the maximum lowered since it opened, could never be closed: refused
before sending, or by the trade server with 10014), and again for the rest of a part the market filled in part
(10010: IOC on a thin book), each part under a tag of its own, so sent once. A position the symbol's step or
minimum, raised since it opened, leaves lots of that no close can close (0.05 of 0.15 at a step of 0.1) has what
can be closed closed, and the rest said in its refusal, never sent to be refused by the trade server."""

from __future__ import annotations

from dataclasses import replace
from functools import partial
from itertools import count
from typing import Any, Iterator

from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.orders import closable_volume, deal_request, fillings, normalise_volume, tag_for
from engine.adapters.brokers.mt5.send import Sender
from engine.domain.orders import OrderRequest, OrderResult
from engine.domain.rules import closable_whole


async def close(b: Any, sender: Sender, r: OrderRequest, p: dict[str, Any], volume: float | None,
                part: str = "") -> OrderResult:
    """Closes ``volume`` lots of position ``p`` (all of it when None) for ``b``, the MT5 broker, in parts of at
    most the symbol's ``volume_max``. A part the market fills in part (10010: IOC on a thin book) is sent again
    for the rest, each part under a tag of its own, the market's parts at most ``retries`` times more;
    refused then, its volume is what was closed. Run again after a crash, the parts sent answer as they did."""
    symbol = b.config.from_broker(p["symbol"])
    info = await b.symbol_info(symbol)
    side = "sell" if c.POSITION_SIDES.get(p["type"]) == "buy" else "buy"
    tags = (tag_for(r.client_id, r.alert_id, f"{part}~{n}" if n else part) for n in count())
    left = round(p["volume"] + _closed_before(b, tags), 8)   # p was read after what they closed
    stuck = None
    if volume is None or volume >= left - 1e-9:   # the whole: a step raised since may leave lots no close takes
        want, stuck = closable_whole(left, info["name"], info["volume_step"], info["volume_min"])
        stuck = stuck and stuck.format(what=f"position {p['ticket']}")
        if not want:
            return OrderResult.refused(stuck)
    else:
        want = min(closable_volume(volume, info), left)
    fills, fresh, filled, partials = fillings(info, False), partial(b._fresh_price, symbol, side), 0.0, 0
    for n in count():
        tick = await b.tick(symbol)
        request = deal_request(p["symbol"], side, normalise_volume(min(want - filled, info["volume_max"]), info),
                               tick["ask"] if side == "buy" else tick["bid"], magic=p["magic"],
                               tag=tag_for(r.client_id, r.alert_id, f"{part}~{n}" if n else part),
                               deviation=b.config.deviation, filling=fills[0], position=p["ticket"])
        result = await sender.send(r, request, fills, fresh)   # a part sent before answers as it did
        if not result.ok:
            said = f"closed {filled:g} of {want:g} lots of position {p['ticket']}; the rest: {result.error}"
            return result if not filled else replace(result, volume=filled, error=said)
        got = result.volume or request["volume"]
        filled, partials = round(filled + got, 8), partials + (got < request["volume"] - 1e-9)
        if filled >= want - 1e-9:
            return replace(result, volume=filled) if stuck is None else \
                replace(result, ok=False, volume=filled, error=f"closed {filled:g} of {left:g} lots; {stuck}")
        if partials > b.config.retries:
            break
    said = f"closed {filled:g} of {want:g} lots of position {p['ticket']}: the market filled it in part"
    return OrderResult(ok=False, volume=filled, error=f"{said} {partials} times; the rest is open")


def _closed_before(b: Any, tags: Iterator[str]) -> float:
    """The lots the parts an earlier run sent (``tags``, in order, up to the first never sent) closed, as the
    book has them done: run again after a crash, the close measures what is left past them. One the book has
    refused (judged not executed) is sent again; the position read before it still holds its lots."""
    closed = 0.0
    for tag in tags:
        if (sent := b.book.send(tag)) is None:
            return closed
        if sent["result"] and sent["result"].get("ok"):
            closed += sent["result"].get("volume") or sent["request"]["volume"]
    return closed
