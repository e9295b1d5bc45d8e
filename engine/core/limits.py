"""The account's hard limits: ``engine.max_order_volume`` (lots in one opening order),
``engine.max_open_positions`` (positions and pending orders open at the broker),
``engine.max_price_gap_pct`` (how far the broker's price may be from the one a market entry was
asked at: the chart's feed is not the broker's, and a market can run between them) and
``engine.max_daily_loss_pct`` (the trading day's loss, closed trades and open positions, against
the balance the day began with: a prop firm's daily rule, kept before the firm's own) and
``engine.min_equity`` (the equity at or under which no entry is made: the firm's maximum loss),
``engine.max_risk_pct`` (what one entry may lose at its stop; none without a stop),
``engine.max_entries_per_hour`` (an alert sent in a loop, a strategy flipping on every tick) and
``engine.max_spread_pips`` (a market entry at the rollover or in news, when a spread of one pip
becomes twenty: the fill, and a tight stop, would pay all of it; it may wait
``engine.max_spread_wait`` seconds for the spread to narrow).

A fat finger (``units=1000000``), a script placing orders on every tick, or an alert sent in a
loop stops at them, whoever places the order: the engine, a plugin or an administrator. They
are checked at the desk after ``on_order`` (a plugin cannot raise a volume past them), on
entries only (and ``max_risk_pct`` on a pending order's change: the entry it will fill as): a
close or a position's stop change is never held back. A save of moonhook.toml changes them at
once (``Limits.follow``): a trader tightens a limit after a bad morning, not at the next start.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Iterable, Mapping

import trio
from brokerclock import ServerZone

from engine.adapters.brokers.base import Broker
from engine.adapters.notify import Notifier
from engine.domain.config import EngineConfig
from engine.domain.instruments import on_tick_grid, pip_size
from engine.domain.orders import OPENING, OrderRequest, OrderResult, ours
from engine.domain.risk import loss_at_stop
from engine.domain.times import clock_zone, day_start, when
from engine.domain.words import amount

log = logging.getLogger("moonhook.limits")

HOUR = 3_600
SPREAD_POLL = 0.5   # seconds between two looks at a wide spread
LONGEST_DAY = 26 * HOUR  # past a day's start, surely in the next day (a day is 23 to 25 hours)


BREACH = "over engine."  # how a refusal by a limit begins


def is_breach(error: str | None) -> bool:
    """Whether ``error`` is a limit's refusal (``Limits.breach``)."""
    return bool(error) and error.startswith(BREACH)


# The settings the limits are read from (``Limits.of``): a save of moonhook.toml applies them at once
# (``following.py``).
SETTINGS = ("max_order_volume", "max_open_positions", "max_price_gap_pct", "max_daily_loss_pct", "min_equity",
            "max_risk_pct", "max_entries_per_hour", "max_spread_pips", "max_spread_wait", "trading_day")


