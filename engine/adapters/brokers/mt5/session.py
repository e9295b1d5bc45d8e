"""The MT5 broker's session with its terminal: logged in through the worker (``link.py``) or
lost, and every call made through it.

A call that cannot reach the terminal (the worker hung or died, an IPC error) or that raised
in the package marks the session lost and raises Unknown: what it did cannot be known now,
and the broker's loop starts a fresh worker. A call cancelled before its answer marks it lost
too (the link killed its worker); the cancellation goes on to its caller. Losing and finding
the session again is told as a Connection event, but for a loss moonhook made (that cancelled
call: every stop's poll), which is logged, unless linking again fails; finding it again is the
broker's loop, and told after any loss, for the engine to compare the account.

A list read (positions, orders, the history) answers None only when it failed, and an empty
tuple when there is nothing: its failure raises Unknown too, so that no caller ever reads it
as "nothing there" (a close by symbol closing nothing, a lost send called absent).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Awaitable, Callable

import trio

from engine.adapters.brokers.mt5 import constants as c
from engine.adapters.brokers.mt5.clock import ServerClock, find
from engine.adapters.brokers.mt5.link import CallRaised, LinkLost, NotCalled, TerminalLink
from engine.adapters.brokers.mt5.retry import LoginRefused, Retry
from engine.domain.config.mt5 import MT5Config
from engine.domain.orders import BrokerError, Connection, Event, Notice

log = logging.getLogger("moonhook.mt5")


# Why the session is not up while the terminal answers: its own link to the trade server is down
# (the server's maintenance, the broker's network), ``terminal_info().connected`` false.
NO_SERVER = "the terminal has no connection with its trade server"


class Unknown(Exception):
    """What the terminal did or holds cannot be known now: it cannot be reached, a call raised,
    or a read failed."""


class Unreached(Unknown):
    """The call was never made: the session was known lost before it, or its worker was gone before the
    call's turn on the link came (nothing was sent)."""


class Elsewhere(Unknown):
    """The terminal is logged in to another account than the session's (by hand, since the connection):
    the session is lost, to be made again there (``Session.same_account``)."""


