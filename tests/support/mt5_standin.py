"""A stand-in for the ``MetaTrader5`` package: a fake terminal the MT5 broker's worker imports.

The real package is Windows-only and talks to a running terminal64.exe over a named pipe. This
module has the same module-level functions, constants and result shapes (named tuples with
``_asdict()``; ``None`` plus ``last_error()`` on a call failure), backed by a SQLite file that
plays the terminal: ``initialize(path=FILE)``. The state outlives the process, so a worker killed
mid-call and restarted finds the orders it sent. The test process drives the market and scripts
failures with ``Terminal`` on the same file. Each call is one transaction (WAL, busy timeout)
that also takes the call's next scripted outcome, if any (a "slow" call does its work in a
second transaction, after its sleep; so does a "hang" one, once released). A hanging call
counts itself in the transaction where it reaches its hang (``Terminal.hung``), so a test acts
when the call is surely there, and waits to be released (``Terminal.release``) or killed: its
caller's timeout surely fires, whatever the machine's load.

Simplified compared with a real terminal (the engine must not rely on these):
- one account in USD, hedging unless ``Terminal(margin_mode=ACCOUNT_MARGIN_MODE_RETAIL_NETTING)``
  (a symbol holds one position: a deal on it adds to it, reduces or closes it, or reverses it
  with one INOUT deal, ``_net_fill``), FIFO closing only with ``Terminal(fifo_close=True)``, as US
  accounts are; and every symbol's profit currency is USD: profit = price difference
  * volume * contract size; margin = volume * contract size * price / leverage; or USD is the
  symbol's base (``USDJPY``, not among the default symbols): the profit is divided by the
  closing price, the tick value by the bid (a loss's) or the ask, and the margin needs no price,
  as MetaTrader converts them; commission and
  fee only as ``Terminal(commission_per_lot=, fee_per_deal=)`` charges them on every deal, swap
  only as ``Terminal.charge_swap`` adds it (booked on the position's first closing deal); no
  stop-out of its own (``Terminal.stop_out`` closes a position as the server's would), sessions,
  stop-limit orders, CLOSE_BY; a pending order's expiration (ORDER_TIME_SPECIFIED, where the
  symbol's expiration_mode allows it) is applied at the first call on or after it, as the server
  would have at the time;
- fills are whole, at the current bid/ask (pending orders and SL/TP too, at the prices given to
  ``Terminal.set_price`` when they are crossed), except a pending order's part that
  ``Terminal.fill_part`` fills; instant execution (``trade_exemode`` 0, the
  default) requires a price within ``deviation`` points, market execution (2) ignores both;
- times are the server's wall clock as epoch seconds, as a real server's: UTC unless the
  ``Terminal`` is given a ``server_clock`` (an IANA zone and hours added to it: New York + 7 is
  the commonest broker clock); naive datetimes are read as epoch seconds of that clock;
- ``copy_rates_from_pos`` gives H1 bars only, every symbol's over the forex week (Sunday 17:00
  to Friday 17:00 New York), each bar's prices the symbol's current ones;
- Market Watch selection is per process, so a restarted worker must select symbols again;
- SymbolInfo and TerminalInfo carry a subset of the real fields; comments of results are close
  to MetaTrader's, not byte-exact; the request fields' types are checked strictly (float volume,
  prices; int magic, tickets), as the real package is reported to do.
"""

from __future__ import annotations

import calendar
import datetime as _dt
import fnmatch
import json
import os
import sqlite3
import time
from collections import namedtuple
from contextlib import contextmanager
from zoneinfo import ZoneInfo

__version__ = "5.0.4874-standin"

TRADE_ACTION_DEAL, TRADE_ACTION_PENDING, TRADE_ACTION_SLTP = 1, 5, 6
TRADE_ACTION_MODIFY, TRADE_ACTION_REMOVE, TRADE_ACTION_CLOSE_BY = 7, 8, 10
(ORDER_TYPE_BUY, ORDER_TYPE_SELL, ORDER_TYPE_BUY_LIMIT, ORDER_TYPE_SELL_LIMIT, ORDER_TYPE_BUY_STOP,
 ORDER_TYPE_SELL_STOP, ORDER_TYPE_BUY_STOP_LIMIT, ORDER_TYPE_SELL_STOP_LIMIT, ORDER_TYPE_CLOSE_BY) = range(9)
ORDER_FILLING_FOK, ORDER_FILLING_IOC, ORDER_FILLING_RETURN, ORDER_FILLING_BOC = 0, 1, 2, 3
ORDER_TIME_GTC, ORDER_TIME_DAY, ORDER_TIME_SPECIFIED, ORDER_TIME_SPECIFIED_DAY = 0, 1, 2, 3
(ORDER_STATE_STARTED, ORDER_STATE_PLACED, ORDER_STATE_CANCELED, ORDER_STATE_PARTIAL, ORDER_STATE_FILLED,
 ORDER_STATE_REJECTED, ORDER_STATE_EXPIRED) = range(7)
ORDER_REASON_CLIENT, ORDER_REASON_MOBILE, ORDER_REASON_WEB, ORDER_REASON_EXPERT = 0, 1, 2, 3
ORDER_REASON_SL, ORDER_REASON_TP, ORDER_REASON_SO = 4, 5, 6
POSITION_TYPE_BUY, POSITION_TYPE_SELL = 0, 1
POSITION_REASON_CLIENT, POSITION_REASON_MOBILE, POSITION_REASON_WEB, POSITION_REASON_EXPERT = 0, 1, 2, 3
DEAL_TYPE_BUY, DEAL_TYPE_SELL, DEAL_TYPE_BALANCE = 0, 1, 2
DEAL_ENTRY_IN, DEAL_ENTRY_OUT, DEAL_ENTRY_INOUT, DEAL_ENTRY_OUT_BY = 0, 1, 2, 3
DEAL_REASON_CLIENT, DEAL_REASON_MOBILE, DEAL_REASON_WEB, DEAL_REASON_EXPERT = 0, 1, 2, 3
DEAL_REASON_SL, DEAL_REASON_TP, DEAL_REASON_SO = 4, 5, 6
ACCOUNT_TRADE_MODE_DEMO, ACCOUNT_TRADE_MODE_CONTEST, ACCOUNT_TRADE_MODE_REAL = 0, 1, 2
ACCOUNT_MARGIN_MODE_RETAIL_NETTING, ACCOUNT_MARGIN_MODE_EXCHANGE, ACCOUNT_MARGIN_MODE_RETAIL_HEDGING = 0, 1, 2
SYMBOL_TRADE_MODE_DISABLED, SYMBOL_TRADE_MODE_LONGONLY, SYMBOL_TRADE_MODE_SHORTONLY = 0, 1, 2
SYMBOL_TRADE_MODE_CLOSEONLY, SYMBOL_TRADE_MODE_FULL = 3, 4
SYMBOL_TRADE_EXECUTION_INSTANT, SYMBOL_TRADE_EXECUTION_REQUEST = 0, 1
SYMBOL_TRADE_EXECUTION_MARKET, SYMBOL_TRADE_EXECUTION_EXCHANGE = 2, 3
TICK_FLAG_BID, TICK_FLAG_ASK = 2, 4
RES_S_OK, RES_E_FAIL, RES_E_INVALID_PARAMS, RES_E_NO_MEMORY, RES_E_NOT_FOUND = 1, -1, -2, -3, -4
RES_E_INVALID_VERSION, RES_E_AUTH_FAILED, RES_E_UNSUPPORTED, RES_E_AUTO_TRADING_DISABLED = -5, -6, -7, -8
RES_E_INTERNAL_FAIL, RES_E_INTERNAL_FAIL_SEND, RES_E_INTERNAL_FAIL_RECEIVE = -10000, -10001, -10002
RES_E_INTERNAL_FAIL_INIT, RES_E_INTERNAL_FAIL_CONNECT, RES_E_INTERNAL_FAIL_TIMEOUT = -10003, -10004, -10005

_RETCODES = dict(
    REQUOTE=(10004, "Requote"), REJECT=(10006, "Request rejected"), CANCEL=(10007, "Request canceled by trader"),
    PLACED=(10008, "Order placed"), DONE=(10009, "Request executed"),
    DONE_PARTIAL=(10010, "Request executed partially"),
    ERROR=(10011, "Request processing error"), TIMEOUT=(10012, "Request canceled by timeout"),
    INVALID=(10013, "Invalid request"), INVALID_VOLUME=(10014, "Invalid volume"),
    INVALID_PRICE=(10015, "Invalid price"), INVALID_STOPS=(10016, "Invalid stops"),
    TRADE_DISABLED=(10017, "Trade disabled"), MARKET_CLOSED=(10018, "Market closed"),
    NO_MONEY=(10019, "No money"), PRICE_CHANGED=(10020, "Prices changed"), PRICE_OFF=(10021, "Off quotes"),
    INVALID_EXPIRATION=(10022, "Invalid expiration"), ORDER_CHANGED=(10023, "Order state changed"),
    TOO_MANY_REQUESTS=(10024, "Too many requests"), NO_CHANGES=(10025, "No changes in request"),
    SERVER_DISABLES_AT=(10026, "AutoTrading disabled by server"),
    CLIENT_DISABLES_AT=(10027, "AutoTrading disabled by client"), LOCKED=(10028, "Request locked for processing"),
    FROZEN=(10029, "Order or position frozen"), INVALID_FILL=(10030, "Unsupported filling mode"),
    CONNECTION=(10031, "No connection with the trade server"),
    ONLY_REAL=(10032, "Operation is allowed only for live accounts"),
    LIMIT_ORDERS=(10033, "The number of pending orders has reached the limit"),
    LIMIT_VOLUME=(10034, "The volume of orders and positions has reached the limit"),
    INVALID_ORDER=(10035, "Incorrect or prohibited order type"), POSITION_CLOSED=(10036, "Position doesn't exist"),
    INVALID_CLOSE_VOLUME=(10038, "Close volume exceeds the current position volume"),
    CLOSE_ORDER_EXIST=(10039, "A close order already exists"), LIMIT_POSITIONS=(10040, "Positions limit reached"),
    LONG_ONLY=(10042, "Only long positions are allowed"), SHORT_ONLY=(10043, "Only short positions are allowed"),
    CLOSE_ONLY=(10044, "Only position closing is allowed"),
    FIFO_CLOSE=(10045, "Position close rejected due to FIFO rule"),
)
# TRADE_RETCODE_REQUOTE = 10004 ... TRADE_RETCODE_FIFO_CLOSE = 10045, as the package names them.
globals().update({f"TRADE_RETCODE_{k}": code for k, (code, _) in _RETCODES.items()})
_COMMENTS = {code: text for code, text in _RETCODES.values()}

