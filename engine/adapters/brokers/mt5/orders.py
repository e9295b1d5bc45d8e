"""MetaTrader requests from the engine's: the tag each carries, the filling type a symbol
allows, volumes on the symbol's step, prices on its tick grid, stops at its minimum distance,
a pending order's expiry on the server's clock.
Pure functions: what they refuse is refused before anything is sent."""

from __future__ import annotations

import math

import base64
import hashlib
from typing import Any

from engine.domain import rules
from engine.domain.instruments import on_tick_grid
from engine.domain.orders import OrderRequest
from engine.domain.rules import Refused
from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.clock import ServerClock

COMMENT_MAX = 31  # MetaTrader cuts a comment here


def tag_for(client_id: str, alert_id: int | None = None, part: str = "") -> str:
    """The comment an order carries: "mh", its alert, and a hash of its client id (and part,
    when one request is several sends): unique, at most 31 characters, found again by it."""
    digest = base64.b32encode(hashlib.sha1(f"{client_id}|{part}".encode()).digest()).decode()[:10].lower()
    head = f"mh:a{alert_id}:" if alert_id is not None else "mh:"
    return (head + digest)[:COMMENT_MAX]


def fillings(info: dict[str, Any], pending: bool) -> list[int]:
    """The filling types to try, best first. A pending order rests in the book (RETURN); a
    market order fills completely or not at all where the symbol allows it (FOK), else what
    it can at once (IOC), else as the exchange returns it (RETURN). The wrong choice is the
    10030 error bridges are known for."""
    if pending:
        return [c.FILLING_RETURN]
    mode = int(info.get("filling_mode") or 0)
    allowed = [f for bit, f in ((c.SYMBOL_FILLING_FOK, c.FILLING_FOK), (c.SYMBOL_FILLING_IOC, c.FILLING_IOC))
               if mode & bit]
    return allowed or [c.FILLING_RETURN]


def normalise_volume(volume: float, info: dict[str, Any]) -> float:
    """``volume`` as the symbol takes it (``rules.volume_on_step``): rounded down to its step,
    refused below its minimum and above its maximum."""
    return rules.volume_on_step(volume, info["name"], info["volume_step"], info["volume_min"], info["volume_max"])


def closable_volume(volume: float, info: dict[str, Any]) -> float:
    """``volume`` lots of a position to close, rounded down to the symbol's step and refused below its
    minimum, but not above its maximum: a position larger than ``volume_max`` (lowered since it opened) is
    closed in parts of at most it (``MT5Broker._close_position``)."""
    return rules.volume_on_step(volume, info["name"], info["volume_step"], info["volume_min"], math.inf)


def normalise_price(price: float | None, info: dict[str, Any], name: str = "price") -> float | None:
    """``price`` on the symbol's tick grid (``instruments.on_tick_grid``, as sizing and the
    limits measure it); None and 0 (no stop) as they are. The trade server refuses any other
    price (10015, or 10016 for a stop), and TradingView's plots carry more decimals than a broker
    quotes (1.0840012345 on EURUSD; 5123.37 on an index quoted in quarters). Raises Refused, naming
    ``name``, for one that is not a positive number or that the grid makes 0: a stop loss of 1e-308
    would be sent as 0, MetaTrader's "no stop" (``rules.positive_price``)."""
    if price is None or price == 0:
        return price
    return rules.positive_price(name, price, lambda p: on_tick_grid(p, info), info.get("name", "the symbol"))


def check_stops(side: str, price: float, sl: float | None, tp: float | None, info: dict[str, Any],
                what: str = "the price") -> None:
    """Raises Refused for ``sl``/``tp`` on the wrong side of ``price`` (``what``: the bid a buy
    closes at, an order's price) or nearer to it than the symbol's stops level (what MetaTrader
    would refuse with 10016)."""
    rules.check_stops(side, price, sl or None, tp or None, what, info.get("trade_stops_level") or 0, info["point"],
                      info["name"], "its trade_stops_level")


def check_pending_price(side: str, kind: str, price: float, tick: dict[str, Any], info: dict[str, Any]) -> None:
    """Raises Refused for a pending order's ``price`` on the wrong side of the market at ``tick``
    (a buy limit waits under the ask, a buy stop over it; a sell's against the bid) or nearer it
    than the symbol's stops level: the trade server refuses either as "invalid price" (10015)."""
    where, market = ("the ask", tick["ask"]) if side == "buy" else ("the bid", tick["bid"])
    below = (side == "buy") == (kind == "limit")
    if price > market if below else price < market:   # at it: for the stops level, or the server, to say
        raise Refused(f"price {price:g}: a {side} {kind} must be {'below' if below else 'above'} {where} {market:g}")
    rules.check_level("price", price, market, where, info.get("trade_stops_level") or 0, info["point"], info["name"],
                      "its trade_stops_level")