@dataclass
class Limits:
    max_volume: float | None = None
    max_positions: int | None = None
    max_gap_pct: float | None = None
    max_daily_loss_pct: float | None = None
    min_equity: float | None = None
    max_risk_pct: float | None = None
    max_entries_per_hour: int | None = None
    max_spread: Mapping[str, float] = field(default_factory=dict)  # pips by symbol, "*" for the rest
    spread_wait: float = 0.0   # seconds an entry waits for a wide spread to narrow (``waits``: whether it sleeps)
    day: ServerZone = field(default_factory=lambda: clock_zone("UTC", "engine.trading_day"))
    clock: Callable[[], float] = time.time  # the engine's (a replay's is the replayed one)
    # When the entries of the last hour were made (read from the ledger at a start: a restart
    # does not begin the hour again).
    _entries: deque[float] = field(default_factory=deque, compare=False, repr=False)
    # Whether an entry sleeps its wait for a spread: a trial's does not (its paper spreads never narrow, and a
    # replay's clock is not the wall's); it ends the wait as live would on that spread, refused in the same words.
    waits: bool = True

    @classmethod
    def of(cls, config: EngineConfig, clock: Callable[[], float] = time.time, waits: bool = True,
           entered: Iterable[float] = ()) -> "Limits":
        """``entered``: when the entries of the last hour were made (the ledger's, at a start)."""
        now = clock()
        return cls(config.max_order_volume, config.max_open_positions, config.max_price_gap_pct,
                   config.max_daily_loss_pct, config.min_equity, config.max_risk_pct, config.max_entries_per_hour,
                   config.max_spread_pips, config.max_spread_wait, config.day_zone, clock,
                   deque(t for t in entered if now - HOUR < t <= now), waits=waits)

    def follow(self, config: EngineConfig) -> None:
        """Takes the limits of ``config`` (moonhook.toml saved while the engine runs) in place,
        as the desk, the watch and the views hold this object; the hour's entries are kept."""
        new = Limits.of(config, self.clock, self.waits)
        for f in fields(self):
            if f.name not in ("clock", "_entries", "waits"):
                setattr(self, f.name, getattr(new, f.name))

    def apply_to(self, request: OrderRequest) -> bool:
        """Whether ``request`` is an entry with a limit to pass, or with ``max_risk_pct`` set a
        modify (of a pending order, the entry it will fill as: ``breach``)."""
        if request.kind == "modify":
            return self.max_risk_pct is not None
        return request.kind in OPENING and (self.max_volume is not None or self.counts
                                            or self._money_applies() or self._reads_price(request))

    @property
    def counts(self) -> bool:
        """Whether a limit counts entries: two at once must then take turns at the desk."""
        return self.max_positions is not None or self.max_entries_per_hour is not None

    def entered(self, request: OrderRequest, result: OrderResult) -> None:
        """What the broker answered ``request``: an entry it made counts for
        ``max_entries_per_hour``, whether set or not yet (a save may set it), and so does one whose
        answer was lost (it may have been made, and may arrive late), as the ledger counts it at a start."""
        if (result.ok or result.unknown) and not result.duplicate and request.kind in OPENING:
            now = self.clock()
            self._entries.append(now)
            while self._entries[0] <= now - HOUR:
                self._entries.popleft()

    def entries_after(self, since: float) -> None:
        """Only the entries made after ``since`` count for ``max_entries_per_hour``: the journal
        trades on another account since then (``account_change.py``), and those were the old one's."""
        while self._entries and self._entries[0] <= since:
            self._entries.popleft()

    def _money_applies(self) -> bool:
        return self.max_daily_loss_pct is not None or self.min_equity is not None or self.max_risk_pct is not None

    def _gap_applies(self, request: OrderRequest) -> bool:
        return self.max_gap_pct is not None and request.kind == "market" and bool(request.price)

    def spread_for(self, symbol: str | None) -> float | None:
        """The widest spread, in pips, a market entry on ``symbol`` is sent at; None: any."""
        if not symbol:
            return None
        named = next((pips for name, pips in self.max_spread.items() if name.upper() == symbol.upper()), None)
        return self.max_spread.get("*") if named is None else named

    def _reads_price(self, request: OrderRequest) -> bool:
        return self._gap_applies(request) or (request.kind == "market" and self.spread_for(request.symbol) is not None)

    async def breach(self, request: OrderRequest, broker: Broker, asked: bool = False,
                     waited: bool = True) -> str | None:
        """Why ``request`` would pass a limit, or None. Reads the broker's positions and orders
        when ``max_positions`` is set, its account when a money limit is (and the day's deals for
        ``max_daily_loss_pct``, the symbol and its price for ``max_risk_pct``), its price when
        ``max_gap_pct`` or a spread limit is, and the symbol for the second (raises what the
        broker raises); a broker without a quote for the symbol leaves both unmeasured. ``asked``:
        for a check of what would happen, not an entry being sent (a spread is then not waited for);
        ``waited``: whether the entry had its wait for a wide spread (a plugin's, placed from a
        hook, has none: ``PlainDesk.place_if``). The refusal says which."""
        if request.kind == "modify":
            return await self._modified_risk(request, broker)
        if self.max_volume is not None and request.volume is not None and request.volume > self.max_volume + 1e-9:
            return f"{BREACH}max_order_volume: {request.volume:g} lots asked, at most {self.max_volume:g}"
        if self.max_entries_per_hour is not None and (said := self._too_many()) is not None:
            return said
        if self.max_positions is not None and (said := await self._no_place(request, broker)) is not None:
            return said
        account = await broker.account() if self._money_applies() else {}
        if self.min_equity is not None and (said := self._under_floor(account)) is not None:
            return said
        if self.max_daily_loss_pct is not None and (said := await self._day_lost(broker, account)) is not None:
            return said
        if self.max_risk_pct is not None and (said := await self._too_risky(request, broker, account)) is not None:
            return said
        if self._reads_price(request) and (quote := await broker.price(request.symbol)) is not None:
            if self._gap_applies(request) and (said := self._gapped(request, quote)) is not None:
                return said
            if (most := self.spread_for(request.symbol)) is not None and request.kind == "market":
                said = self._too_wide(request.symbol, quote, most, await broker.symbol(request.symbol))
                if said and self.spread_wait:
                    said += (f"; an entry would wait up to {self.spread_wait:g} s for it to narrow" if asked
                             else f", after waiting {self.spread_wait:g} s for it to narrow" if waited
                             else "; a plugin's entry does not wait for it to narrow")
                return said
        return None

    async def spread_settled(self, request: OrderRequest, broker: Broker,
                             expires: tuple[float, str] | None = None) -> str | None:
        """Waits up to ``spread_wait`` seconds for a market entry's spread to come within its
        limit, reading the broker's quote every SPREAD_POLL seconds; at once when it is, when no
        wait or limit is set, or when it cannot be measured. ``breach`` decides after it. The
        wait ends no later than ``expires``, when the alert placing the entry expires and by what
        rule (``Run.expires``): the refusal then, as the entry is never sent older than its alert
        may be, whatever the spread; None otherwise."""
        most = self.spread_for(request.symbol)
        if not self.spread_wait or most is None or request.kind != "market" or request.symbol is None:
            return None
        ends, rule = expires if expires is not None and expires[0] < self.clock() + self.spread_wait else (None, None)
        if (wide := await self._wide_now(request.symbol, most, broker)) is None:
            return None
        if not self.waits:   # a spread that never narrows: the wait ends as it would, without sleeping it
            return None if rule is None else f"{wide}, after waiting for it to narrow until its alert expired ({rule})"
        wait = self.spread_wait if ends is None else max(ends - self.clock(), 0.0)
        why = "engine.max_spread_wait" if rule is None else f"until its alert expires: {rule}"
        log.warning("%s; the entry waits up to %g s for it to narrow (%s)", wide.removeprefix(BREACH), wait, why)
        # Ended between two reads, never during one (each bounded by the broker's own call timeout): a read of
        # MetaTrader cancelled mid-call kills its worker and restarts the session.
        deadline = trio.current_time() + wait
        while True:
            await trio.sleep_until(min(trio.current_time() + SPREAD_POLL, deadline))
            if trio.current_time() >= deadline or (ends is not None and self.clock() >= ends):  # that clock may step
                break
            if (now := await self._wide_now(request.symbol, most, broker)) is None and (
                    ends is None or self.clock() < ends):   # narrowed, unless its alert expired as it was read
                return None
            wide = now or wide
        return None if rule is None else f"{wide}, after waiting for it to narrow until its alert expired ({rule})"

    async def _wide_now(self, symbol: str, most: float, broker: Broker) -> str | None:
        """Why ``symbol``'s spread is over ``most`` pips now, or None (also when it has no quote)."""
        quote, spec = await broker.price(symbol), await broker.symbol(symbol)
        return self._too_wide(symbol, quote, most, spec) if quote is not None else None

    async def _no_place(self, request: OrderRequest, broker: Broker) -> str | None:
        """Why ``max_positions`` leaves no place for ``request``: the positions and pending orders
        open, and the entries whose answer was lost (``Broker.in_doubt``), which may still arrive
        (not ``request``'s own: a repeat of its client id looks for it, never sends it again)."""
        doubt = await broker.in_doubt()   # first: one settled meanwhile is among the positions read after
        held = [*await broker.positions(), *await broker.orders()]
        arrived = {row.get("comment") for row in held}
        lost = [d for d in doubt if d["client_id"] != request.client_id and d["comment"] not in arrived]
        if len(held) + len(lost) < self.max_positions:
            return None
        shown = ", ".join(f"{d['side']} {d['volume']:g} {d['symbol']}" for d in lost[:5])
        said = (f", and {len(lost)} {'entry' if len(lost) == 1 else 'entries'} whose answer was lost may still "
                f"arrive ({shown}{', ...' if len(lost) > 5 else ''})") if lost else ""
        return f"{BREACH}max_open_positions: {len(held)} positions and pending orders are open{said}, " \
               f"at most {self.max_positions}"

    def _gapped(self, request: OrderRequest, quote: dict[str, Any]) -> str | None:
        side = "ask" if request.side == "buy" else "bid"
        asked, now = request.price, quote[side]
        gap = abs(now - asked) / asked * 100
        if gap <= self.max_gap_pct + 1e-9:
            return None
        return (f"{BREACH}max_price_gap_pct: the broker's {side} {now:g} is {gap:.2f}% from the price "
                f"{asked:g} the entry was asked at, at most {self.max_gap_pct:g}%")

    @staticmethod
    def _too_wide(symbol: str, quote: dict[str, Any], most: float, spec: dict[str, Any] | None) -> str | None:
        """Why the spread of ``quote`` is over ``most`` pips, or None (also for a symbol the
        broker does not know: the order is refused there with the broker's reason)."""
        if not spec:
            return None
        pips = (quote["ask"] - quote["bid"]) / pip_size(spec)
        if pips <= most + 1e-6:
            return None
        return (f"{BREACH}max_spread_pips: {symbol}'s spread is {pips:.1f} pips (bid {quote['bid']:g}, "
                f"ask {quote['ask']:g}), at most {most:g}")

    async def day_loss(self, broker: Broker, account: dict[str, Any] | None = None) -> dict[str, Any]:
        """The trading day so far: {began (its start, Unix time), balance (the balance it began
        with: today's closed deals and the money paid in or out today counted back; for an account
        funded today, what was paid in), loss (what it began with and was paid in since, less the
        equity now, so open positions count; negative when up), loss_pct, ends (the next day's start),
        currency}, from ``account`` when given (the broker's, read now). A withdrawal is no loss,
        and neither it nor a deposit moves the balance the percent is of. Raises what the broker
        raises."""
        now = self.clock()
        began = day_start(now, self.day)
        account = account or await broker.account()
        deals = await broker.history(began)
        closed = sum(d["profit"] + d["commission"] + d.get("swap", 0.0) for d in deals)
        paid = sum(d.get("amount", 0.0) for d in deals if d.get("entry") == "balance")
        loss = account["balance"] - closed - account["equity"]
        balance = account["balance"] - closed - paid
        balance = balance if balance > 0 else balance + paid   # funded today: what was paid in
        return {"began": began, "balance": round(balance, 2), "loss": round(loss, 2),
                "loss_pct": round(loss / balance * 100, 2) if balance > 0 else 0.0,
                "ends": day_start(began + LONGEST_DAY, self.day), "currency": account.get("currency") or ""}

    def _under_floor(self, account: dict[str, Any]) -> str | None:
        if self.min_equity is None or account["equity"] > self.min_equity + 1e-9:
            return None
        money = f" {account['currency']}" if account.get("currency") else ""
        return (f"{BREACH}min_equity: the account's equity is {amount(account['equity'])}{money}, at or under "
                f"the {amount(self.min_equity)} entries stop at")

    async def _day_lost(self, broker: Broker, account: dict[str, Any]) -> str | None:
        day = await self.day_loss(broker, account)
        if day["balance"] <= 0 or day["loss"] / day["balance"] * 100 < self.max_daily_loss_pct - 1e-9:
            return None
        money = f"{day['currency']} " if day["currency"] else ""
        return (f"{BREACH}max_daily_loss_pct: the trading day's loss is {money}{amount(day['loss'])}, "
                f"{day['loss_pct']:g}% of the {amount(day['balance'])} it began with, at most "
                f"{self.max_daily_loss_pct:g}%; entries are refused until {when(day['ends'])}")

    async def _too_risky(self, r: OrderRequest, broker: Broker, account: dict[str, Any]) -> str | None:
        """Why ``r`` risks too much at its stop (or has none to measure), or None. A market
        entry is measured from where it fills (the broker's ask for a buy, bid for a sell), a
        pending one from its price; to its stop on the symbol's tick grid, where the broker
        puts it."""
        said = f"{BREACH}max_risk_pct: "
        if not r.sl:
            return said + "the entry has no stop loss, so what it can lose has no bound"
        spec, quote = await broker.symbol(r.symbol), None
        if r.kind == "market":
            quote = await broker.price(r.symbol)
        price = (quote["ask"] if r.side == "buy" else quote["bid"]) if quote else r.price
        sl, price = (on_tick_grid(r.sl, spec), on_tick_grid(price, spec)) if spec else (r.sl, price)
        loss = loss_at_stop(spec, r.volume or 0.0, price, sl) if spec and price and sl else None
        if loss is None:
            return said + f"the risk of {r.symbol} cannot be measured here (no price or tick value for it)"
        share = loss / account["balance"] * 100 if account["balance"] > 0 else math.inf
        if share <= self.max_risk_pct + 1e-9:
            return None
        money = f" {account['currency']}" if account.get("currency") else ""
        return (said + f"{r.volume:g} lots from {price:g} lose {amount(loss)}{money} at the stop {sl:g}, "
                       f"{amount(share)}% of the balance {amount(account['balance'])}, at most {self.max_risk_pct:g}%")

    async def _modified_risk(self, r: OrderRequest, broker: Broker) -> str | None:
        """Why the modify ``r`` of a pending order makes it risk more at its stop (a wider or
        removed stop, a price moved away from it), past ``max_risk_pct``, measured as the entry
        it will fill as; None for one that risks no more than the order as it is (a target moved),
        and for a position's stop change, which always passes (it never keeps a position open)."""
        order = next((o for o in await broker.orders(r.symbol) if o["ticket"] == r.ticket), None)
        if self.max_risk_pct is None or order is None:
            return None
        as_is = replace(r, kind="pending", symbol=order["symbol"], side=order["side"], volume=order["volume"],
                        price=order["price"], sl=order["sl"])
        entry = replace(as_is, price=r.price or order["price"], sl=order["sl"] if r.sl is None else r.sl or None)
        said = await self._too_risky(entry, broker, await broker.account())
        spec = await broker.symbol(order["symbol"]) if said else None
        return said if said and _pending_loss(spec, entry) > _pending_loss(spec, as_is) + 1e-9 else None

    def _too_many(self) -> str | None:
        now = self.clock()
        while self._entries and self._entries[0] <= now - HOUR:
            self._entries.popleft()
        if self.max_entries_per_hour is None or len(self._entries) < self.max_entries_per_hour:
            return None
        # When enough have left the hour for one more: the first, unless the limit was lowered under the count.
        frees = self._entries[len(self._entries) - self.max_entries_per_hour] + HOUR
        return (f"{BREACH}max_entries_per_hour: {len(self._entries)} entries in the last hour, at most "
                f"{self.max_entries_per_hour}; the next may go at {when(frees)}")


