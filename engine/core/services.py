"""The service API: the host functions a plugin's script calls, bound to that plugin.

These names, with the safe standard library of ``sandbox/allowlist.py``, are all a script
can reach. Each is bound to one plugin by the engine, so a script never names itself: the
store it reads is its own, the orders it places carry its name.

Misuse (a wrong type, a missing field) raises ``HostError``: the script sees a catchable
error naming the field. A refused order is an answer, ``{ok=false, error=...}``.
"""

from __future__ import annotations

import functools
import inspect
import logging
import math
from collections import deque
from dataclasses import dataclass, field, replace
from typing import Any, Awaitable, Callable, Protocol

from sandbox import HostError, with_caller

from engine.adapters.notify import Notifier
from engine.adapters.storage import JournalError, PluginStore, StoreError, TrendBook
from engine.core import order_site
from engine.core.plugins import Plugin
from engine.core.order_caps import OrderCaps
from engine.core.run import current, writing
from engine.domain.alerts import MAX_EXPIRY, TREND_STATES, AlertError, SymbolMap
from engine.domain.logtext import one_line
from engine.domain.luatext import lua_text, lua_type
from engine.domain.orders import OPENING, PENDING_TYPES, SIDES, BrokerError, OrderRequest, OrderResult, ours
from engine.domain.risk import lot_size
from engine.domain.rules import filled_meanwhile

HostFunction = Callable[..., Awaitable[Any]]

# The whole service API, for reviewers: namespace -> functions.
SERVICE_API: dict[str, tuple[str, ...]] = {
    "account": ("info",),
    "market": ("symbol", "price"),
    "positions": ("list",),
    "orders": ("list", "market", "pending", "close", "cancel", "modify"),
    "risk": ("lot_size",),
    "trend": ("get", "set"),
    "store": ("get", "set", "delete", "keys"),
    "notify": ("send",),
    "log": ("debug", "info", "warn", "error"),
    "time": ("now",),
}


_ORDER_FIELDS = {
    "market": {"symbol", "side", "volume", "sl", "tp", "comment"},
    "pending": {"symbol", "side", "type", "price", "volume", "sl", "tp", "comment", "expiry"},
    "close": {"ticket", "symbol", "side", "volume", "comment"},
    "cancel": {"ticket", "comment"},
    "modify": {"ticket", "sl", "tp", "price"},
}
_MAX_LOG_CHARS = 2000
# A plugin's durable writes (store.set and .delete, trend.set) for one alert, timer tick or event:
# each returns once its commit is on disk, a wait its budget does not see (0.1 ms a host call), so
# a loop of them held the plugin, and the alerts its hooks see, for seconds of fsyncs.
MAX_PLUGIN_WRITES = 200
# A plugin's messages to the chat a minute; the rest are folded into one, then one a throttle
# window saying how many: a notify.send on every tick must not bury the messages that matter.
NOTIFY_PER_MINUTE = 20


class Market(Protocol):
    """What scripts may read of the broker (``engine.adapters.brokers.base.Broker``)."""

    async def account(self) -> dict[str, Any]: ...
    async def symbol(self, symbol: str) -> dict[str, Any] | None: ...
    async def price(self, symbol: str) -> dict[str, Any] | None: ...
    async def positions(self, symbol: str | None = None) -> list[dict[str, Any]]: ...
    async def orders(self, symbol: str | None = None) -> list[dict[str, Any]]: ...


class OrderDesk(Protocol):
    """Where scripts' orders go (``engine.core.desk.Desk``): through on_order, to the broker once."""

    def new_request(self, kind: str, plugin: str, **fields: Any) -> OrderRequest: ...
    async def place(self, request: OrderRequest, origin: str) -> OrderResult: ...


class Durable(Protocol):
    """The journal writer: ``write(fn)`` runs ``fn(db)`` in its next commit, returns once durable."""

    async def write(self, fn: Callable[[Any], Any]) -> None: ...


