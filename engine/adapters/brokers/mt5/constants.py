"""The MetaTrader5 package's constants this broker uses, as plain data, with the values the
package defines (read from its ``__init__.py``; see ../shared/reference/metatrader5.md).

Kept here rather than read from the module: the worker process holds the module, and the
values are part of MetaTrader's protocol, not of one package version.
"""

ACTION_DEAL, ACTION_PENDING, ACTION_SLTP, ACTION_MODIFY, ACTION_REMOVE = 1, 5, 6, 7, 8

ORDER_TYPES = {("buy", None): 0, ("sell", None): 1, ("buy", "limit"): 2, ("sell", "limit"): 3,
               ("buy", "stop"): 4, ("sell", "stop"): 5}
ORDER_KINDS = {v: k for k, v in ORDER_TYPES.items()}  # 0 -> ("buy", None), 2 -> ("buy", "limit") ...

ORDER_STATE_CANCELED, ORDER_STATE_FILLED = 2, 4  # ENUM_ORDER_STATE, of an order in the history

# A history order's ORDER_STATE when it left without a fill (ENUM_ORDER_STATE: canceled 2,
# rejected 5, expired 6): ``Dropped.reason``, and what it says to a trader.
DROPPED_STATES = {2: ("cancelled", "deleted in the terminal or by the broker"),
                  5: ("rejected", "rejected by the trade server"), 6: ("expired", "its expiry time came")}

FILLING_FOK, FILLING_IOC, FILLING_RETURN = 0, 1, 2
FILLING_NAMES = {FILLING_FOK: "FOK", FILLING_IOC: "IOC", FILLING_RETURN: "RETURN"}
SYMBOL_FILLING_FOK, SYMBOL_FILLING_IOC = 1, 2  # bits of symbol_info().filling_mode
TIME_GTC, TIME_SPECIFIED = 0, 2  # ORDER_TIME_*: until cancelled, until the request's expiration
SYMBOL_CALC_FOREX = (0, 5)  # symbol_info().trade_calc_mode of a currency pair: FOREX, FOREX_NO_LEVERAGE
SYMBOL_EXPIRATION_SPECIFIED = 4  # the bit of symbol_info().expiration_mode that allows TIME_SPECIFIED

POSITION_SIDES = {0: "buy", 1: "sell"}
DEAL_SIDES = {0: "buy", 1: "sell"}
# DEAL_TYPE_COMMISSION, _DAILY, _MONTHLY: commission the broker charges apart from the deals
# (at the end of a day or a month), booked to the trader's balance.
DEAL_COMMISSIONS = {7, 8, 9}
# Money in or out that is no trade: DEAL_TYPE_BALANCE (a deposit, a withdrawal), _CHARGE,
# _CORRECTION, _BONUS, _INTEREST, _DIVIDEND, _DIVIDEND_FRANKED, _TAX. Not _CREDIT: it is no balance.
DEAL_TRANSFERS = {2, 4, 5, 6, 12, 15, 16, 17}
DEAL_ENTRY_IN, DEAL_ENTRY_OUT, DEAL_ENTRY_INOUT, DEAL_ENTRY_OUT_BY = 0, 1, 2, 3
DEAL_REASONS = {4: "sl", 5: "tp", 6: "stop_out"}  # any other: a close (client, expert, ...)

# order_send's retcodes
REQUOTE, PLACED, DONE, DONE_PARTIAL = 10004, 10008, 10009, 10010
PRICE_CHANGED, PRICE_OFF, INVALID_FILL, CONNECTION = 10020, 10021, 10030, 10031
INVALID_STOPS = 10016
TIMEOUT = 10012  # "request canceled by timeout": the terminal's wait, not the trade server's verdict
ALGO_TRADING_OFF = 10027  # the terminal's Algo Trading button is off
DONE_CODES = frozenset({PLACED, DONE, DONE_PARTIAL})
RETRY_WITH_FRESH_PRICE = frozenset({REQUOTE, PRICE_CHANGED, PRICE_OFF})