AccountInfo = namedtuple("AccountInfo", "login trade_mode leverage limit_orders margin_so_mode trade_allowed "
                         "trade_expert margin_mode currency_digits fifo_close balance credit profit equity margin "
                         "margin_free margin_level margin_so_call margin_so_so margin_initial margin_maintenance "
                         "assets liabilities commission_blocked name server currency company")
TerminalInfo = namedtuple("TerminalInfo", "community_account community_connection connected dlls_allowed "
                          "trade_allowed tradeapi_disabled email_enabled ftp_enabled notifications_enabled mqid "
                          "build maxbars codepage ping_last community_balance retransmission company name "
                          "language path data_path commondata_path")
SymbolInfo = namedtuple("SymbolInfo", "custom select visible time digits spread spread_float trade_calc_mode "
                        "trade_mode trade_stops_level trade_freeze_level trade_exemode filling_mode order_mode bid "
                        "ask last point trade_tick_value trade_tick_value_profit trade_tick_value_loss "
                        "trade_tick_size trade_contract_size volume_min volume_max volume_step volume_limit "
                        "swap_long swap_short currency_base currency_profit currency_margin description path name "
                        "expiration_mode")
Tick = namedtuple("Tick", "time bid ask last volume time_msc flags volume_real")
Rate = namedtuple("Rate", "time open high low close tick_volume spread real_volume")
TIMEFRAME_H1 = 16385
TradePosition = namedtuple("TradePosition", "ticket time time_msc time_update time_update_msc type magic identifier "
                           "reason volume price_open sl tp price_current swap profit symbol comment external_id")
TradeOrder = namedtuple("TradeOrder", "ticket time_setup time_setup_msc time_done time_done_msc time_expiration type "
                        "type_time type_filling state magic position_id position_by_id reason volume_initial "
                        "volume_current price_open sl tp price_current price_stoplimit symbol comment external_id")
TradeDeal = namedtuple("TradeDeal", "ticket order time time_msc type entry magic position_id reason volume price "
                       "commission swap profit fee symbol comment external_id")
TradeRequest = namedtuple("TradeRequest", "action magic order symbol volume price stoplimit sl tp deviation type "
                          "type_filling type_time expiration comment position position_by")
OrderSendResult = namedtuple("OrderSendResult", "retcode deal order volume price bid ask comment request_id "
                             "retcode_external request")
OrderCheckResult = namedtuple("OrderCheckResult", "retcode balance equity profit margin margin_free margin_level "
                              "comment request")

_FLOAT_FIELDS = {"volume", "price", "stoplimit", "sl", "tp"}
_STR_FIELDS = {"symbol", "comment"}
_E_OK = (RES_S_OK, "Success")
_E_FAIL = (RES_E_FAIL, "Terminal: Call failed")
_E_PARAMS = (RES_E_INVALID_PARAMS, "Terminal: Invalid params")
_E_AUTH = (RES_E_AUTH_FAILED, "Terminal: Authorization failed")
_E_NO_IPC = (RES_E_INTERNAL_FAIL_CONNECT, "No IPC connection")
_E_IPC_INIT = (RES_E_INTERNAL_FAIL_INIT, "IPC initialize failed")
_E_IPC_TIMEOUT = (RES_E_INTERNAL_FAIL_TIMEOUT, "IPC timeout")
_SCRIPT_RETCODES = {"requote": 10004, "price_changed": 10020, "price_off": 10021, "reject": 10006,
                    "no_money": 10019, "timeout": 10012, "connection": 10031}
_SCRIPT_OTHERS = {"ipc_down", "crash_after_send", "crash_before_send", "slow", "slow_after", "hang", "hang_after",
                  "late", "crash_late", "raise", "raise_after", "normal"}
_BUY_TYPES = {ORDER_TYPE_BUY, ORDER_TYPE_BUY_LIMIT, ORDER_TYPE_BUY_STOP}
_PENDING_TYPES = (ORDER_TYPE_BUY_LIMIT, ORDER_TYPE_SELL_LIMIT, ORDER_TYPE_BUY_STOP, ORDER_TYPE_SELL_STOP)

_BASE_SYMBOL = dict(digits=5, point=1e-5, trade_calc_mode=0, trade_mode=SYMBOL_TRADE_MODE_FULL,
                    trade_stops_level=0, trade_freeze_level=0, trade_exemode=SYMBOL_TRADE_EXECUTION_INSTANT,
                    filling_mode=1, order_mode=127, volume_min=0.01, volume_max=100.0, volume_step=0.01,
                    volume_limit=0.0, trade_contract_size=100000.0, swap_long=0.0, swap_short=0.0, expiration_mode=15,
                    currency_base="EUR", currency_profit="USD", currency_margin="EUR", description="", path="")
# The account's currency as base: its profit, in JPY, converts at its own price (``_in_usd``).
USDJPY = dict(bid=150.000, ask=150.020, digits=3, point=0.001, currency_base="USD", currency_profit="JPY",
              currency_margin="USD", description="US Dollar vs Japanese Yen", path="Forex\\USDJPY")
