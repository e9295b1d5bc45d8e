"""The operations facade: every view and action an interface offers, written once.

The web API, Telegram's commands, ``/health``, ``/metrics`` and the dashboard to come read
and act through this class only, as freqtrade's Telegram and REST API both call its ``RPC``:
a plugin's row, the engine's status or a close is the same wherever it is asked for.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, Awaitable, Callable, Collection

import trio

from engine.adapters.storage import Database, Recorded
from engine.adapters.storage.activity import OrderActivity
from engine.adapters.storage.deliveries import Deliveries
from engine.app import admin_orders as _admin, alert_detail as _detail, editor as _editor, health as _health
from engine.app import overview as _overview, plugin_rows as _plugin_rows, scripts as _scripts
from engine.app.alert_check import check_alert
from engine.app import shadow as _shadow
from engine.app.trade_reads import TradeReads
from engine.app.draft_replay import ReplayBusy, replay_draft
from engine.core import Engine, HeldChanged  # noqa: F401  (HeldChanged: the facade's error, for its views)
from engine.core.metrics import PLUGIN_STATES
from engine.domain.alerts import Alert, parse_value
from engine.domain.alerts.secrets import without_secrets
from engine.domain.id_ranges import ranges
from engine.domain.orders import OrderResult, ours as _ours
from engine.domain.times import day_start

log = logging.getLogger("moonhook.operations")

REASON_CHARS = 200  # a switch's reason, as kept and shown: a line, not a document


def kept_reason(reason: str | None, secrets: Collection[str] = ()) -> str | None:
    """A pause's or switch's reason as kept: each of ``secrets`` written ``***`` (it is logged, journaled
    and told to the admins), trimmed and cut to REASON_CHARS; None when blank."""
    reason = without_secrets((reason or "").strip(), secrets)
    return reason[:REASON_CHARS] or None


class NotLoaded(KeyError):
    """A plugin file listed (``plugin_rows``) whose script does not load: it serves as no plugin, so it is
    neither on nor off until it is saved and loads. A KeyError, as an unknown name is."""


class Operations:
    def __init__(self, engine: Engine, secrets: Collection[str] = ()):
        self.engine, self.secrets = engine, tuple(secrets)   # never kept in an alert (parse) nor logged
        self._replaying = trio.Lock()   # a draft's replay, one at a time
        self._saving = trio.Lock()      # a script's save, from its version's check to its write
        self._trades = TradeReads(engine)

    # -- alerts in ----------------------------------------------------------------------------

    def parse(self, value: Any) -> Alert:
        """A webhook body, already read as JSON or text, as a validated alert, without the secrets
        it carries (``engine/domain/alerts/secrets.py``); raises AlertError naming the field."""
        return parse_value(value, self.engine.symbols, self.secrets)

    async def submit(self, alert: Alert) -> Recorded:
        """Journals ``alert`` durably and queues it (see ``Engine.submit``)."""
        return await self.engine.submit(alert)

    async def check(self, alert: Alert) -> dict[str, Any]:
        """What ``alert`` would do now, doing nothing (``alert_check.py``); raises what the
        broker raises."""
        return await check_alert(self.engine, alert)

    @property
    def paused(self) -> bool:
        return self.engine.paused

    @property
    def clock(self) -> Callable[[], float]:
        """The engine's wall clock (tests give it a fake one)."""
        return self.engine.clock

    @property
    def database(self) -> Database:
        """The engine's SQLite file, for an interface's own tables (Telegram's offsets and deliveries)."""
        return self.engine.database

    # -- views --------------------------------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """"ok" or "degraded" (a file that does not load, paused, the broker disconnected, the
        journal unable to write), with what makes it so (engine/app/health.py)."""
        return _health.view(self.engine)

    async def status(self) -> dict[str, Any]:
        """``health`` with the account, the open positions and the alerts in progress; what
        the broker cannot answer is ``{"error": ...}`` in its place."""
        engine = self.engine
        view = {**self.health(), "pause": self.pause_state(), **await self._broker_view()}
        view["alerts_in_progress"] = len(await trio.to_thread.run_sync(engine.journal.unfinished))
        view["limits"] = await self._limits_now(view["account"])
        return view

    async def _broker_view(self) -> dict[str, Any]:
        """The account, open positions and pending orders; what the broker cannot answer (it is
        disconnected) is ``{"error": ...}`` in its place, said rather than raised."""
        broker, view = self.engine.broker, {}
        for key, read in (("account", broker.account), ("positions", broker.positions), ("orders", broker.orders)):
            try:
                view[key] = await read()
            except Exception as e:
                view[key] = {"error": f"unavailable ({type(e).__name__})"}
        return view

    async def _limits_now(self, account: Any) -> dict[str, Any]:
        """``limits`` and, with a daily loss limit, the trading day's loss so far in percent
        (``day_loss_pct``; None when the broker cannot answer), from the ``account`` the view
        read already."""
        limits, engine = self.limits(), self.engine
        if limits["max_daily_loss_pct"] is not None:
            try:
                if "error" in account:
                    raise LookupError(account["error"])
                day = await engine.limits.day_loss(engine.broker, account)
                limits["day_loss_pct"] = day["loss_pct"]
            except Exception:  # the broker cannot be asked now: said as unknown
                limits["day_loss_pct"] = None
        return limits

    def limits(self) -> dict[str, Any]:
        """The account's hard limits in force (engine/core/limits.py); None where unset."""
        config = self.engine.config
        return {"max_order_volume": config.max_order_volume, "max_open_positions": config.max_open_positions,
                "max_price_gap_pct": config.max_price_gap_pct, "max_daily_loss_pct": config.max_daily_loss_pct,
                "min_equity": config.min_equity, "max_risk_pct": config.max_risk_pct,
                "max_entries_per_hour": config.max_entries_per_hour,
                "max_spread_pips": dict(config.max_spread_pips) or None,
                "max_spread_wait": config.max_spread_wait or None, "trading_day": config.trading_day}

    def plugin_rows(self) -> list[dict[str, Any]]:
        """One row per plugin file, each with the same keys (engine/app/plugin_rows.py)."""
        return _plugin_rows.rows(self.engine)

    def serving(self) -> list[str]:
        """The names of the plugins in service now."""
        return [p.name for p in self.engine.plugins]

    def plugin_row(self, plugin: Any) -> dict[str, Any]:
        return _plugin_rows.row(self.engine, plugin)

    def load_errors(self) -> dict[str, str]:
        """File -> why no version of it serves."""
        return dict(self.engine.lifecycle.errors)

    def stray_tables(self) -> list[str]:
        """The ``[plugins.NAME]`` tables, or their params, that reach no plugin loaded (a name misspelt)."""
        return self.engine.lifecycle.strays()

    def pause_state(self) -> dict[str, Any]:
        """Whether paused, and who paused or resumed last, when and why (kept across restarts); ``held``: how many
        alerts were journaled while paused (a resume skips them unless told to run them), ``held_ids``: which."""
        paused = self.engine.paused
        held = self.engine.journal.ids_with_status("paused") if paused else []
        return {**(self.engine.switchboard.pause or {}), "paused": paused, "held": len(held), "held_ids": ranges(held)}

    async def alerts(self, limit: int, status: str | None = None, symbol: str | None = None,
                     plugin: str | None = None, before: int | None = None) -> list[dict[str, Any]]:
        """The latest ``limit`` alerts, newest first, of that status, symbol (as the engine names
        it) and plugin (named in its outcome), older than the alert ``before`` if given, an entry filled in part
        marked as the detail marks it (``alert_detail.listed``); raises ValueError for an unknown status,
        AlertError for a symbol that cannot be read."""
        symbol = self.symbol(symbol) if symbol is not None else None
        rows = await trio.to_thread.run_sync(
            partial(self.engine.journal.search, limit, status=status, symbol=symbol, plugin=plugin, before=before))
        return await trio.to_thread.run_sync(_detail.listed, rows, self.engine.ledger.for_alerts)  # fills in part

    async def alert(self, alert_id: int) -> dict[str, Any] | None:
        """The alert's journal entry (as received: ``alert``; what came of it: ``status``,
        ``outcome``), with each plugin's decision (``decisions``: its on_alert step, with the
        reason of a rejection), its orders and the broker's answers from the ledger
        (``orders``), its ``timings``, and the ``shadow``'s decision on it (None: shadow mode
        off, or not run); None if there is no such alert."""
        row = await trio.to_thread.run_sync(self.engine.ledger.alert_with_orders, alert_id)  # one read: not torn
        if row is None:
            return None
        _detail.completed(row)
        row["shadow"] = await _shadow.record(self.engine.shadow, alert_id)
        return row

    async def shadow(self, limit: int = 50, before: int | None = None) -> dict[str, Any]:
        """Shadow mode: its folder, plugins, counts and ``limit`` alerts whose decision differs
        from the live one, below the alert ``before`` if given (engine/app/shadow.py; docs/shadow.md)."""
        return await _shadow.view(self.engine.shadow, limit, before)

    async def orders(self, limit: int) -> dict[str, Any]:
        """The pending orders at the broker, and the last ``limit`` orders sent."""
        return {"open": await self.engine.broker.orders(), "recent": self.engine.ledger.recent(limit)}

    async def pending(self, symbol: str | None = None, *, ours: bool = False) -> list[dict[str, Any]]:
        """The pending orders at the broker (of ``symbol``); with ``ours``, only those placed
        through moonhook, none placed by hand in the terminal."""
        return [o for o in await self.engine.broker.orders(symbol) if not ours or _ours(o)]

    async def positions(self, symbol: str | None = None, *, ours: bool = False) -> list[dict[str, Any]]:
        """The open positions at the broker (of ``symbol``); with ``ours``, only those opened
        through moonhook: what a close by symbol closes."""
        return [p for p in await self.engine.broker.positions(symbol) if not ours or _ours(p)]

    async def account(self) -> dict[str, Any]:
        return await self.engine.broker.account()

    def symbol(self, text: str) -> str:
        """``text`` as the engine names symbols (prefix dropped, symbol_map applied); raises AlertError."""
        return self.engine.symbols.normalize(text)

    async def unknown_symbol(self, symbol: str) -> str | None:
        """Why the broker does not know ``symbol`` (as an alert for it is refused: with the names it has for it,
        on MetaTrader 5); None when it knows it. Raises BrokerError when the broker cannot be asked."""
        broker = self.engine.broker
        return None if await broker.symbol(symbol) is not None else await broker.unknown_symbol(symbol)

    async def metrics(self) -> bytes:
        """The Prometheus text exposition, its gauges read now."""
        engine, m = self.engine, self.engine.metrics
        memory, outbox, due = await trio.to_thread.run_sync(self._scraped)
        m.memory.set(memory)
        m.worst_lag.set(m.lag.worst())
        m.outbox.labels("outbox").set(outbox)
        m.outbox.labels("telegram").set(due)
        try:
            m.positions.set(len(await engine.broker.positions()))
        except Exception:  # disconnected: unknown, not zero
            m.positions.set(float("nan"))
        states = dict.fromkeys(PLUGIN_STATES, 0)
        for row in self.plugin_rows():
            states[row["state"]] += 1
        for state, count in states.items():
            m.plugins.labels(state).set(count)
        return await m.render()

    def _scraped(self) -> tuple[int, int, int]:
        """Memory (psutil) and the outbox's depths (SQLite): read in a thread."""
        engine = self.engine
        memory = engine.monitor.memory_bytes()
        if not engine.notifier.delivered:  # no courier: messages go to the log only
            return memory, 0, 0
        return memory, engine.notifier.outbox.depth(), Deliveries(engine.database).due_count()

    # -- the dashboard's views (docs/dashboard.md) ----------------------------------------------

    async def overview(self) -> dict[str, Any]:
        """``health``, the broker's state, the account, open positions and pending orders
        (``{"error": ...}`` when the broker cannot answer), today's counts (the trading day's),
        the receipt-to-broker latency of the last hour (a point a minute), the last errors
        (engine/app/overview.py), the limits with the day's loss so far, and those panels in ``words``."""
        engine = self.engine
        now = engine.clock()
        view: dict[str, Any] = {"health": self.health(),
                                "broker": {"name": engine.config.broker, "connected": engine.broker.connected,
                                           "state": engine.broker.state}, **await self._broker_view()}

        def stored() -> tuple[dict, dict, list, list]:
            activity, since = OrderActivity(engine.database), day_start(now, engine.config.day_zone)
            return (engine.journal.counts_since(since), activity.counts_since(since),
                    activity.latencies_since(now - _overview.HOUR), activity.refused(_overview.ERRORS))
        alerts, orders, samples, refused = await trio.to_thread.run_sync(stored)
        view["today"] = {**_overview.today(alerts, orders), **await self._trades.closed_today(now)}
        view["latency"] = _overview.latency_minutes(samples, now)
        view["errors"] = _overview.last_errors(self.plugin_rows(), self.load_errors(), refused,
                                               telegram=view["health"])
        view["limits"] = await self._limits_now(view["account"])
        return {**view, "words": _overview.words(view, engine.switchboard.pause or {})}   # in words, for the page

    def scripts(self) -> list[dict[str, Any]]:
        """The scripts folder's ``*.lua`` files: name, size, modified, and their plugin's state."""
        return _scripts.listing(self.engine.config.scripts, self.plugin_rows())

    def script(self, name: str) -> dict[str, str]:
        """A script's ``{name, text, version}``; raises ScriptNameError (not a plain ``*.lua``
        name), FileNotFoundError."""
        return _scripts.read(self.engine.config.scripts, name)

    async def check_script(self, name: str, text: str) -> list[dict[str, Any]]:
        """What ``moonhook check`` finds in ``text`` as ``name``, with this engine's params and
        budgets: [{line, column, severity, message}]; raises ScriptNameError."""
        return await _scripts.check_text(name, text, self.engine.config)

    async def save_script(self, name: str, text: str, allowed: bool = True, based_on: str | None = None,
                          new: bool = False) -> dict[str, Any]:
        """Writes ``name`` atomically and answers once the engine has tried that version:
        ``{"loaded": true, "version", ...}`` or ``{"loaded": false, "error", "line", "version"}``
        (what serves goes on serving). Only over the version ``based_on`` when given, only as a
        file that does not exist yet when ``new``. Raises EditingOff unless ``allowed``,
        ScriptChanged, NameClash (nothing written), ScriptNameError, OSError."""
        return await _editor.save(self.engine, self._saving, name, text, allowed, based_on, new)

    async def replay_script(self, name: str, text: str, days: float = 30) -> dict[str, Any]:
        """What ``text`` as ``name`` would have done with the alerts of the last ``days``, beside
        what the live scripts did, on a simulated paper account (engine/app/draft_replay.py);
        nothing live changes. One at a time. Raises ScriptNameError, DraftReplayError,
        ReplayBusy."""
        _scripts.checked_name(name)
        if self._replaying.locked():
            raise ReplayBusy("another replay is running; try again when it is done")
        engine = self.engine
        async with self._replaying:
            settings = engine.lifecycle.settings
            serving = {p.path.name: p.source for p in engine.plugins}
            return await replay_draft(settings[0] if settings else None, serving,
                                      engine.config.database, name, text, days, engine.clock())

    def examples(self) -> list[dict[str, Any]]:
        """The example scripts a new file can start from (those ``moonhook init`` writes)."""
        return _scripts.examples()

    async def trades(self, limit: int = 100, since: float | None = None, before: tuple[float, int] | None = None
                     ) -> dict[str, Any]:
        """The closed trades (``limit`` below ``before``, the last shown's (closed_at, position)), the equity
        curve and the net by plugin, from the deal history since ``since`` (engine/app/trade_reads.py,
        trades.py, engine/domain/trade_pages.py). Raises BrokerError when the broker cannot be asked."""
        return await self._trades.trades(limit, since, before)

    async def closed_since(self, days: int | None = None, limit: int = 10) -> dict[str, Any]:
        """The trades closed in the last ``days`` days (None: today, from the trading day's
        start), wherever they opened (looked for ``LOOKBACK`` before first), their count and net, newest first
        (engine/app/trade_reads.py); Telegram's /trades. Raises BrokerError when the broker cannot be
        asked."""
        return {**await self._trades.closed(days, limit), "currency": await self._currency()}

    async def _currency(self) -> str | None:
        try:
            return (await self.engine.broker.account()).get("currency")
        except Exception:  # the figures are shown without it
            return None

    def subscribe(self):
        """The engine's events from now on (docs/dashboard.md), until the ``with`` ends:
        ``with ops.subscribe() as events: async for event in events: ...``."""
        return self.engine.events.subscribe()

    def end_streams(self) -> None:
        """Ends every subscription to the events, and refuses new ones (each comes closed):
        the server is stopping, and an open stream would hold its connection to the end of
        Hypercorn's graceful timeout."""
        self.engine.events.close()

    # -- wiring the interfaces ------------------------------------------------------------------

    def deliver(self, poke: Callable[[], None], alarm: Callable[[str], Awaitable[None]],
                telegram: Callable[[], dict[str, Any]] | None = None) -> None:
        """A courier delivers the outbox from now on (``poke`` wakes it after each write),
        ``alarm(text)`` says at once what cannot wait for the outbox (the disk is full), and
        ``telegram()`` gives health's fields of it (``telegram_refused``, ``telegram_unreachable``)."""
        self.engine.notifier.attach(poke, telegram)
        self.engine.alarms.append(alarm)

    # -- actions ------------------------------------------------------------------------------

    def pause(self, by: str = "api", reason: str | None = None) -> bool:
        """Pauses (see ``Engine.pause``), with ``reason`` as kept_reason() keeps it; False if it
        was paused already (the first pause stands)."""
        if self.engine.paused:
            return False
        self.engine.pause(by, kept_reason(reason, self.secrets))
        return True

    async def resume(self, execute_missed: bool = False, by: str = "api", shown: Collection[int] | None = None) -> int:
        """Resumes; the alerts journaled while paused are queued only if ``execute_missed``.
        Returns how many were queued. ``shown``: the ids of the held alerts the trader's question
        showed (``pause_state``'s ``held_ids``); raises HeldChanged, nothing done, when others are held now."""
        return await self.engine.resume(execute_missed, by, shown)

    def set_enabled(self, name: str, enabled: bool, by: str = "api", reason: str | None = None) -> dict[str, Any]:
        """Switches a plugin on or off (kept across restarts, with ``reason`` as kept_reason()
        keeps it) and returns its row; raises NotLoaded for a listed file that does not load, KeyError
        for a name no file has."""
        try:
            plugin = self.engine.set_enabled(name, enabled, by, kept_reason(reason, self.secrets))
        except KeyError:
            if any(row["name"] == name and row["state"] == "failed" for row in self.plugin_rows()):
                raise NotLoaded(name) from None
            raise
        return self.plugin_row(plugin)

    async def close_positions(self, tickets: list[int], *, plugin: str, origin: str,
                              comment: str) -> list[tuple[int, OrderResult | Exception | None]]:
        """Closes each position of ``tickets``, whole, by its ticket, through the order desk, as
        ``plugin`` (admin_orders.py). Returns (ticket, result) in order: None where it was no
        longer open, the exception where the close raised (the others are still closed)."""
        return await _admin.close_positions(self.engine, tickets, plugin=plugin, origin=origin, comment=comment)

    async def cancel(self, tickets: list[int], *, plugin: str, origin: str,
                     comment: str) -> list[tuple[int, OrderResult | Exception | None]]:
        """Removes each pending order of ``tickets`` through the order desk, as ``plugin``
        (admin_orders.py). Returns (ticket, result) in order: None where the order was no longer
        pending (filled or removed since), the exception where the removal raised."""
        return await _admin.cancel(self.engine, tickets, plugin=plugin, origin=origin, comment=comment)