class Session:
    def __init__(self, link: TerminalLink, config: MT5Config, tell: Callable[[Event], None],
                 settle: Callable[[str], Awaitable[None]] | None = None, clock: Callable[[], float] = time.time):
        """``settle(account)``: the book made that account's ("LOGIN@SERVER", ``accounts.py``) at each
        connection, before the session counts as up. ``clock``: the wall's (``Retry``'s)."""
        self.link = link
        self.retry = Retry(clock)   # when a failed connection is tried again
        self._settle = settle
        self.config = config
        self.connected = False
        self.state = "not started"  # what /health shows
        self._tell = tell
        self._lost = trio.Event()
        self._up = trio.Event()  # set while connected
        self._failing: set[str] = set()  # list reads failing now: warned once, not at every poll
        self._account = ""  # "account N on SERVER", once connected
        self.account = ""   # "N@SERVER", once connected: which account the book is of (``accounts.py``)
        self.currency: str | None = None  # the account's, once connected (the login may change it)
        self.warnings: list[str] = []  # keys of c.WARNINGS standing now, shown in ``state``
        self.clock = ServerClock.of(config)  # the trade server's; found at the first connection if "auto"

    @property
    def trading_on(self) -> str | None:
        """``Broker.trading_on``: "mt5 LOGIN@SERVER", said with the connection (``connect`` sets the account
        in the same step as ``connected``), so no alert runs at an account before it is known."""
        return f"mt5 {self.account}" if self.account else None

    async def connect(self) -> None:
        """A fresh worker, initialized and logged in. Raises BrokerError (``state`` then says
        why, and when it is tried again: ``retry``), LoginRefused if MetaTrader refused the login."""
        try:
            account, terminal = await self._login()
        except BrokerError as e:
            await self.link.kill()
            said = f"{e}{self.retry.failed(e)}"
            if self.state.startswith("stopped"):   # moonhook ended it, untold: the terminal is lost now
                self._tell(Connection(False, said))
            elif self.state == "not started":      # the admins would hear nothing until it is found
                self._tell(Connection(False, said, at_start=True))
            elif isinstance(e, LoginRefused) and self.retry.refusals == 1:   # the loss was told, not this
                self._tell(Notice(said, "broker:login-refused"))
            self.state = f"disconnected: {said}"
            raise
        was, server = self.state, self.account.partition("@")[2]
        if self._settle is not None:  # before any order can go there: none under the old account's magic numbers
            await self._settle(_login_at(account))
        if server and str(account.get("server")) != server:  # another trade server (a login by hand): its own clock
            self.clock = ServerClock.of(self.config)          # found again, unless mt5.server_clock sets it
        self.connected, self._lost = True, trio.Event()
        self._up.set()
        self._account = f"account {account.get('login')} on {account.get('server')}"
        self.account = _login_at(account)
        self.currency = account.get("currency") or None
        self.warnings = _warnings(account, terminal)
        if was.startswith(("disconnected", "lost", "stopped")):
            # told to the admins' chats: the account's login stays in the log and /health (its warnings
            # are told on their own, below); told before any await, so the engine compares the account
            # before an alert runs there (``account_change.py``), after a session moonhook stopped too
            self._tell(Connection(True, f"on {account.get('server')}"))
        await self._find_clock()
        self._show()
        self.retry.connected()
        log.info("MetaTrader 5 %s; the server's clock: %s", self.state, self.clock)
        for warning in self.warnings:
            self._warn(warning)

    async def _login(self) -> tuple[dict[str, Any], dict[str, Any]]:
        cfg = self.config
        try:
            await self.link.start()
            credentials = {k: v for k, v in (("login", cfg.login), ("password", cfg.password),
                                             ("server", cfg.server)) if v is not None}
            args = [cfg.path] if cfg.path else []
            ok, error = await self.link.call("initialize", *args, deadline=cfg.init_timeout,
                                             timeout=int(cfg.init_timeout * 1000), **credentials)
            if not ok:
                if error and error[0] == c.AUTH_FAILED:
                    raise LoginRefused(_refused(cfg, error))
                raise BrokerError(f"initialize failed: {c.describe_last_error(error)}")
            account, error = await self.link.call("account_info")
            if not account:
                raise BrokerError(f"no account: {c.describe_last_error(error)}")
            terminal, _ = await self.link.call("terminal_info")
        except (LinkLost, CallRaised) as e:
            raise BrokerError(str(e)) from None
        if terminal and terminal.get("connected") is False:   # it answers, but every order would get 10031
            raise BrokerError(NO_SERVER)
        return account, terminal or {}

    async def _find_clock(self) -> None:
        """The server's clock, unless set or found at an earlier connection (``clock.py``).
        Raises BrokerError if the connection is lost meanwhile."""
        if not self.clock.known:
            try:
                self.clock = await find(self.call, self.config, time.time())
            except Unknown as e:
                raise BrokerError(f"lost while the server's clock was read: {e}") from None
        if not self.clock.known:
            self.warnings.append(c.CLOCK_UNKNOWN)

    def _show(self) -> None:
        self.state = "; ".join([f"connected: {self._account}", *self.warnings])

    def algo_trading(self, allowed: bool) -> None:
        """What is known now of the terminal's Algo Trading button (a send refused with 10027, a
        poll's look while it was off): the warning is raised or lifted, and said once."""
        if not self.connected or allowed == (c.ALGO_OFF not in self.warnings):
            return
        if allowed:
            self.warnings.remove(c.ALGO_OFF)
            log.info("MetaTrader 5: %s", c.ALGO_ON)
            self._tell(Notice(c.ALGO_ON, "broker:algo-on"))
        else:
            self.warnings.append(c.ALGO_OFF)
            self._warn(c.ALGO_OFF)
        self._show()

    async def watch(self) -> None:
        """The terminal's own state, looked at each poll: its connection to the trade server (gone,
        the session is lost and found again once the terminal has it back: an alert waits for it
        rather than meeting 10031, and the trader is told, not "connected" again at each try), the
        account it is logged in to (another, logged in to by hand: the session is lost and made again
        there, for the book to settle it, ``accounts.py``) and its Algo Trading button. Raises Unknown
        if the session is lost."""
        terminal = await self.call("terminal_info")
        if not terminal:
            return
        if terminal.get("connected") is False:
            self.lose(NO_SERVER)
            raise Unknown(NO_SERVER)
        await self.same_account()
        self.algo_trading(terminal.get("trade_allowed") is not False)

    async def same_account(self) -> None:
        """The account the terminal is logged in to now, compared with the session's: at each poll (``watch``)
        and before each send (``Sender.send``), so that no order goes to an account logged in to by hand since.
        Another: the session is lost, to be made again there, and Elsewhere raised. An answer without an
        account tells nothing. Raises Unknown if the session is lost."""
        account = await self.call("account_info")
        if account and _login_at(account) != self.account:
            said = f"the terminal is logged in to account {_login_at(account)} now, not {self.account}"
            self.lose(said)
            raise Elsewhere(said)

    def _warn(self, warning: str) -> None:
        """Logs a warning of ``c.WARNINGS`` and tells the administrators."""
        log.warning("MetaTrader 5: %s", c.WARNINGS[warning])
        self._tell(Notice(c.WARNINGS[warning], f"broker:{warning}"))

    def lose(self, detail: str, ours: bool = False) -> None:
        """Marks the session lost (told once, however many calls find it so). ``ours``: moonhook ended
        it (a call cancelled mid-way, as at every stop): said in the log, not told as a lost terminal."""
        if self.connected:
            self.connected, self._up = False, trio.Event()
            self.state = f"{'stopped' if ours else 'lost'}: {detail}"
            if ours:
                log.info("MetaTrader 5 session stopped: %s", detail)
            else:
                log.error("MetaTrader 5 connection lost: %s", detail)
                self._tell(Connection(False, detail))
            self._lost.set()

    async def call(self, fn: str, *args: Any, deadline: float | None = None, begun: Callable[[], None] | None = None,
                   **kwargs: Any) -> Any:
        """``fn`` in the worker (``begun``: ``TerminalLink.call``'s): its value, or None with the failure
        logged. Raises Unknown if MetaTrader cannot be reached (the session is then lost), Unreached if
        it was lost before, or while the call waited its turn on the link (the link then called nothing)."""
        if not self.connected:
            raise Unreached(f"MetaTrader 5 is not connected ({self.state})")
        made = False

        def began() -> None:
            nonlocal made
            made = True
            if begun is not None:
                begun()
        try:
            value, error = await self.link.call(fn, *args, deadline=deadline, begun=began, **kwargs)
        except NotCalled as e:   # lost as it waited behind another call: an order_send waits for its alert's rerun
            self.lose(str(e))
            raise Unreached(str(e)) from None
        except (LinkLost, CallRaised) as e:
            self.lose(str(e))
            raise Unknown(str(e)) from None
        except trio.Cancelled:
            # cancelled mid-call, the worker killed: linked again by run. Its worker gone as it waited its
            # turn, another call found it so, and says why.
            if made and self.link.pid is None:
                self.lose(f"{fn} was cancelled before its answer; the worker was stopped", ours=True)
            raise
        if error and error[0] in c.IPC_ERRORS:
            self.lose(c.describe_last_error(error))
            raise Unknown(c.describe_last_error(error))
        if value is None and fn in c.LIST_READS and error and error[0] != c.OK:
            said = f"MetaTrader 5 {fn} failed: {c.describe_last_error(error)}"
            if fn not in self._failing:
                self._failing.add(fn)
                log.warning("%s; it is asked again before anything is read from it", said)
            raise Unknown(said)
        self._failing.discard(fn)
        if error and error[0] != c.OK:
            log.debug("MetaTrader 5 %s: %s", fn, c.describe_last_error(error))
        return value

    async def wait_lost(self, seconds: float) -> None:
        """Returns once the session is lost, or after ``seconds``."""
        with trio.move_on_after(seconds):
            await self._lost.wait()

    async def wait_up(self, seconds: float) -> bool:
        """Waits up to ``seconds`` for the session to be found again; whether it is."""
        with trio.move_on_after(seconds):
            await self._up.wait()
        return self.connected

    async def close(self) -> None:
        """Shuts the terminal down politely if connected, then ends the worker."""
        if self.connected:
            try:
                await self.link.call("shutdown", deadline=2.0)
            except (LinkLost, CallRaised):
                pass
        self.connected = False
        await self.link.aclose()