def _pending_loss(spec: dict[str, Any] | None, r: OrderRequest) -> float:
    """What the pending entry ``r`` loses at its stop; without a stop (or a tick value), no bound."""
    loss = loss_at_stop(spec, r.volume or 0.0, r.price, r.sl) if spec and r.price and r.sl else None
    return math.inf if loss is None else loss


class LimitWatch:
    """Tells the administrators when the day's loss reaches ``max_daily_loss_pct`` or the equity
    falls to ``min_equity``, looking every ``interval`` seconds, rather than when the next entry
    meets the refusal (hours later, or never while the open positions lose on): once a trading
    day for the first, once each time the equity goes under the floor for the second. Nothing
    is closed: that stays the trader's call."""

    def __init__(self, limits: Limits, broker: Broker, notifier: Notifier, interval: float):
        self._limits, self._broker, self._notifier, self._interval = limits, broker, notifier, interval
        self._told_day: float | None = None  # the start of the trading day whose loss was told
        self._under = False

    async def run(self) -> None:
        """Looks until cancelled; the broker is not asked while neither limit is set (a save of
        moonhook.toml may set one)."""
        while True:
            await trio.sleep(self._interval)
            if self._limits.max_daily_loss_pct is None and self._limits.min_equity is None:
                continue
            try:
                await self.look()
            except Exception as e:  # the broker cannot be asked now: the monitor tells that
                log.debug("limit watch: %s", e)

    async def look(self) -> None:
        limits = self._limits
        account = await self._broker.account()
        floor = limits._under_floor(account)
        if floor is not None and not self._under:
            await self._tell(floor, "limit:min_equity")
        self._under = floor is not None
        if limits.max_daily_loss_pct is not None:
            began = day_start(limits.clock(), limits.day)
            if began != self._told_day and (lost := await limits._day_lost(self._broker, account)) is not None:
                await self._tell(lost, "limit:daily_loss")
                self._told_day = began

    async def _tell(self, said: str, key: str) -> None:
        """Tells ``said``, and what the limit leaves: the open positions, and moonhook's pending
        orders, which are no new entry and fill when their price comes (the trader, told entries
        are refused, would otherwise count on none opening)."""
        waiting = len([o for o in await self._broker.orders() if ours(o)])
        left = (f", and so {'are' if waiting > 1 else 'is'} {waiting} pending order{'s' if waiting > 1 else ''}, "
                f"which still fill{'' if waiting > 1 else 's'} when {'their' if waiting > 1 else 'its'} price comes "
                "(cancel to stop that)") if waiting else ""
        self._notifier.send("admin", f"limit reached: engine.{said.removeprefix(BREACH)}; open positions are "
                                     f"left as they are{left}", key=key)