@dataclass
class Host:
    """Everything the service API reaches: a script can touch nothing of the engine but these.
    ``caps`` follows a saved moonhook.toml (``following.py``)."""

    market: Market
    desk: OrderDesk
    symbols: SymbolMap
    store: PluginStore
    trend: TrendBook
    durable: Durable
    notifier: Notifier
    clock: Callable[[], float]
    logs: str = "moonhook.plugin"   # the scripts' loggers: logs.<plugin name>
    caps: OrderCaps = field(default_factory=OrderCaps)   # what one plugin may place (order_caps.py)


def host_functions(host: Host, plugin: Plugin) -> dict[str, HostFunction]:
    """The service API for ``plugin``: dotted name -> async function."""
    broker, symbols = host.market, host.symbols

    def symbol_arg(fn: str, value: Any) -> str:
        if not isinstance(value, str):
            raise HostError(f"{fn}: the symbol must be a string, got {lua_type(value)}")
        try:
            return symbols.normalize(value)
        except AlertError as e:
            raise HostError(f"{fn}: {e.message}") from None

    async def account_info() -> dict:
        return await broker.account()

    async def market_symbol(symbol: Any = None) -> dict | None:
        return await broker.symbol(symbol_arg("market.symbol", symbol))

    async def market_price(symbol: Any = None) -> dict | None:
        return await broker.price(symbol_arg("market.price", symbol))

    async def positions_list(symbol: Any = None) -> list:
        return await broker.positions(symbol_arg("positions.list", symbol) if symbol is not None else None)

    async def orders_list(symbol: Any = None) -> list:
        return await broker.orders(symbol_arg("orders.list", symbol) if symbol is not None else None)

    def order(kind: str) -> HostFunction:
        fn = f"orders.{kind}"

        async def place(spec: Any = None) -> dict:
            if current.get() is None:   # on_load, on_unload: run again at every start, save and stop
                raise HostError(f"{fn}: refused in on_load and on_unload, which run at every start, save and "
                                "stop: place orders from on_alert, on_timer or on_fill, on_close, on_cancel")
            host.caps.take(plugin.name, kind, fn, host.clock)
            request = _order_request(host.desk, plugin, kind, fn, spec, symbol_arg)
            if request.ticket is not None:
                request = await _of_ticket(host.market, request, kind)
                if not isinstance(request, OrderRequest):
                    return OrderResult.refused(request).to_plain()
            with order_site.placing(plugin):   # a malformed order's advice names the script's line
                result = await host.desk.place(request, origin=plugin.name)
            if result.unknown:  # not a refusal: a script retrying it as another order could trade twice
                raise HostError(f"{fn}: {result.error}; look at positions.list before placing another"[:300])
            return result.to_plain()
        return place

    async def risk_lot_size(spec: Any = None) -> tuple[float, str | None]:
        if not isinstance(spec, dict):
            raise HostError("risk.lot_size: expects a table {symbol=, risk_pct= or risk_amount=, sl= or sl_points=}")
        _only("risk.lot_size", spec, {"symbol", "risk_pct", "risk_amount", "sl", "sl_points", "price"})
        sym = symbol_arg("risk.lot_size", spec.get("symbol"))
        numbers = {k: _number("risk.lot_size", k, spec.get(k))
                   for k in ("risk_pct", "risk_amount", "sl", "sl_points", "price")}
        info = await broker.symbol(sym)
        if info is None:
            return 0.0, f"unknown symbol {sym}"
        price = numbers.pop("price")
        if price is None and (numbers["sl"] is not None or info.get("account_is_base")):
            quote = await broker.price(sym)
            if quote is None:
                return 0.0, f"no price for {sym} to measure the stop from; pass price="
            # Where the entry fills: a stop under the market is a buy's (at the ask), over it a sell's;
            # sl_points where the loss converts at the stop's price: from the bid, the lower stop.
            sl = numbers["sl"]
            price = quote["ask"] if sl is not None and sl < (quote["bid"] + quote["ask"]) / 2 else quote["bid"]
        balance = (await broker.account())["balance"]
        sizing = lot_size(info, balance=balance, price=price, **numbers)
        return sizing.volume, sizing.reason

    async def trend_get(symbol: Any = None, timeframe: Any = None) -> str | None:
        if timeframe is not None and not isinstance(timeframe, str):
            raise HostError(f"trend.get: the timeframe must be a string, got {lua_type(timeframe)}")
        return host.trend.get(symbol_arg("trend.get", symbol), timeframe)

    async def trend_set(symbol: Any = None, timeframe: Any = None, state: Any = None) -> None:
        if not isinstance(timeframe, str) or not 0 < len(timeframe) <= 16:
            raise HostError("trend.set: the timeframe must be a string such as \"H1\"")
        if state not in TREND_STATES:
            raise HostError(f"trend.set: the state must be one of {', '.join(TREND_STATES)}, got {state!r}"[:200])
        await durably(host.trend.write(symbol_arg("trend.set", symbol), timeframe, state, plugin.name))

    async def durably(write: Callable[[Any], Any]) -> Any:
        """Runs ``write`` in the journal writer's next commit and returns its result once it is
        durable, as alerts are: if that commit fails the script is told and nothing is kept.
        Raises HostError past MAX_PLUGIN_WRITES for the current run, or the file's top-level code,
        on_load or on_unload call (each counted as one: they run again at every start, save and
        stop, which wait for them)."""
        run = writing()
        if run is not None and run.write(plugin.name) > MAX_PLUGIN_WRITES:
            if run is not current.get():
                raise HostError(f"refused: {MAX_PLUGIN_WRITES} writes already made by this plugin in "
                                f"{run.origin}; each waits for a commit to disk")
            raise HostError(f"refused: {MAX_PLUGIN_WRITES} writes already made by this plugin for this alert, "
                            "timer tick or event; each waits for a commit to disk, and so do the alerts its hooks see")
        result: list[Any] = []
        try:
            await host.durable.write(lambda db: result.append(write(db)))
            return result[0]
        except JournalError as e:
            cause = e.__cause__
            raise HostError(str(cause if isinstance(cause, StoreError) else e)[:300]) from None

    async def store_get(key: Any = None) -> Any:
        return _stored(lambda: host.store.get(plugin.name, key))

    async def store_set(key: Any = None, value: Any = None) -> None:
        await durably(_stored(lambda: host.store.write(plugin.name, key, value)))

    async def store_delete(key: Any = None) -> Any:
        return await durably(_stored(lambda: host.store.write(plugin.name, key, None)))

    async def store_keys(prefix: Any = None) -> list:
        return _stored(lambda: host.store.keys(plugin.name, "" if prefix is None else prefix))

    told: deque[float] = deque()  # when this plugin's last messages went out (NOTIFY_PER_MINUTE)

    async def notify_send(text: Any = None) -> None:
        if not isinstance(text, str) or not text.strip():   # Telegram refuses a message of whitespace only
            got = lua_type(text) if not isinstance(text, str) else "only whitespace" if text else "an empty string"
            raise HostError(f"notify.send: expects a non-empty string, got {got}")
        now = host.clock()
        while told and told[0] <= now - 60:
            told.popleft()
        key = f"plugin:{plugin.name}:{text[:64]}"  # a repeat of one text is folded anyway
        if len(told) >= NOTIFY_PER_MINUTE:  # texts that differ each time (a price in them) too
            key = f"plugin:{plugin.name}:over {NOTIFY_PER_MINUTE} a minute"
        else:
            told.append(now)
        host.notifier.send("plugin", f"{plugin.name}: {text}", key=key)

    def log_at(level: int) -> HostFunction:
        async def write(*parts: Any) -> None:
            text = " ".join(lua_text(p) for p in parts)
            plugin.logger.log(level, "%s", one_line(text[:_MAX_LOG_CHARS]))
        return write

    async def time_now() -> float:
        return host.clock()

    functions = {name: _arity(name, fn) for name, fn in {
        "account.info": _reached("account.info", account_info),
        "market.symbol": _reached("market.symbol", market_symbol),
        "market.price": _reached("market.price", market_price),
        "positions.list": _reached("positions.list", positions_list),
        "orders.list": _reached("orders.list", orders_list),
        **{f"orders.{k}": _reached(f"orders.{k}", order(k), sent=True) for k in _ORDER_FIELDS},
        "risk.lot_size": _reached("risk.lot_size", risk_lot_size),
        "trend.get": trend_get,
        "trend.set": trend_set,
        "store.get": store_get,
        "store.set": store_set,
        "store.delete": store_delete,
        "store.keys": store_keys,
        "notify.send": notify_send,
        "log.debug": log_at(logging.DEBUG),
        "log.info": log_at(logging.INFO),
        "log.warn": log_at(logging.WARNING),
        "log.error": log_at(logging.ERROR),
        "time.now": time_now,
    }.items()}
    for kind in _ORDER_FIELDS:   # their calls carry the script's line, which order_site names
        with_caller(functions[f"orders.{kind}"])
    return functions