def check_frozen(what: str, levels: dict[str, float], price: float, where: str, info: dict[str, Any]) -> None:
    """Raises Refused where one of ``levels`` (a position's sl and tp, a pending order's price) is
    within the symbol's freeze level of ``price`` (``where``: the bid or the ask it triggers on):
    the trade server changes and removes nothing so near its trigger (10029, "frozen")."""
    freeze = info.get("trade_freeze_level") or 0
    for name, level in levels.items():
        if freeze and level and abs(price - level) <= freeze * info["point"] + 1e-12:
            near = "its fill" if name == "price" else "its stop or target"
            raise Refused(f"{what}: its {name} {level:g} is {_points(price - level, info)} points from {where} "
                          f"{price:g}, within {info['name']}'s trade_freeze_level of {freeze}: the broker changes "
                          f"nothing of it so near {near}")


def _points(distance: float, info: dict[str, Any]) -> int:
    return round(abs(distance) / info["point"])


def fresh_price(side: str, tick: dict[str, Any], request: dict[str, Any], info: dict[str, Any]) -> float:
    """The price a market ``request`` (an entry, a close) is sent again at after a requote: the
    ask for a buy, the bid for a sell, at ``tick``. Raises Refused for an entry whose stops are now
    nearer the price than the symbol allows: the trade server would refuse it (10016) unexplained."""
    check_stops(side, tick["bid"] if side == "buy" else tick["ask"], request.get("sl"), request.get("tp"), info)
    return tick["ask"] if side == "buy" else tick["bid"]


def deal_request(symbol: str, side: str, volume: float, price: float, *, magic: int, tag: str, deviation: int,
                 filling: int, sl: float | None = None, tp: float | None = None,
                 position: int | None = None) -> dict[str, Any]:
    """A market deal: an entry, or with ``position`` a close of (part of) that position."""
    request = {"action": c.ACTION_DEAL, "symbol": symbol, "volume": volume, "type": c.ORDER_TYPES[side, None],
               "price": price, "deviation": deviation, "magic": magic, "comment": tag,
               "type_time": c.TIME_GTC, "type_filling": filling}
    if position is not None:
        request["position"] = position
    if sl:
        request["sl"] = sl
    if tp:
        request["tp"] = tp
    return request


def pending_request(symbol: str, side: str, kind: str, volume: float, price: float, *, magic: int, tag: str,
                    sl: float | None = None, tp: float | None = None, expiration: int | None = None) -> dict[str, Any]:
    """A pending order, good until cancelled, or until ``expiration`` (on the server's clock)."""
    request = {"action": c.ACTION_PENDING, "symbol": symbol, "volume": volume, "type": c.ORDER_TYPES[side, kind],
               "price": price, "magic": magic, "comment": tag, "type_time": c.TIME_GTC,
               "type_filling": c.FILLING_RETURN}
    if expiration:
        request.update(type_time=c.TIME_SPECIFIED, expiration=expiration)
    if sl:
        request["sl"] = sl
    if tp:
        request["tp"] = tp
    return request


def entry_request(r: OrderRequest, info: dict[str, Any], tick: dict[str, Any], deviation: int,
                  expires: int | None) -> tuple[dict[str, Any], list[int]]:
    """The request of the entry ``r`` (market at ``tick``, or pending, ``expires`` on the server's
    clock), its magic number 0 for the sender to set, and the filling types to try. Raises
    Refused for what MetaTrader would refuse: a volume off the symbol's bounds, stops on the
    wrong side or nearer than its stops level, a pending order without a type or a price, or
    its price on the wrong side of the market at ``tick`` or nearer it than that level."""
    side, tag = rules.side_of(r.side), tag_for(r.client_id, r.alert_id)
    volume = normalise_volume(r.volume, info)
    if r.kind == "market":
        sl, tp = normalise_price(r.sl, info, "sl"), normalise_price(r.tp, info, "tp")
        check_stops(side, tick["bid"] if side == "buy" else tick["ask"], sl, tp, info)  # where it closes
        fills = fillings(info, False)
        return deal_request(info["name"], side, volume, tick["ask"] if side == "buy" else tick["bid"], magic=0,
                            tag=tag, deviation=deviation, filling=fills[0], sl=sl, tp=tp), fills
    if r.type not in ("limit", "stop") or not r.price:
        raise Refused("a pending order needs type (limit or stop) and price")
    price, sl, tp = (normalise_price(p, info, n) for p, n in ((r.price, "price"), (r.sl, "sl"), (r.tp, "tp")))
    check_pending_price(side, r.type, price, tick, info)
    check_stops(side, price, sl, tp, info)
    return pending_request(info["name"], side, r.type, volume, price, magic=0, tag=tag, sl=sl, tp=tp,
                           expiration=expires), [c.FILLING_RETURN]