DEFAULT_SYMBOLS = {
    "EURUSD": dict(bid=1.08000, ask=1.08010, filling_mode=1, trade_stops_level=10,
                   description="Euro vs US Dollar", path="Forex\\EURUSD"),
    "GBPUSD": dict(bid=1.26000, ask=1.26015, filling_mode=2, trade_stops_level=10, currency_base="GBP",
                   currency_margin="GBP", description="Great Britain Pound vs US Dollar", path="Forex\\GBPUSD"),
    "XAUUSD": dict(bid=2000.00, ask=2000.30, digits=2, point=0.01, trade_contract_size=100.0, filling_mode=3,
                   trade_stops_level=50, currency_base="XAU", currency_margin="XAU",
                   description="Gold vs US Dollar", path="Metals\\XAUUSD"),
    "US500": dict(bid=5000.00, ask=5000.50, digits=2, point=0.01, tick_size=0.25, trade_contract_size=1.0,
                  filling_mode=0, volume_min=0.1, volume_step=0.1, volume_max=500.0, currency_base="USD",
                  currency_margin="USD", description="US 500 Cash CFD", path="Indices\\US500"),
}
_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS symbols (name TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS rows (kind TEXT NOT NULL, ticket INTEGER NOT NULL, data TEXT NOT NULL,
                                 PRIMARY KEY (kind, ticket));
CREATE TABLE IF NOT EXISTS script (id INTEGER PRIMARY KEY AUTOINCREMENT, fn TEXT NOT NULL, outcome TEXT NOT NULL);
"""

# This process's side of the link (the real package's one global client).
_path: str | None = None     # the terminal of the last successful initialize, None when not linked
_epoch: int | None = None    # the terminal's link epoch at that initialize: a disconnect breaks the link
_last_path: str | None = None
_error: tuple[int, str] = _E_OK
_selected: set[str] = set()
_parent = os.getppid()       # the process this one answers (the broker's, for its worker)


class _Store:
    """The terminal's state inside one transaction: key/values, symbols, rows by kind and ticket."""

    def __init__(self, con: sqlite3.Connection):
        self.con = con

    def get(self, key, default=None):
        row = self.con.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def put(self, key, value):
        self.con.execute("INSERT OR REPLACE INTO kv VALUES (?, ?)", (key, json.dumps(value)))

    def add(self, key, n=1):
        value = self.get(key) + n
        self.put(key, value)
        return value

    def symbol(self, name):
        row = self.con.execute("SELECT data FROM symbols WHERE name = ?", (name,)).fetchone()
        return json.loads(row[0]) if row else None

    def symbols(self):
        return [json.loads(d) for (d,) in self.con.execute("SELECT data FROM symbols ORDER BY name")]

    def put_symbol(self, s):
        self.con.execute("INSERT OR REPLACE INTO symbols VALUES (?, ?)", (s["name"], json.dumps(s)))

    def rows(self, kind):
        cursor = self.con.execute("SELECT data FROM rows WHERE kind = ? ORDER BY ticket", (kind,))
        return [json.loads(d) for (d,) in cursor]

    def row(self, kind, ticket):
        r = self.con.execute("SELECT data FROM rows WHERE kind = ? AND ticket = ?", (kind, ticket)).fetchone()
        return json.loads(r[0]) if r else None

    def put_row(self, kind, data):
        self.con.execute("INSERT OR REPLACE INTO rows VALUES (?, ?, ?)", (kind, data["ticket"], json.dumps(data)))

    def drop(self, kind, ticket):
        self.con.execute("DELETE FROM rows WHERE kind = ? AND ticket = ?", (kind, ticket))

    def ticket(self):
        return self.add("next_ticket") - 1

    def pop_script(self, fn):
        row = self.con.execute("SELECT id, outcome FROM script WHERE fn = ? ORDER BY id LIMIT 1", (fn,)).fetchone()
        if row is None:
            return None, None
        self.con.execute("DELETE FROM script WHERE id = ?", (row[0],))
        outcome = json.loads(row[1])
        return (next(iter(outcome.items())) if isinstance(outcome, dict) else (outcome, None))


def _expire(st):
    """The server removes a pending order when its expiration (ORDER_TIME_SPECIFIED) comes."""
    now = _now_msc(st)
    for o in st.rows("order"):
        if o["type_time"] == ORDER_TIME_SPECIFIED and o["expiration"] and o["expiration"] * 1000 <= now:
            st.drop("order", o["ticket"])
            o.update(state=ORDER_STATE_EXPIRED, time_done_msc=o["expiration"] * 1000)
            st.put_row("history_order", o)


@contextmanager
def _tx(path):
    """One IMMEDIATE transaction on the terminal file, committed unless the body raises."""
    con = sqlite3.connect(path, timeout=30.0, isolation_level=None)
    try:
        con.execute("PRAGMA busy_timeout = 30000")
        con.execute("BEGIN IMMEDIATE")
        try:
            st = _Store(con)
            _expire(st)
            yield st
        except BaseException:
            con.execute("ROLLBACK")
            raise
        con.execute("COMMIT")
    finally:
        con.close()


def _is_terminal(path):
    try:
        with _tx(path) as st:
            return st.get("next_ticket") is not None
    except sqlite3.Error:
        return False


def _fail(value, error):
    global _error
    _error = error
    return value


def _call(name, fail, body, *, path=None, broken=_E_NO_IPC, timeout_ms=None, late=None, ticket=None):
    """Runs ``body(store, scripted_retcode)`` as the terminal's answer to ``name``: refused when
    the link is down, else the next scripted outcome for ``name`` applied around it (one scripted
    for its ``ticket`` first, ``Terminal.script``'s). ``late``: what a "late" outcome keeps, to be
    delivered by ``Terminal.deliver_late``."""
    path = path or _path
    if path is None:
        return _fail(fail, _E_NO_IPC)

    def attempt(take_script):
        global _error
        _error = _E_OK
        with _tx(path) as st:
            if not st.get("connected") or (name != "initialize" and st.get("epoch") != _epoch):
                return None, None, _fail(fail, broken)
            if take_script:   # answered by the terminal (a slow or held call's second attempt is the same call)
                st.put(f"calls:{name}", st.get(f"calls:{name}", 0) + 1)
            if st.get(f"failing:{name}"):
                st.put(f"failed:{name}", st.get(f"failed:{name}", 0) + 1)
                return None, None, _fail(fail, _E_FAIL)
            kind, arg = st.pop_script(f"{name}#{ticket}") if take_script and ticket is not None else (None, None)
            kind, arg = st.pop_script(name) if take_script and kind is None else (kind, arg)
            if kind == "ipc_down":
                st.put("connected", False)
                st.add("epoch")
            if kind == "hang":
                return kind, _hanging(st, name), fail
            if kind == "late":
                st.put(f"late:{name}", st.get(f"late:{name}", []) + [late])
                return kind, _hanging(st, name), fail
            if kind == "crash_late":
                st.put(f"late:{name}", st.get(f"late:{name}", []) + [late])
                return kind, None, fail
            if kind in ("ipc_down", "slow", "crash_before_send", "raise"):
                return kind, arg, fail
            result = body(st, _SCRIPT_RETCODES.get(kind))
            if kind == "raise_after":
                return kind, True, result
            if kind == "hang_after":  # done and counted in one transaction: hung() means executed
                arg = _hanging(st, name)
            return kind, arg, result

    kind, arg, result = attempt(True)
    if kind == "ipc_down":
        return _fail(fail, broken)
    if kind in ("crash_before_send", "crash_late"):
        os._exit(1)
    if kind in ("raise", "raise_after"):  # the package itself raising (a bug, a bridge's remote error)
        raise RuntimeError(f"stand-in: {name} raised, as scripted" + (" after doing its work" if arg else ""))
    if kind == "slow":
        if timeout_ms is not None and arg * 1000 > timeout_ms:
            time.sleep(timeout_ms / 1000)
            return _fail(fail, _E_IPC_TIMEOUT)
        time.sleep(arg)
        result = attempt(False)[2]
    elif kind == "slow_after":
        time.sleep(arg)
    elif kind == "hang":
        if not _wait_released(path, name, arg, timeout_ms):
            return _fail(fail, _E_IPC_TIMEOUT)  # initialize and login give up, as the real ones
        result = attempt(False)[2]
    elif kind == "hang_after":
        _wait_released(path, name, arg)  # done already: it answers late, however long it waits
    elif kind == "late":
        _wait_released(path, name, arg)  # its work is the far side's, done by deliver_late
        return _fail(fail, _E_IPC_TIMEOUT)
    elif kind == "crash_after_send":
        os._exit(1)
    return result


def _hanging(st, name):
    """Counts a call of ``name`` reaching its hang; the release generation it waits to pass."""
    st.put(f"hung:{name}", st.get(f"hung:{name}", 0) + 1)
    return st.get(f"released:{name}", 0)


def _wait_released(path, name, generation, timeout_ms=None):
    """Blocks until ``Terminal.release(name)`` is called after the hang began (True), or the
    call's own timeout passes, for the calls that have one (False). Killing the process ends it;
    so does losing the parent (nobody is left to read the answer)."""
    give_up = None if timeout_ms is None else time.monotonic() + timeout_ms / 1000
    while os.getppid() == _parent:
        if give_up is not None and time.monotonic() >= give_up:
            return False
        con = sqlite3.connect(path, timeout=30.0)
        try:
            row = con.execute("SELECT value FROM kv WHERE key = ?", (f"released:{name}",)).fetchone()
        finally:
            con.close()
        if row is not None and json.loads(row[0]) > generation:
            return True
        time.sleep(0.01)
    os._exit(1)


def _credentials_ok(st, login, password, server):
    if login is not None and st.get("login") is not None:
        if int(login) != st.get("login") or (st.get("password") is not None and password is not None
                                             and str(password) != st.get("password")):
            return False
    return server is None or server == st.get("server")


def initialize(path=None, *, login=None, password=None, server=None, timeout=None, portable=False):
    """Links this process to the terminal at ``path`` (here the state file; without it, the last
    one or $MT5_STANDIN_TERMINAL). False with last_error() when it cannot, as the real one."""
    global _path, _epoch, _last_path
    path = os.fspath(path) if path else (_last_path or os.environ.get("MT5_STANDIN_TERMINAL"))
    _path = _epoch = None
    if not path or not os.path.exists(path) or not _is_terminal(path):
        return _fail(False, (RES_E_INTERNAL_FAIL_INIT, "IPC initialize failed, MetaTrader 5 x64 not found"))
    _last_path = path

    def body(st, _):
        global _path, _epoch
        if not _credentials_ok(st, login, password, server):
            return _fail(False, _E_AUTH)
        _path, _epoch = path, st.get("epoch")
        return True
    return _call("initialize", False, body, path=path, broken=_E_IPC_INIT,
                 timeout_ms=60_000 if timeout is None else timeout)


def login(login, password=None, server=None, timeout=60_000):
    """Logs in to an account of the linked terminal: must match the terminal's credentials."""
    return _call("login", False, lambda st, _: True if _credentials_ok(st, login, password, server)
                 else _fail(False, _E_AUTH), timeout_ms=timeout)


def shutdown():
    """Closes this process's link to the terminal."""
    global _path, _epoch
    _path = _epoch = None


def last_error():
    """The (code, description) of the last call of this process."""
    return _error


def version():
    return _call("version", None, lambda st, _: (500, 4874, "30 Jan 2025"))


def terminal_info():
    return _call("terminal_info", None, lambda st, _: TerminalInfo(
        False, False, st.get("server_link", True), False, st.get("trade_allowed"), False, False, False, False, False,
        4874, 100000, 0,
        12345, 0.0, 0.0, "MetaQuotes Ltd.", "MetaTrader 5 (stand-in)", "English", os.path.dirname(_path),
        os.path.dirname(_path), os.path.dirname(_path)))


def account_info():
    return _call("account_info", None, lambda st, _: _account(st))


def _account(st):
    balance, leverage = st.get("balance"), st.get("leverage")
    profit = round(sum(_position(st, p).profit for p in st.rows("position")), 2)
    margin = round(sum(_margin(st.symbol(p["symbol"]), p["volume"], p["price_open"], leverage)
                       for p in st.rows("position")), 2)
    equity = round(balance + profit, 2)
    return AccountInfo(st.get("login") or 0, ACCOUNT_TRADE_MODE_DEMO, leverage, 200, 0,
                       st.get("account_trade", True), st.get("trade_expert", True),
                       st.get("margin_mode", ACCOUNT_MARGIN_MODE_RETAIL_HEDGING), 2, bool(st.get("fifo_close")),
                       balance, 0.0, profit,
                       equity, margin,
                       round(equity - margin, 2), round(equity / margin * 100, 2) if margin else 0.0, 50.0, 30.0,
                       0.0, 0.0, 0.0, 0.0, 0.0, "moonhook tester", st.get("server"), "USD", "Stand-in Markets Ltd")


def _margin(sym, volume, price, leverage):
    return volume * sym["trade_contract_size"] * (1.0 if _in_usd(sym) else price) / leverage


def _profit(sym, buy, volume, price_open, price_close):
    moved = (price_close - price_open) * (1 if buy else -1) * volume * sym["trade_contract_size"]
    return round(moved / price_close if _in_usd(sym) else moved, 2)


def _in_usd(sym):
    """Whether the account's currency (USD) is the symbol's base and not its profit currency:
    the profit converts at the symbol's own price, the margin is in USD already."""
    return sym["currency_base"] == "USD" and sym["currency_profit"] != "USD"


def symbols_get(group=None):
    return _call("symbols_get", None, lambda st, _: tuple(
        _symbol_info(s) for s in st.symbols() if _in_group(s["name"], group)))


def symbols_total():
    return _call("symbols_total", None, lambda st, _: len(st.symbols()))


def symbol_info(symbol):
    """The symbol's specification and last prices; None for an unknown symbol."""
    return _call("symbol_info", None, lambda st, _: _symbol_info(st.symbol(symbol)) if st.symbol(symbol)
                 else _fail(None, _E_FAIL))


def _tick(s):
    """The symbol's price grid: ``tick_size`` where it is coarser than a point (an index quoted in
    quarters), else the point."""
    return s.get("tick_size") or s["point"]


def _on_grid(price, s):
    """Whether ``price`` is a whole number of ticks, as the trade server requires of a request's
    price, stop and target (10015, 10016 otherwise)."""
    steps = price / _tick(s)
    return abs(steps - round(steps)) < 1e-6


def _symbol_info(s):
    # in the profit currency, unless a test sets the account currency's (as MetaTrader converts it);
    # a losing position's (converted at the other side of the rate's spread) is the same unless set;
    # where USD is the base, converted at the symbol's own ask (a loss's at its bid, the more)
    in_usd = _in_usd(s)
    tick_value = s.get("tick_value") or _tick(s) * s["trade_contract_size"] / (s["ask"] if in_usd else 1.0)
    tick_value_loss = s.get("tick_value_loss") or (_tick(s) * s["trade_contract_size"] / s["bid"] if in_usd
                                                   else tick_value)
    selected = s["name"] in _selected
    return SymbolInfo(False, selected, selected, s["time_msc"] // 1000, s["digits"],
                      round((s["ask"] - s["bid"]) / s["point"]), True, s["trade_calc_mode"], s["trade_mode"],
                      s["trade_stops_level"], s["trade_freeze_level"], s["trade_exemode"], s["filling_mode"],
                      s["order_mode"], s["bid"], s["ask"], 0.0, s["point"], tick_value, tick_value, tick_value_loss,
                      _tick(s), s["trade_contract_size"], s["volume_min"], s["volume_max"], s["volume_step"],
                      s["volume_limit"], s["swap_long"], s["swap_short"], s["currency_base"], s["currency_profit"],
                      s["currency_margin"], s["description"], s["path"], s["name"], s.get("expiration_mode", 15))


def symbol_info_tick(symbol):
    """The last tick; None unless the symbol is selected in this process (as in Market Watch)."""
    def body(st, _):
        s = st.symbol(symbol)
        if s is None or symbol not in _selected:
            return _fail(None, _E_FAIL)
        return Tick(s["time_msc"] // 1000, s["bid"], s["ask"], 0.0, 0, s["time_msc"],
                    TICK_FLAG_BID | TICK_FLAG_ASK, 0.0)
    return _call("symbol_info_tick", None, body)


def symbol_select(symbol, enable=True):
    """Adds the symbol to (or removes it from) this process's Market Watch."""
    def body(st, _):
        if st.symbol(symbol) is None:
            return _fail(False, _E_FAIL)
        (_selected.add if enable else _selected.discard)(symbol)
        return True
    return _call("symbol_select", False, body)


def _in_group(name, group):
    """MetaTrader's group filter: comma-separated masks with * wildcards, ! excludes."""
    if not group:
        return True
    masks = [m.strip() for m in group.split(",") if m.strip()]
    if any(m.startswith("!") and fnmatch.fnmatchcase(name, m[1:]) for m in masks):
        return False
    return any(not m.startswith("!") and fnmatch.fnmatchcase(name, m) for m in masks)


def _position(st, p):
    s = st.symbol(p["symbol"])
    buy = p["type"] == POSITION_TYPE_BUY
    current = s["bid"] if buy else s["ask"]
    return TradePosition(p["ticket"], p["time_msc"] // 1000, p["time_msc"], p["time_update_msc"] // 1000,
                         p["time_update_msc"], p["type"], p["magic"], p["identifier"], p["reason"], p["volume"],
                         p["price_open"], p["sl"], p["tp"], current, p.get("swap", 0.0),
                         _profit(s, buy, p["volume"], p["price_open"], current), p["symbol"], p["comment"], "")


def _order(st, o):
    s = st.symbol(o["symbol"])
    current = (s["ask"] if o["type"] in _BUY_TYPES else s["bid"]) if s else 0.0
    return TradeOrder(o["ticket"], o["time_setup_msc"] // 1000, o["time_setup_msc"], o["time_done_msc"] // 1000,
                      o["time_done_msc"], o["expiration"], o["type"], o["type_time"], o["type_filling"], o["state"],
                      o["magic"], o["position_id"], 0, o["reason"], o["volume_initial"], o["volume_current"],
                      o["price_open"], o["sl"], o["tp"], current, 0.0, o["symbol"], o["comment"], "")


def _deal(d):
    return TradeDeal(d["ticket"], d["order"], d["time_msc"] // 1000, d["time_msc"], d["type"], d["entry"], d["magic"],
                     d["position_id"], d["reason"], d["volume"], d["price"], d.get("commission", 0.0),
                     d.get("swap", 0.0), d["profit"], d.get("fee", 0.0), d["symbol"],
                     d["comment"], "")


def _select(rows, symbol, group, ticket, key="ticket"):
    return [r for r in rows if (symbol is None or r["symbol"] == symbol) and _in_group(r["symbol"], group)
            and (ticket is None or r[key] == ticket)]


def positions_total():
    return _call("positions_total", None, lambda st, _: len(st.rows("position")))


def positions_get(symbol=None, group=None, ticket=None):
    """Open positions (a tuple, empty when none), by symbol, group mask or ticket."""
    return _call("positions_get", None, lambda st, _: tuple(
        _position(st, p) for p in _select(st.rows("position"), symbol, group, ticket)), ticket=ticket)


def orders_total():
    return _call("orders_total", None, lambda st, _: len(st.rows("order")))


def orders_get(symbol=None, group=None, ticket=None):
    """Active pending orders (a tuple, empty when none), by symbol, group mask or ticket."""
    return _call("orders_get", None, lambda st, _: tuple(
        _order(st, o) for o in _select(st.rows("order"), symbol, group, ticket)), ticket=ticket)


def _seconds(value):
    if isinstance(value, _dt.datetime):
        return value.timestamp() if value.tzinfo else calendar.timegm(value.timetuple())
    return float(value)


def _history(name, kind, ticket_key, time_key, convert, date_from, date_to, group, ticket, position):
    """Deals or orders of the history: by ``ticket`` (the order's), ``position``, or a date range."""
    def body(st, _):
        if kind == "deal":   # what was asked of the history (the last 500), for a test to tell whole reads from ranges
            st.put("deal_reads", st.get("deal_reads", [])[-499:] + [
                [_seconds(date_from) if date_from is not None else None, ticket, position]])
        shown = st.get("history_shown")
        rows = [r for r in st.rows(kind) if shown is None or r["ticket"] in shown[kind]]
        if ticket is not None:
            return tuple(convert(st, r) for r in rows if r[ticket_key] == ticket)
        if position is not None:
            return tuple(convert(st, r) for r in rows if r["position_id"] == position)
        if date_from is None or date_to is None:
            return _fail(None, _E_PARAMS)
        low, high = _seconds(date_from), _seconds(date_to)
        return tuple(convert(st, r) for r in rows if low <= r[time_key] / 1000 <= high
                     and (group is None or _in_group(r["symbol"], group)))
    return _call(name, None, body)


def history_deals_get(date_from=None, date_to=None, group=None, ticket=None, position=None):
    """Deals of the history; ``ticket`` is the ORDER ticket the deals were made by, as in the real API."""
    return _history("history_deals_get", "deal", "order", "time_msc", lambda st, d: _deal(d),
                    date_from, date_to, group, ticket, position)


def history_orders_get(date_from=None, date_to=None, group=None, ticket=None, position=None):
    """Filled and cancelled orders of the history, by order ticket, position or date range (of
    their setup time)."""
    return _history("history_orders_get", "history_order", "ticket", "time_setup_msc", _order,
                    date_from, date_to, group, ticket, position)


def order_calc_margin(action, symbol, volume, price):
    return _call("order_calc_margin", None, lambda st, _: round(_margin(
        st.symbol(symbol), volume, price, st.get("leverage")), 2) if st.symbol(symbol) else _fail(None, _E_FAIL))


def order_calc_profit(action, symbol, volume, price_open, price_close):
    return _call("order_calc_profit", None, lambda st, _: _profit(
        st.symbol(symbol), action == ORDER_TYPE_BUY, volume, price_open, price_close)
        if st.symbol(symbol) else _fail(None, _E_FAIL))


def _request(request):
    """The request as a TradeRequest, or None (last_error -2) for a field the API would refuse."""
    if not isinstance(request, dict):
        return _fail(None, _E_PARAMS)
    for key, value in request.items():
        want = float if key in _FLOAT_FIELDS else str if key in _STR_FIELDS else int
        if key not in TradeRequest._fields or not isinstance(value, want) or isinstance(value, bool):
            return _fail(None, (RES_E_INVALID_PARAMS, f'Invalid "{key}" argument'))
    fields = {f: request.get(f, "" if f in _STR_FIELDS else 0.0 if f in _FLOAT_FIELDS else 0)
              for f in TradeRequest._fields}
    fields["comment"] = fields["comment"][:31]
    return TradeRequest(**fields)


def _points(distance, point):
    return round(distance / point, 6)


def _trade_mode_allows(s, buy):
    """An order opening (or adding to) a position, refused as the symbol's trade mode says: a
    close-only symbol takes closes only (10044), a long-only one no sell (10042), a short-only
    one no buy (10043). Closes are taken in every mode but DISABLED (10017, checked before)."""
    mode = s["trade_mode"]
    _need(mode != SYMBOL_TRADE_MODE_CLOSEONLY, 10044)
    _need(mode != SYMBOL_TRADE_MODE_LONGONLY or buy, 10042)
    _need(mode != SYMBOL_TRADE_MODE_SHORTONLY or not buy, 10043)


def _stops_ok(buy, ref, sl, tp, s):
    """sl/tp on the price grid, on the right side of ``ref`` and at least trade_stops_level points away."""
    level = s["trade_stops_level"]
    for level_price, below in ((sl, buy), (tp, not buy)):
        if level_price:
            if not _on_grid(level_price, s):
                return False
            gap = _points(ref - level_price if below else level_price - ref, s["point"])
            if gap <= 0 or gap < level:
                return False
    return True


def _frozen(buy, ref, levels, s):
    """Whether a level of ``levels`` (a position's sl and tp, a pending order's price) is within the
    symbol's trade_freeze_level of ``ref``, the price it triggers on: the trade server changes
    (and removes) nothing there then (10029)."""
    freeze = s["trade_freeze_level"]
    return bool(freeze) and any(level and _points(abs(ref - level), s["point"]) <= freeze for level in levels)


def _pending_price_ok(typ, price, s):
    if price <= 0 or not _on_grid(price, s):
        return False
    gap = {ORDER_TYPE_BUY_LIMIT: s["ask"] - price, ORDER_TYPE_SELL_LIMIT: price - s["bid"],
           ORDER_TYPE_BUY_STOP: price - s["ask"], ORDER_TYPE_SELL_STOP: s["bid"] - price}[typ]
    gap = _points(gap, s["point"])
    return gap > 0 and gap >= s["trade_stops_level"]


def _expiration_ok(r, s, st):
    """GTC, or a SPECIFIED expiration still to come on a symbol whose expiration_mode allows it
    (bit 4); the stand-in knows no DAY expirations."""
    if r.type_time == ORDER_TIME_GTC:
        return r.expiration == 0
    return (r.type_time == ORDER_TIME_SPECIFIED and bool(s.get("expiration_mode", 15) & 4)
            and r.expiration * 1000 > _now_msc(st))


def _filling_ok(filling, mask, pending):
    if filling == ORDER_FILLING_FOK:
        return bool(mask & 1)
    if filling == ORDER_FILLING_IOC:
        return bool(mask & 2)
    return filling == ORDER_FILLING_RETURN and (pending or mask == 0)


def _volume_ok(volume, s):
    step = s["volume_step"]
    return (s["volume_min"] - 1e-9 <= volume <= s["volume_max"] + 1e-9
            and abs(volume - round(volume / step) * step) <= 1e-9)


def _server_msc(st, unix, clock=()):
    """``unix`` on the terminal's server clock, in ms (``clock``: ``st.get("clock")`` read once by a
    caller converting many times, as a history of bars: a read each was a second under load)."""
    clock = st.get("clock") if clock == () else clock
    if not clock:
        return int(unix * 1000)
    wall = _dt.datetime.fromtimestamp(unix, ZoneInfo(clock[0])).replace(tzinfo=None) + _dt.timedelta(hours=clock[1])
    return calendar.timegm(wall.timetuple()) * 1000 + wall.microsecond // 1000


def _now_msc(st):
    """Now on the server's clock, in ms: the real time, or the one ``Terminal.set_time`` holds."""
    return _server_msc(st, st.get("now") or time.time())


_NEW_YORK = ZoneInfo("America/New_York")


def _trading_hour(unix):
    """Whether the hour starting at ``unix`` is in the forex week: Sunday 17:00 to Friday 17:00 New York."""
    ny = _dt.datetime.fromtimestamp(unix, _NEW_YORK)
    day, hour = ny.weekday(), ny.hour  # Monday 0 ... Sunday 6
    return not (day == 5 or (day == 4 and hour >= 17) or (day == 6 and hour < 17))


def copy_rates_from_pos(symbol, timeframe, start_pos, count):
    """The last ``count`` H1 bars before ``start_pos`` bars ago, oldest first, their times on the
    server's clock; None for an unknown or unselected symbol or another timeframe."""
    def body(st, _):
        s = st.symbol(symbol)
        if s is None or symbol not in _selected or timeframe != TIMEFRAME_H1:
            return _fail(None, _E_PARAMS)
        bars, hour, clock = [], int(time.time()) // 3600 * 3600, st.get("clock")
        while len(bars) < start_pos + count and hour > 0:
            if _trading_hour(hour):
                bars.append(Rate(_server_msc(st, hour, clock) // 1000, s["bid"], s["bid"], s["bid"], s["bid"], 1,
                                 round((s["ask"] - s["bid"]) / s["point"]), 0))
            hour -= 3600
        return tuple(reversed(bars[start_pos:]))
    return _call("copy_rates_from_pos", None, body)


def _fill(st, s, *, typ, volume, price, magic, comment, reason, position=None, order=None, sl=0.0, tp=0.0,
          filling=ORDER_FILLING_FOK):
    """One execution: a filled history order (``order``, or a new one), its deal, and the position
    opened (ticket = order ticket) or reduced/closed with its profit booked to the balance."""
    now = _now_msc(st)
    if order is None:
        order = dict(ticket=st.ticket(), time_setup_msc=now, expiration=0, type=typ, type_time=ORDER_TIME_GTC,
                     type_filling=filling, magic=magic, reason=reason, volume_initial=volume,
                     price_open=price, sl=sl, tp=tp, symbol=s["name"], comment=comment)
    order.update(time_done_msc=now, state=ORDER_STATE_FILLED, volume_current=0.0,
                 position_id=position["identifier"] if position else order["ticket"])
    buy = typ in _BUY_TYPES
    deal = dict(ticket=st.ticket(), order=order["ticket"], time_msc=now, type=DEAL_TYPE_BUY if buy else DEAL_TYPE_SELL,
                entry=DEAL_ENTRY_OUT if position else DEAL_ENTRY_IN, magic=magic, position_id=order["position_id"],
                reason=reason, volume=volume, price=price, profit=0.0, symbol=s["name"], comment=comment,
                commission=round(-(st.get("commission_per_lot") or 0.0) * volume, 2),
                fee=-(st.get("fee_per_deal") or 0.0), swap=0.0)
    if position is not None:  # the swap the position accrued is booked when it closes
        deal["swap"], position["swap"] = position.get("swap", 0.0), 0.0
    st.put("balance", round(st.get("balance") + deal["commission"] + deal["fee"] + deal["swap"], 2))
    if position is None:
        st.put_row("position", dict(ticket=order["ticket"], time_msc=now, time_update_msc=now,
                                    type=POSITION_TYPE_BUY if buy else POSITION_TYPE_SELL, magic=magic,
                                    identifier=order["ticket"], reason=reason, volume=volume, price_open=price,
                                    sl=order["sl"], tp=order["tp"], symbol=s["name"], comment=comment))
    else:
        deal["profit"] = _profit(s, not buy, volume, position["price_open"], price)
        st.put("balance", round(st.get("balance") + deal["profit"], 2))
        position.update(volume=round(position["volume"] - volume, 8), time_update_msc=now)
        if position["volume"] <= 1e-9:
            st.drop("position", position["ticket"])
        else:
            st.put_row("position", position)
    st.put_row("history_order", order)
    st.put_row("deal", deal)
    return order, deal


def _part(st, o, volume):
    """``volume`` lots of pending order ``o`` filled at its price: a deal into its position (ticket = the
    order's, opened or grown); the order left active with the rest (ORDER_STATE_PARTIAL), or, all of it
    filled, moved to the history (ORDER_STATE_FILLED)."""
    ticket, now = o["ticket"], _now_msc(st)
    buy, p = o["type"] in _BUY_TYPES, st.row("position", ticket)
    if p is None:
        p = dict(ticket=ticket, time_msc=now, type=POSITION_TYPE_BUY if buy else POSITION_TYPE_SELL,
                 magic=o["magic"], identifier=ticket, reason=o["reason"], volume=0.0,
                 price_open=o["price_open"], sl=o["sl"], tp=o["tp"], symbol=o["symbol"], comment=o["comment"])
    p.update(volume=round(p["volume"] + volume, 8), time_update_msc=now)
    st.put_row("position", p)
    o.update(volume_current=round(o["volume_current"] - volume, 8), state=ORDER_STATE_PARTIAL, position_id=ticket)
    if o["volume_current"] <= 1e-9:
        st.drop("order", ticket)
        o.update(state=ORDER_STATE_FILLED, time_done_msc=now)
    st.put_row("order" if o["state"] == ORDER_STATE_PARTIAL else "history_order", o)
    st.put_row("deal", dict(ticket=st.ticket(), order=ticket, time_msc=now,
                            type=DEAL_TYPE_BUY if buy else DEAL_TYPE_SELL, entry=DEAL_ENTRY_IN,
                            magic=o["magic"], position_id=ticket, reason=o["reason"], volume=float(volume),
                            price=o["price_open"], profit=0.0, symbol=o["symbol"], comment=o["comment"],
                            commission=0.0, fee=0.0, swap=0.0))


def _netted(st, symbol):
    """On a netting account, the one position ``symbol`` holds (None if flat, or on a hedging account)."""
    if st.get("margin_mode") not in (ACCOUNT_MARGIN_MODE_RETAIL_NETTING, ACCOUNT_MARGIN_MODE_EXCHANGE):
        return None
    return next((p for p in st.rows("position") if p["symbol"] == symbol), None)


def _execute(st, s, **deal):
    """A deal that names no position: on a netting account holding one on its symbol, netted with
    it (``_net_fill``); else it opens a position of its own (``_fill``)."""
    existing = _netted(st, s["name"])
    return _fill(st, s, **deal) if existing is None else _net_fill(st, s, existing, **deal)


def _net_fill(st, s, existing, *, typ, volume, price, magic, comment, reason, order=None, sl=0.0, tp=0.0,
              filling=ORDER_FILLING_FOK):
    """A deal on a netting account's position ``existing``, as MetaTrader nets it: the same side
    is added to it (IN: its price averaged, its sl and tp those of the deal where it gives them),
    the other side reduces or closes it (OUT) or, larger than it, reverses it (one INOUT deal:
    its volume closed with its profit, the rest open the other way under the order's ticket, its
    identifier kept)."""
    buy = typ in _BUY_TYPES
    same = (existing["type"] == POSITION_TYPE_BUY) == buy
    if not same and volume <= existing["volume"] + 1e-9:
        return _fill(st, s, typ=typ, volume=volume, price=price, magic=magic, comment=comment, reason=reason,
                     position=existing, order=order, filling=filling)
    now = _now_msc(st)
    if order is None:
        order = dict(ticket=st.ticket(), time_setup_msc=now, expiration=0, type=typ, type_time=ORDER_TIME_GTC,
                     type_filling=filling, magic=magic, reason=reason, volume_initial=volume,
                     price_open=price, sl=sl, tp=tp, symbol=s["name"], comment=comment)
    order.update(time_done_msc=now, state=ORDER_STATE_FILLED, volume_current=0.0, position_id=existing["identifier"])
    deal = dict(ticket=st.ticket(), order=order["ticket"], time_msc=now, type=DEAL_TYPE_BUY if buy else DEAL_TYPE_SELL,
                entry=DEAL_ENTRY_IN if same else DEAL_ENTRY_INOUT, magic=magic, position_id=existing["identifier"],
                reason=reason, volume=volume, price=price, profit=0.0, symbol=s["name"], comment=comment,
                commission=round(-(st.get("commission_per_lot") or 0.0) * volume, 2),
                fee=-(st.get("fee_per_deal") or 0.0), swap=0.0)
    if same:
        total = round(existing["volume"] + volume, 8)
        existing.update(volume=total, time_update_msc=now, sl=order["sl"] or existing["sl"],
                        tp=order["tp"] or existing["tp"],
                        price_open=round((existing["price_open"] * existing["volume"] + price * volume) / total,
                                         s["digits"]))
        st.put_row("position", existing)
    else:
        deal["profit"] = _profit(s, not buy, existing["volume"], existing["price_open"], price)
        deal["swap"] = existing.get("swap", 0.0)
        st.put("balance", round(st.get("balance") + deal["profit"], 2))
        st.drop("position", existing["ticket"])
        st.put_row("position", dict(ticket=order["ticket"], time_msc=now, time_update_msc=now,
                                    type=POSITION_TYPE_BUY if buy else POSITION_TYPE_SELL, magic=magic,
                                    identifier=existing["identifier"], reason=reason,
                                    volume=round(volume - existing["volume"], 8), price_open=price,
                                    sl=order["sl"], tp=order["tp"], symbol=s["name"], comment=comment))
    st.put("balance", round(st.get("balance") + deal["commission"] + deal["fee"] + deal["swap"], 2))
    st.put_row("history_order", order)
    st.put_row("deal", deal)
    return order, deal


class _Refused(Exception):
    """A trade request refused with the retcode in args[0]: nothing was executed."""


def _need(ok, retcode):
    if not ok:
        raise _Refused(retcode)


def _trade(st, r, execute):
    """Checks ``r`` as the terminal and trade server would and, when ``execute``, carries it out:
    (retcode, order ticket, deal ticket, volume, price). A refusal raises _Refused."""
    _need(st.get("server_link", True), 10031)
    _need(st.get("trade_allowed"), 10027)
    _need(st.get("account_trade", True), 10017)   # logged in with the investor (read-only) password
    _need(st.get("trade_expert", True), 10026)    # the broker allows no expert advisors on the account
    if r.action == TRADE_ACTION_SLTP:
        pos = st.row("position", r.position)
        _need(pos is not None, 10036)
        s, buy = st.symbol(pos["symbol"]), pos["type"] == POSITION_TYPE_BUY
        _need(not s["closed"], 10018)
        _need(s["trade_mode"] != SYMBOL_TRADE_MODE_DISABLED, 10017)
        _need(not _frozen(buy, s["bid"] if buy else s["ask"], (pos["sl"], pos["tp"]), s), 10029)
        _need(_stops_ok(buy, s["bid"] if buy else s["ask"], r.sl, r.tp, s), 10016)
        _need((pos["sl"], pos["tp"]) != (r.sl, r.tp), 10025)
        if execute:
            pos.update(sl=r.sl, tp=r.tp, time_update_msc=_now_msc(st))
            st.put_row("position", pos)
        return 10009, 0, 0, 0.0, 0.0
    if r.action in (TRADE_ACTION_MODIFY, TRADE_ACTION_REMOVE):
        o = st.row("order", r.order)
        _need(o is not None, 10013)
        s = st.symbol(o["symbol"])
        _need(not s["closed"], 10018)
        _need(s["trade_mode"] != SYMBOL_TRADE_MODE_DISABLED, 10017)
        buy = o["type"] in _BUY_TYPES
        _need(not _frozen(buy, s["ask"] if buy else s["bid"], (o["price_open"],), s), 10029)
        if r.action == TRADE_ACTION_MODIFY:
            price = r.price or o["price_open"]
            _need(_pending_price_ok(o["type"], price, s), 10015)
            _need(_stops_ok(o["type"] in _BUY_TYPES, price, r.sl, r.tp, s), 10016)
            _need((o["price_open"], o["sl"], o["tp"], o["type_time"], o["expiration"])
                  != (price, r.sl, r.tp, r.type_time, r.expiration), 10025)
            _need(_expiration_ok(r, s, st), 10022)
            o.update(price_open=price, sl=r.sl, tp=r.tp, type_time=r.type_time, expiration=r.expiration)
        else:
            o.update(state=ORDER_STATE_CANCELED, time_done_msc=_now_msc(st))
        if execute:
            if r.action == TRADE_ACTION_REMOVE:
                st.drop("order", o["ticket"])
            st.put_row("order" if r.action == TRADE_ACTION_MODIFY else "history_order", o)
        return 10009, o["ticket"], 0, 0.0, 0.0
    _need(r.action in (TRADE_ACTION_DEAL, TRADE_ACTION_PENDING), 10013)  # no CLOSE_BY in this stand-in
    pending = r.action == TRADE_ACTION_PENDING
    pos = None if pending or not r.position else st.row("position", r.position)
    _need(pending or not r.position or pos is not None, 10036)
    s = st.symbol(r.symbol)
    _need(s is not None and r.symbol in _selected and (pos is None or pos["symbol"] == r.symbol), 10013)
    _need(not s["closed"], 10018)
    _need(s["trade_mode"] != SYMBOL_TRADE_MODE_DISABLED, 10017)
    _need(_volume_ok(r.volume, s), 10014)
    _need(r.type in (_PENDING_TYPES if pending else (ORDER_TYPE_BUY, ORDER_TYPE_SELL)), 10035)
    _need(_filling_ok(r.type_filling, s["filling_mode"], pending), 10030)
    buy = r.type in _BUY_TYPES
    if pending:
        _trade_mode_allows(s, buy)
        _need(_pending_price_ok(r.type, r.price, s), 10015)
        _need(_stops_ok(buy, r.price, r.sl, r.tp, s), 10016)
        _need(_expiration_ok(r, s, st), 10022)
        ticket = st.ticket() if execute else 0
        if execute:
            st.put_row("order", dict(ticket=ticket, time_setup_msc=_now_msc(st), time_done_msc=0, expiration=r.expiration,
                                     type=r.type, type_time=r.type_time, type_filling=r.type_filling,
                                     state=ORDER_STATE_PLACED, magic=r.magic, position_id=0, reason=ORDER_REASON_EXPERT,
                                     volume_initial=r.volume, volume_current=r.volume, price_open=r.price, sl=r.sl,
                                     tp=r.tp, symbol=r.symbol, comment=r.comment))
        return 10008, ticket, 0, r.volume, 0.0
    price = s["ask"] if buy else s["bid"]
    existing = _netted(st, r.symbol) if pos is None else None
    closing = existing is not None and (existing["type"] == POSITION_TYPE_BUY) != buy  # reduces or reverses
    if pos is not None:
        _need(pos["type"] != (POSITION_TYPE_BUY if buy else POSITION_TYPE_SELL), 10013)
        _need(r.volume <= pos["volume"] + 1e-9, 10038)
        _need(not st.get("fifo_close") or not any(  # FIFO: the symbol's oldest position goes first
            p["symbol"] == pos["symbol"] and p["ticket"] < pos["ticket"] for p in st.rows("position")), 10045)
    if s["trade_exemode"] == SYMBOL_TRADE_EXECUTION_INSTANT:
        _need(r.price > 0, 10015)
        _need(_points(abs(price - r.price), s["point"]) <= r.deviation, 10004)
    opening = r.volume - existing["volume"] if closing else r.volume  # a netting reversal opens the rest
    if pos is None and opening > 1e-9:
        _trade_mode_allows(s, buy)
        _need(_stops_ok(buy, s["bid"] if buy else s["ask"], r.sl, r.tp, s), 10016)
        _need(_margin(s, opening, price, st.get("leverage")) <= _account(st).margin_free, 10019)
    # A thin book (a test's ``liquidity``: lots the market takes at once): FOK is refused whole,
    # IOC fills what there is and cancels the rest (10010).
    volume, code = r.volume, 10009
    if s.get("liquidity") is not None and volume > s["liquidity"] + 1e-9:
        _need(r.type_filling != ORDER_FILLING_FOK, 10006)
        volume, code = s["liquidity"], 10010
    if not execute:
        return code, 0, 0, volume, price
    deal = dict(typ=r.type, volume=volume, price=price, magic=r.magic, comment=r.comment, reason=DEAL_REASON_EXPERT,
                sl=r.sl, tp=r.tp, filling=r.type_filling)
    order, deal = _fill(st, s, position=pos, **deal) if pos is not None else _execute(st, s, **deal)
    return code, order["ticket"], deal["ticket"], volume, price


def _outcome(st, r, scripted, execute):
    """The retcode and tickets of request ``r``: the scripted retcode, a refusal, or the execution."""
    if scripted:
        return scripted, 0, 0, 0.0, 0.0
    try:
        return _trade(st, r, execute)
    except _Refused as refused:
        return refused.args[0], 0, 0, 0.0, 0.0


def order_send(request):
    """Sends a trade request: an OrderSendResult (its retcode says what happened), or None with
    last_error() when the request never reached the terminal or had a malformed field."""
    return _call("order_send", None, lambda st, scripted: _send(st, request, scripted), late=request)


def _send(st, request, scripted=None):
    r = _request(request)
    if r is None:
        return None
    pos = st.row("position", r.position) if r.position else None
    s = st.symbol(r.symbol) or (st.symbol(pos["symbol"]) if pos else None)
    code, order, deal, volume, price = _outcome(st, r, scripted, execute=True)
    if not scripted and code in (10008, 10009, 10010):
        st.add("sent")
    bid, ask = (s["bid"], s["ask"]) if s and code in (10004, 10020, 10021, 10009, 10010) else (0.0, 0.0)
    return OrderSendResult(code, deal, order, volume, price, bid, ask, _COMMENTS.get(code, ""),
                           st.add("request_id"), 0, r)


def order_check(request):
    """Checks a request without sending it: retcode 0 and comment 'Done' when it would pass."""
    def body(st, scripted):
        r = _request(request)
        if r is None:
            return None
        code = _outcome(st, r, scripted, execute=False)[0]
        a = _account(st)
        s = st.symbol(r.symbol)
        need = _margin(s, r.volume, s["ask"], a.leverage) if s and r.action == TRADE_ACTION_DEAL else 0.0
        ok = code in (10008, 10009, 10010)
        return OrderCheckResult(0 if ok else code, a.balance, a.equity, a.profit, round(a.margin + need, 2),
                                round(a.margin_free - need, 2), a.margin_level,
                                "Done" if ok else _COMMENTS.get(code, ""), r)
    return _call("order_check", None, body)


class Terminal:
    """The test's side of a terminal file: creates it (or opens an existing one), moves the
    market, scripts the next calls' outcomes, cuts the link, and reads the state for assertions."""

    def __init__(self, path, *, balance=10_000.0, symbols=None, login=None, password=None,
                 server="Standin-Demo", leverage=100, margin_mode=ACCOUNT_MARGIN_MODE_RETAIL_HEDGING,
                 server_clock=None, fifo_close=False, commission_per_lot=0.0, fee_per_deal=0.0):
        self.path = os.fspath(path)
        con = sqlite3.connect(self.path)
        con.execute("PRAGMA journal_mode = WAL")
        con.executescript(_SCHEMA)
        con.close()
        with _tx(self.path) as st:
            if st.get("next_ticket") is not None:
                return
            for key, value in dict(next_ticket=50_000_000, balance=float(balance), leverage=leverage, login=login,
                                   password=None if password is None else str(password), server=server,
                                   trade_allowed=True, connected=True, epoch=0, sent=0, request_id=0,
                                   margin_mode=margin_mode, clock=server_clock and list(server_clock),
                                   fifo_close=fifo_close, commission_per_lot=commission_per_lot,
                                   fee_per_deal=fee_per_deal).items():
                st.put(key, value)
            for name, spec in (DEFAULT_SYMBOLS if symbols is None else symbols).items():
                st.put_symbol({**_BASE_SYMBOL, **spec, "name": name, "time_msc": _now_msc(st), "closed": False})
            st.put_row("deal", dict(ticket=st.ticket(), order=0, time_msc=_now_msc(st), type=DEAL_TYPE_BALANCE,
                                    entry=DEAL_ENTRY_IN, magic=0, position_id=0, reason=DEAL_REASON_CLIENT,
                                    volume=0.0, price=0.0, profit=float(balance), symbol="", comment="Deposit"))

    def set_price(self, symbol, bid, ask):
        """Moves the market; pending orders crossed are filled and positions whose SL/TP is
        crossed are closed (deal reason SL/TP), here and now."""
        with _tx(self.path) as st:
            s = st.symbol(symbol)
            if s is None:
                raise KeyError(f"set_price: no symbol {symbol!r} in this terminal")
            bid, ask = float(bid), float(ask)
            s.update(bid=bid, ask=ask, time_msc=_now_msc(st))
            st.put_symbol(s)
            for o in st.rows("order"):
                if o["symbol"] == symbol and {ORDER_TYPE_BUY_LIMIT: ask <= o["price_open"],
                                              ORDER_TYPE_SELL_LIMIT: bid >= o["price_open"],
                                              ORDER_TYPE_BUY_STOP: ask >= o["price_open"],
                                              ORDER_TYPE_SELL_STOP: bid <= o["price_open"]}[o["type"]]:
                    if o["volume_current"] < o["volume_initial"] - 1e-9:   # the rest of one filled in part
                        _part(st, o, o["volume_current"])
                        continue
                    st.drop("order", o["ticket"])
                    buy = o["type"] in _BUY_TYPES
                    _execute(st, s, typ=o["type"], volume=o["volume_initial"], price=ask if buy else bid,
                          magic=o["magic"], comment=o["comment"], reason=o["reason"], order=o)
            for p in (p for p in st.rows("position") if p["symbol"] == symbol):
                buy = p["type"] == POSITION_TYPE_BUY
                price = bid if buy else ask
                sl_hit = p["sl"] and (price <= p["sl"] if buy else price >= p["sl"])
                tp_hit = p["tp"] and (price >= p["tp"] if buy else price <= p["tp"])
                if sl_hit or tp_hit:
                    reason, level = (DEAL_REASON_SL, "sl") if sl_hit else (DEAL_REASON_TP, "tp")
                    _fill(st, s, typ=ORDER_TYPE_SELL if buy else ORDER_TYPE_BUY, volume=p["volume"], price=price,
                          magic=p["magic"], comment=f"[{level} {p[level]:.{s['digits']}f}]"[:31], reason=reason,
                          position=p)

    def script(self, fn, *outcomes, ticket=None):
        """The next calls of ``fn`` (by anyone on this terminal; with ``ticket``, positions_get's or
        orders_get's for that ticket alone, before any scripted for all: one look of many, whoever
        else reads) behave as scripted, one outcome a call, in order: "normal" (as unscripted),
        "requote", "price_changed", "price_off", "reject", "no_money", "timeout", "connection"
        (order_send/order_check only), "ipc_down", "crash_before_send", "crash_after_send",
        {"slow": seconds}, {"slow_after": seconds}, "hang" (no answer, nothing done, until
        ``release``; then it is done and answered; initialize and login give up at their timeout),
        "hang_after" (done, then no answer until ``release``), "late" (order_send: no answer ever
        and nothing done, until ``deliver_late`` executes it), "crash_late" (as "late", but its
        process dies at once: the answer lost without waiting out a deadline), "raise" (the call raises, nothing
        done), "raise_after" (done, then it raises). A hanging call is counted by ``hung`` and
        ends when its process is killed."""
        api = {"initialize", "login", "version", "terminal_info", "account_info", "symbols_get", "symbols_total",
               "symbol_info", "symbol_info_tick", "symbol_select", "positions_total", "positions_get",
               "orders_total", "orders_get", "history_deals_get", "history_orders_get", "order_calc_margin",
               "copy_rates_from_pos",
               "order_calc_profit", "order_send", "order_check"}
        if fn not in api or ticket is not None and fn not in ("positions_get", "orders_get"):
            by = " read by ticket" if fn in api else ""
            raise ValueError(f"script: {fn!r} is not a function of the stand-in{by}")
        for outcome in outcomes:
            kind = next(iter(outcome)) if isinstance(outcome, dict) and len(outcome) == 1 else outcome
            if not isinstance(kind, str) or kind not in _SCRIPT_OTHERS | set(_SCRIPT_RETCODES) or (
                    kind in _SCRIPT_RETCODES and fn not in ("order_send", "order_check")) or (
                    (kind in ("slow", "slow_after")) != isinstance(outcome, dict)):
                raise ValueError(f"script: {outcome!r} is not an outcome for {fn}")
        with _tx(self.path) as st:
            for outcome in outcomes:
                st.con.execute("INSERT INTO script (fn, outcome) VALUES (?, ?)",
                               (fn if ticket is None else f"{fn}#{ticket}", json.dumps(outcome)))

    def deliver_late(self):
        """The requests of the "late" order_send calls reach the trade server now, and are
        executed as they would have been, whether their caller is still there or not: the far
        side of a bridge (mt5linux's RPyC server, on Windows) goes on with a call its near side
        gave up on. Returns their retcodes."""
        with _tx(self.path) as st:
            late = st.get("late:order_send", [])
            st.put("late:order_send", [])
            _selected.update(request.get("symbol", "") for request in late)  # the far side had them
            return [_send(st, request).retcode for request in late]

    def reject_late(self, state=ORDER_STATE_REJECTED):
        """The requests of the "late" order_send calls reach the trade server now, which takes each
        as an order and ends it without a deal (``end_request``): nothing executed. Returns their tickets."""
        with _tx(self.path) as st:
            late = st.get("late:order_send", [])
            st.put("late:order_send", [])
        return [self.end_request(request, state) for request in late]

    def hung(self, fn):
        """How many calls of ``fn`` have reached a scripted hang, ever: a "hang_after" one has
        done its work by then (counted in the same transaction)."""
        return self._read(lambda st: st.get(f"hung:{fn}", 0))

    def calls(self, fn):
        """How many calls of ``fn`` have reached the terminal, ever (not those refused for a link down)."""
        return self._read(lambda st: st.get(f"calls:{fn}", 0))

    def release(self, fn):
        """Every call of ``fn`` hanging now goes on (a "hang" one does its work) and answers."""
        with _tx(self.path) as st:
            st.put(f"released:{fn}", st.get(f"released:{fn}", 0) + 1)

    def failing(self, fn, on=True):
        """While on, every call of ``fn`` fails as the package's calls fail: its failure value
        (None, or False) and last_error -1 "Terminal: Call failed". Counted by ``failed``."""
        with _tx(self.path) as st:
            st.put(f"failing:{fn}", bool(on))

    def failed(self, fn):
        """How many calls of ``fn`` have failed by ``failing``, ever."""
        return self._read(lambda st: st.get(f"failed:{fn}", 0))

    def disconnect(self):
        """The terminal's IPC is gone: every call fails with -10004 and initialize with -10003
        until reconnect(); the processes linked before must initialize again afterwards."""
        with _tx(self.path) as st:
            st.put("connected", False)
            st.add("epoch")

    def reconnect(self):
        with _tx(self.path) as st:
            st.put("connected", True)

    def lag_history(self, on=True):
        """While on, the history (``history_deals_get``, ``history_orders_get``) shows only what it
        had when it was switched on, as a real terminal's trails order_send by a second or more:
        a deal made, or an order filled, removed or ended since, is not there yet."""
        with _tx(self.path) as st:
            st.put("history_shown", {kind: [r["ticket"] for r in st.rows(kind)] for kind in ("deal", "history_order")}
                   if on else None)

    def set_server_link(self, up):
        """The terminal's own connection to its trade server (a server's maintenance, the broker's
        network): down, the terminal still answers, its data as last synchronised, but
        ``terminal_info().connected`` is False and order_send and order_check answer 10031."""
        with _tx(self.path) as st:
            st.put("server_link", bool(up))

    def set_time(self, unix):
        """The terminal's clock held at ``unix`` (deals, orders and ticks are stamped with it), or
        with None let go with the real time again."""
        with _tx(self.path) as st:
            st.put("now", unix)

    def set_trade_allowed(self, allowed):
        """The terminal's AutoTrading button: off, order_send answers 10027."""
        with _tx(self.path) as st:
            st.put("trade_allowed", bool(allowed))

    def set_account(self, *, trade_allowed=True, trade_expert=True):
        """The account's own permissions (account_info): ``trade_allowed`` false as when logged in with
        the investor (read-only) password, order_send answering 10017; ``trade_expert`` false as when the
        broker allows no expert advisors there, order_send answering 10026."""
        with _tx(self.path) as st:
            st.put("account_trade", bool(trade_allowed))
            st.put("trade_expert", bool(trade_expert))

    def set_market_closed(self, symbol, closed):
        self.set_symbol(symbol, closed=bool(closed))

    def set_symbol(self, symbol, **fields):
        """Changes a symbol's specification (filling_mode, trade_stops_level, volume_step ...)."""
        with _tx(self.path) as st:
            st.put_symbol({**st.symbol(symbol), **fields})

    def open_external(self, symbol, side, volume, magic=0, comment="manual"):
        """A position opened outside this moonhook: by the trader, by hand (magic 0), or by an
        expert advisor (or another engine) numbering its orders ``magic``."""
        with _tx(self.path) as st:
            s = st.symbol(symbol)
            buy = side == "buy"
            order, _ = _execute(st, s, typ=ORDER_TYPE_BUY if buy else ORDER_TYPE_SELL, volume=float(volume),
                             price=s["ask"] if buy else s["bid"], magic=magic, comment=comment,
                             reason=DEAL_REASON_CLIENT)
            return order["ticket"]

    def charge_swap(self, ticket, amount):
        """Overnight interest of ``amount`` (negative: charged) accrued on open position ``ticket``:
        shown on the position, booked to the balance by the deal that closes it."""
        with _tx(self.path) as st:
            p = st.row("position", ticket)
            p["swap"] = round(p.get("swap", 0.0) + amount, 2)
            st.put_row("position", p)

    def stop_out(self, ticket):
        """The server's stop-out of open position ``ticket``: closed at the market, deal reason SO."""
        with _tx(self.path) as st:
            p = st.row("position", ticket)
            s = st.symbol(p["symbol"])
            buy = p["type"] == POSITION_TYPE_BUY
            _fill(st, s, typ=ORDER_TYPE_SELL if buy else ORDER_TYPE_BUY, volume=p["volume"],
                  price=s["bid"] if buy else s["ask"], magic=p["magic"], comment="[so 48.20%/4820.00/10000.00]",
                  reason=DEAL_REASON_SO, position=p)

    def deposit(self, amount, comment="Deposit"):
        """Money paid in (a negative ``amount``: withdrawn): a balance deal, as the history keeps it."""
        with _tx(self.path) as st:
            st.put_row("deal", dict(ticket=st.ticket(), order=0, time_msc=_now_msc(st), type=DEAL_TYPE_BALANCE,
                                    entry=DEAL_ENTRY_IN, magic=0, position_id=0, reason=DEAL_REASON_CLIENT,
                                    volume=0.0, price=0.0, profit=float(amount), symbol="", comment=comment))
            st.put("balance", round(st.get("balance") + amount, 2))

    def past_trades(self, trades):
        """Trades by hand of a history made before (a year's, for a test that needs many of them), in
        one transaction: each (symbol, side, volume, opened, closed (Unix times), profit) a position
        opened and closed whole at the symbol's prices now, by hand (magic 0, comment "manual"), its
        deals and orders in the history, its ``profit`` (as given) and commission booked to the
        balance, as ``open_external`` then a close by hand at those times would book them."""
        with _tx(self.path) as st:
            for symbol, side, volume, opened, closed, profit in trades:
                s, buy, position = st.symbol(symbol), side == "buy", st.ticket()
                cost = round(-(st.get("commission_per_lot") or 0.0) * volume, 2)
                into, out = (DEAL_TYPE_BUY, DEAL_TYPE_SELL) if buy else (DEAL_TYPE_SELL, DEAL_TYPE_BUY)
                for at, typ, entry, gain in ((opened, into, DEAL_ENTRY_IN, 0.0), (closed, out, DEAL_ENTRY_OUT, profit)):
                    order = position if entry == DEAL_ENTRY_IN else st.ticket()
                    price = s["ask"] if typ == DEAL_TYPE_BUY else s["bid"]
                    st.put_row("history_order", dict(
                        ticket=order, time_setup_msc=int(at * 1000), time_done_msc=int(at * 1000), expiration=0,
                        type=typ, type_time=ORDER_TIME_GTC, type_filling=ORDER_FILLING_FOK, state=ORDER_STATE_FILLED,
                        magic=0, position_id=position, reason=ORDER_REASON_CLIENT, volume_initial=volume,
                        volume_current=0.0, price_open=price, sl=0.0, tp=0.0, symbol=symbol, comment="manual"))
                    st.put_row("deal", dict(ticket=st.ticket(), order=order, time_msc=int(at * 1000), type=typ,
                                            entry=entry, magic=0, position_id=position, reason=DEAL_REASON_CLIENT,
                                            volume=volume, price=price, profit=gain, symbol=symbol, comment="manual",
                                            commission=cost, fee=0.0, swap=0.0))
                    st.put("balance", round(st.get("balance") + gain + cost, 2))

    def place_external(self, symbol, type_, volume, price):
        """A pending order placed outside moonhook (by hand): magic 0, comment "manual"."""
        with _tx(self.path) as st:
            ticket = st.ticket()
            st.put_row("order", dict(ticket=ticket, time_setup_msc=_now_msc(st), time_done_msc=0, expiration=0,
                                     type=type_, type_time=0, type_filling=ORDER_FILLING_RETURN,
                                     state=ORDER_STATE_PLACED, magic=0, position_id=0, reason=ORDER_REASON_CLIENT,
                                     volume_initial=float(volume), volume_current=float(volume), price_open=price,
                                     sl=0.0, tp=0.0, symbol=symbol, comment="manual"))
            return ticket

    def fill_part(self, ticket, volume):
        """Part of pending order ``ticket`` filled at its price (an exchange's book, a thin market):
        a deal of ``volume`` lots into its position (ticket = the order's, opened or grown), and the
        order left active with the rest (ORDER_STATE_PARTIAL); its rest fills so too when the price
        crosses it (``set_price``)."""
        with _tx(self.path) as st:
            _part(st, st.row("order", ticket), volume)

    def end_order(self, ticket, state=ORDER_STATE_CANCELED):
        """A pending order ended outside moonhook: cancelled in the terminal by hand, or (with
        ORDER_STATE_REJECTED or ORDER_STATE_EXPIRED) by the trade server; it moves to the history."""
        with _tx(self.path) as st:
            o = st.row("order", ticket)
            if o is None:
                raise KeyError(f"end_order: no pending order {ticket}")
            st.drop("order", ticket)
            o.update(state=state, time_done_msc=_now_msc(st))
            st.put_row("history_order", o)

    def end_request(self, request, state=ORDER_STATE_REJECTED):
        """A market ``request`` the trade server took as an order and ended without a deal: rejected
        (an exchange's refusal), or with ORDER_STATE_CANCELED a FOK or IOC order nothing filled. It
        is in the order history with ``state`` and no deal, no position. Returns its ticket."""
        with _tx(self.path) as st:
            r, ticket, now = _request(request), st.ticket(), _now_msc(st)
            st.put_row("history_order", dict(
                ticket=ticket, time_setup_msc=now, time_done_msc=now, expiration=0, type=r.type, type_time=r.type_time,
                type_filling=r.type_filling, state=state, magic=r.magic, position_id=0, reason=ORDER_REASON_EXPERT,
                volume_initial=r.volume, volume_current=r.volume, price_open=r.price, sl=r.sl, tp=r.tp,
                symbol=r.symbol, comment=r.comment))
            return ticket

    def _read(self, fn):
        with _tx(self.path) as st:
            return fn(st)

    def positions(self):
        return self._read(lambda st: [_position(st, p)._asdict() for p in st.rows("position")])

    def orders(self):
        return self._read(lambda st: [_order(st, o)._asdict() for o in st.rows("order")])

    def history_orders(self):
        return self._read(lambda st: [_order(st, o)._asdict() for o in st.rows("history_order")])

    def deal_reads(self):
        """The last 500 history_deals_get asked: [date_from (Unix seconds, None), ticket, position]."""
        return self._read(lambda st: st.get("deal_reads", []))

    def deals(self):
        """Every deal of the history, the opening balance deal (type 2) first."""
        return self._read(lambda st: [_deal(d)._asdict() for d in st.rows("deal")])

    def account(self):
        return self._read(lambda st: _account(st)._asdict())

    def sent(self):
        """How many order_send calls executed something (market, pending, close, SL/TP, modify, remove)."""
        return self._read(lambda st: st.get("sent"))