def _arity(name: str, fn: HostFunction) -> HostFunction:
    """``fn`` refusing, as the script's mistake, an argument past its parameters (``nil`` ones
    aside, as Lua ignores them); an argument left out is ``nil``. Raises HostError naming them."""
    params = inspect.signature(fn).parameters.values()
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return fn
    names = [p.name for p in params]
    takes = "no argument" if not names else \
        f"{len(names)} argument{'s' if len(names) > 1 else ''} ({', '.join(names)})"

    count = len(names)
    async def call(*args: Any) -> Any:
        if len(args) <= count:   # every call a script writes right: nothing to look at
            return await fn(*args)
        if any(a is not None for a in args[count:]):
            colon = len(args) == count + 1 and isinstance(args[0], (dict, list))   # market:symbol(...)
            hint = " (a call with ':' passes its table first: call it with '.')" if colon else ""
            raise HostError(f"{name}: takes {takes}, got {len(args)}{hint}")
        return await fn(*args[:count])
    return call


def _stored(step: Callable[[], Any]) -> Any:
    """``step()``, a call of the plugin store, its StoreError told to the script (the sandbox's
    host names it store.<method>)."""
    try:
        return step()
    except StoreError as e:
        raise HostError(str(e)) from None


def _reached(name: str, fn: HostFunction, sent: bool = False) -> HostFunction:
    """``fn``, with the broker's BrokerError (it cannot answer: disconnected) told to the script
    as what it is, a catchable error; an order's outcome is then unknown, never a refusal to
    retry under another client id."""
    @functools.wraps(fn)
    async def call(*args: Any) -> Any:
        try:
            return await fn(*args)
        except BrokerError as e:
            then = "; the order may have reached it: look at positions.list once it is back" if sent else ""
            raise HostError(f"{name}: the broker cannot answer now ({e}){then}"[:300]) from None
    return call