def modify_request(r: OrderRequest, row: dict[str, Any], position: bool, info: dict[str, Any],
                   tag: str, tick: dict[str, Any]) -> dict[str, Any] | None:
    """New stops for ``row``, a ``position`` (SLTP), or a new price and stops for ``row``, a
    pending order (MODIFY), which keeps its expiry; what ``r`` leaves out stays as it is. A new
    price for a position (the order filled meanwhile) is refused, as the paper broker refuses it.
    Raises Refused for what the trade server would refuse at ``tick`` (``check_change``). None when
    ``row`` is as asked already: nothing to send (the server would answer 10025, "no changes")."""
    if position and r.price is not None:
        raise rules.position_price(row["ticket"])
    sl = float(row["sl"] if r.sl is None else normalise_price(r.sl, info, "sl"))
    tp = float(row["tp"] if r.tp is None else normalise_price(r.tp, info, "tp"))
    price = float(row["price_open"] if position else normalise_price(r.price, info) or row["price_open"])
    if (price, sl, tp) == (float(row["price_open"]), float(row["sl"]), float(row["tp"])):
        return None
    check_change(r, row, position, price, sl, tp, info, tick)
    if position:
        return {"action": c.ACTION_SLTP, "position": row["ticket"], "symbol": row["symbol"], "comment": tag,
                "sl": sl, "tp": tp}
    request = {"action": c.ACTION_MODIFY, "order": row["ticket"], "symbol": row["symbol"], "comment": tag,
               "price": price, "sl": sl, "tp": tp, "type_time": row.get("type_time", c.TIME_GTC)}
    if request["type_time"] == c.TIME_SPECIFIED:
        request["expiration"] = int(row["time_expiration"])
    return request


def check_change(r: OrderRequest, row: dict[str, Any], position: bool, price: float, sl: float, tp: float,
                 info: dict[str, Any], tick: dict[str, Any]) -> None:
    """Raises Refused for a change of ``row`` (to ``price``, ``sl`` and ``tp``) the trade server
    would refuse at ``tick``: the row within the symbol's freeze level (10029), a new stop on the
    wrong side or nearer than its stops level (10016): a position's from the price it closes at
    (the bid for a buy), a pending order's from its price. The stops ``r`` leaves as they are
    are not measured again (unless the order's price moves), as the server took them before."""
    if position:
        side = c.POSITION_SIDES[row["type"]]
        where, market = ("the bid", tick["bid"]) if side == "buy" else ("the ask", tick["ask"])
        check_frozen(f"position {row['ticket']}", {"sl": row["sl"], "tp": row["tp"]}, market, where, info)
        check_stops(side, market, sl if r.sl is not None else None, tp if r.tp is not None else None, info, where)
        return
    side = c.ORDER_KINDS[row["type"]][0]
    where, market = ("the ask", tick["ask"]) if side == "buy" else ("the bid", tick["bid"])
    check_frozen(f"order {row['ticket']}", {"price": row["price_open"]}, market, where, info)
    moved = r.price is not None
    if moved:
        check_pending_price(side, c.ORDER_KINDS[row["type"]][1], price, tick, info)
    check_stops(side, price, sl if moved or r.sl is not None else None, tp if moved or r.tp is not None else None,
                info, "the order price")


def expiration(r: OrderRequest, info: dict[str, Any], server: ServerClock, now: float) -> int | None:
    """When the trade server is to remove the pending order ``r`` (on its clock), or None: good
    until cancelled. Refused where the symbol takes no expiry, or the server's clock is unknown
    (the order would expire hours off)."""
    if not r.expiry:
        return None
    if not (info.get("expiration_mode", 0) & c.SYMBOL_EXPIRATION_SPECIFIED):
        raise Refused(f"expiry: {r.symbol} takes no expiry time at this broker (its expiration_mode "
                      f"{info.get('expiration_mode')} has no SPECIFIED): send it without expiry")
    if not server.known:
        raise Refused("expiry: the server's clock is unknown, so the order would expire hours off; "
                      "set mt5.server_clock")
    return server.server(now + r.expiry)