def _refused(cfg: MT5Config, error: tuple | list) -> str:
    """Why a login failed "Authorization failed" (-6): MetaTrader says it alike of a wrong login, password or
    server, so the account and server asked for are named, and where each is set; the password never."""
    asked = (f"account {cfg.login}" if cfg.login is not None else "the terminal's own account") + (
        f" on {cfg.server}" if cfg.server else "")
    return (f"MetaTrader 5 refused the login to {asked} ({c.describe_last_error(error)}): check mt5.login, mt5.server "
            "(as the terminal's login window names the server) and the password (MOONHOOK_MT5_PASSWORD or "
            "mt5.password)")


def _login_at(account: dict[str, Any]) -> str:
    """``account_info``'s account as "LOGIN@SERVER"."""
    return f"{account.get('login')}@{account.get('server')}"


def _warnings(account: dict[str, Any], terminal: dict[str, Any]) -> list[str]:
    """What the trader should know before an order is sent (keys of ``c.WARNINGS``): an account
    that may not trade (the investor password's) or take an expert's orders, that nets positions or
    closes them first in, first out, trading by programs switched off in the terminal."""
    found = [w for w, key in ((c.READ_ONLY, "trade_allowed"), (c.NO_EXPERTS, "trade_expert"))
             if account.get(key) is False]
    if account.get("margin_mode") in c.NETTING_MODES:
        found.append(c.NETTING)
    if account.get("fifo_close"):
        found.append(c.FIFO)
    if terminal.get("trade_allowed") is False:
        found.append(c.ALGO_OFF)
    return found