def _order_request(desk: OrderDesk, plugin: Plugin, kind: str, fn: str, spec: Any,
                   symbol_arg: Callable[[str, Any], str]) -> OrderRequest:
    """Checks a script's order table and makes the request, with this call's client id."""
    if not isinstance(spec, dict):
        raise HostError(f"{fn}: expects a table, e.g. {fn}{{symbol=\"EURUSD\", ...}}")
    _only(fn, spec, _ORDER_FIELDS[kind])
    fields: dict[str, Any] = {}
    for key in ("volume", "price", "sl", "tp", "expiry"):
        if key in spec:
            fields[key] = _number(fn, key, spec[key], zero_ok=key in ("sl", "tp"))
    if fields.get("expiry") is not None and fields["expiry"] > MAX_EXPIRY:
        raise HostError(f"{fn}: expiry is in seconds, at most {MAX_EXPIRY} (366 days), got {spec['expiry']!r}"[:200])
    if "ticket" in spec:
        ticket = spec["ticket"]
        if isinstance(ticket, bool) or not isinstance(ticket, (int, float)) or not math.isfinite(ticket) \
                or ticket != int(ticket) or not 0 < ticket < 2 ** 63:
            raise HostError(f"{fn}: ticket must be a positive integer, got {ticket!r}"[:200])
        fields["ticket"] = int(ticket)
    if "comment" in spec:
        if not isinstance(spec["comment"], str) or len(spec["comment"]) > 64:
            raise HostError(f"{fn}: comment must be a string of at most 64 characters")
        fields["comment"] = spec["comment"]
    if "side" in spec:
        if spec["side"] not in SIDES:
            raise HostError(f"{fn}: side must be \"buy\" or \"sell\", got {spec['side']!r}"[:200])
        fields["side"] = spec["side"]
    if "symbol" in spec:
        fields["symbol"] = symbol_arg(fn, spec["symbol"])
    if kind in OPENING:
        for need in ("symbol", "side", "volume"):
            if need not in fields:
                raise HostError(f"{fn}: {need} is required")
    if kind == "pending":
        if spec.get("type") not in PENDING_TYPES:
            raise HostError(f"{fn}: type must be \"limit\" or \"stop\", got {spec.get('type')!r}"[:200])
        fields["type"] = spec["type"]
        if "price" not in fields:
            raise HostError(f"{fn}: price is required")
    if kind == "cancel" and "ticket" not in fields:
        raise HostError(f"{fn}: ticket is required")
    if kind == "close" and "ticket" not in fields and "symbol" not in fields:
        raise HostError(f"{fn}: give ticket= or symbol= (with an optional side=)")
    if kind == "modify" and "ticket" not in fields:
        raise HostError(f"{fn}: ticket is required")
    return desk.new_request("close" if kind == "cancel" else kind, plugin.name, **fields)