RETCODES = {
    10004: "requote", 10006: "request rejected", 10007: "request canceled by the trader",
    10008: "order placed", 10009: "request completed", 10010: "only part of the request was completed",
    10011: "request processing error", 10012: "request canceled by timeout", 10013: "invalid request",
    10014: "invalid volume", 10015: "invalid price", 10016: "invalid stops (too close to the price, or on "
    "the wrong side)", 10017: "trading is disabled", 10018: "the market is closed", 10019: "not enough money",
    10020: "prices changed", 10021: "no quotes to process the request", 10022: "invalid order expiration",
    10023: "order state changed", 10024: "too many requests", 10025: "no changes in the request",
    10026: "autotrading disabled by the server", 10027: "autotrading disabled in the terminal (press the "
    "AutoTrading button)", 10028: "request locked for processing", 10029: "order or position frozen",
    10030: "unsupported filling mode", 10031: "no connection with the trade server",
    10032: "allowed for live accounts only", 10033: "the limit of pending orders is reached",
    10034: "the volume limit for the symbol is reached", 10035: "incorrect or prohibited order type",
    10036: "the position is already closed", 10038: "the close volume exceeds the position's volume",
    10039: "a close order for this position exists already", 10040: "the limit of open positions is reached",
    10041: "the pending order activation was rejected", 10042: "only long positions are allowed",
    10043: "only short positions are allowed", 10044: "only closing positions is allowed",
    10045: "only FIFO closing is allowed (the symbol's oldest position first)",
    10046: "opposite positions on one symbol are not allowed on this account",
}

# The reads answering a tuple, empty when there is nothing, and None only when they failed
LIST_READS = frozenset({"positions_get", "orders_get", "history_deals_get", "history_orders_get"})
OK = 1  # last_error()'s code for no error
AUTH_FAILED = -6  # initialize's or login's: a wrong login, password or server (MetaTrader does not say which)

# last_error() codes meaning the terminal itself cannot be reached (the pipe, not an order)
IPC_ERRORS = frozenset({-10001, -10002, -10003, -10004, -10005})
LAST_ERRORS = {1: "ok", -1: "generic fail", -2: "invalid parameters", -3: "no memory", -4: "not found",
               -5: "invalid version", -6: "authorization failed", -7: "unsupported method",
               -8: "autotrading disabled", -10001: "IPC send failed", -10002: "IPC receive failed",
               -10003: "IPC initialization failed", -10004: "no IPC connection", -10005: "IPC timeout"}


def describe_retcode(code: int, comment: str | None = None) -> str:
    text = RETCODES.get(code, "unknown return code")
    return f"MetaTrader {code}: {text}" + (f" ({comment})" if comment and comment.lower() not in text else "")


def describe_last_error(error: tuple | list | None) -> str:
    if not error:
        return "no error reported"
    code, message = (list(error) + [""])[:2]
    return f"MetaTrader error {code}: {message or LAST_ERRORS.get(code, 'unknown')}"


# What the session warns of at connection (shown in /health's broker_state and logged).
NETTING, ALGO_OFF = "a netting account", "Algo Trading is off in the terminal"
CLOCK_UNKNOWN = "the server's clock is unknown"
FIFO = "closes first in, first out"
READ_ONLY, NO_EXPERTS = "the account may not trade", "no expert advisors on the account"  # account_info's
NETTING_MODES = frozenset({0, 1})  # ACCOUNT_MARGIN_MODE_RETAIL_NETTING, _EXCHANGE (2 is hedging)
WARNINGS = {
    NETTING: "the account nets positions (margin mode netting): a symbol holds one position, a buy against "
             "a short reduces it, and an entry's stop moves the whole position's; so an entry is sent only onto a "
             "symbol without a position or a pending order, and refused otherwise (docs/metatrader5.md)",
    ALGO_OFF: "Algo Trading is off in the terminal: every order is refused (10027) until its button is on",
    FIFO: "the account closes positions first in, first out (FIFO, as US accounts must): a symbol's position "
          "closes only after its older ones, so a close by ticket of a newer one is refused (10045); closes by "
          "symbol go oldest first",
    READ_ONLY: "the account may not trade: every order is refused (10017); logged in with its investor (read-only) "
               "password? Set the master password (MOONHOOK_MT5_PASSWORD)",
    NO_EXPERTS: "the broker allows no expert advisors on this account: every order is refused (10026); ask the "
                "broker to enable automated trading",
    CLOCK_UNKNOWN: "the server's clock is unknown (no forex major's hourly bars, no fresh tick): times are shown "
                   "as the server writes them, often 2 or 3 hours ahead of UTC; set mt5.server_clock "
                   "(docs/metatrader5.md)",
}
ALGO_ON = "Algo Trading is on again in the terminal"
# How a refusal judged after a lost answer begins (the order found unchanged, its position open whole, its
# order ended unfilled): what MetaTrader showed when looked at again, never a send refused before it went.
NOT_EXECUTED = "not executed: the answer was lost"
# A close's refusal when its position was closed whole by something else first (``LostAnswers.closed_otherwise``).
CLOSED_OTHERWISE = "not executed: "


def describe_ended(ended: str) -> str:
    """The refusal of a send whose answer was lost that the order history has ``ended`` unfilled."""
    return f"{NOT_EXECUTED}, and MetaTrader's history has it {ended}"