async def _of_ticket(market: Market, request: OrderRequest, kind: str) -> OrderRequest | str:
    """The request on ``request.ticket`` as what holds that ticket is (its symbol; a cancel's, the
    pending order's type: a removal, never the close of what its fill opened), or why it is refused.
    A ticket not moonhook's (placed by hand in the terminal, or by another program) is left alone,
    as alerts and the administrators' commands leave it. One no longer open goes on as asked: the
    broker answers it, or what its own send did before a restart."""
    ticket = request.ticket
    order = next((o for o in await market.orders() if o["ticket"] == ticket), None)
    position = next((p for p in await market.positions() if p["ticket"] == ticket), None)
    held = position or order
    if held is not None and not ours(held):
        what = "position" if held is position else "pending order"
        return f"ticket {ticket}: a {what} not placed through moonhook (by hand, or by another program): left alone"
    if kind == "cancel":
        if order is None:
            return str(filled_meanwhile(ticket)) if position is not None else \
                f"ticket {ticket}: no pending order (removed already, or never placed)"
        return replace(request, symbol=order["symbol"], type=order["type"])
    return replace(request, symbol=held["symbol"]) if held is not None else request


def _only(fn: str, spec: dict, allowed: set[str]) -> None:
    for key in spec:
        if key not in allowed:
            raise HostError(f"{fn}: unknown field {key!r} (known: {', '.join(sorted(allowed))})"[:300])


def _number(fn: str, key: str, value: Any, zero_ok: bool = False) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
            or value < 0 or (value == 0 and not zero_ok):
        raise HostError(f"{fn}: {key} must be a positive number, got {value!r}"[:200])
    return float(value)

