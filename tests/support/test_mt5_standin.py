"""The MetaTrader5 stand-in is faithful to the package's documented API: shapes, failures,
refusals, fills, triggers, scripted outcomes, and a terminal that outlives its processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from support import mt5_standin as mt5
from support.mt5_standin import Terminal
from support.paths import SUPPORT
from support.waits import HANG

FILLING = {"EURUSD": mt5.ORDER_FILLING_FOK, "GBPUSD": mt5.ORDER_FILLING_IOC, "XAUUSD": mt5.ORDER_FILLING_FOK,
           "US500": mt5.ORDER_FILLING_RETURN}


@pytest.fixture
def term(tmp_path):
    """A fresh terminal, this process linked to it with every default symbol selected."""
    terminal = Terminal(tmp_path / "terminal.db")
    assert mt5.initialize(path=terminal.path)
    for name in FILLING:
        assert mt5.symbol_select(name, True)
    yield terminal
    unlink()


def unlink():
    mt5.shutdown()
    mt5._selected.clear()
    mt5._last_path = None


def market(side="buy", symbol="EURUSD", volume=0.1, **fields):
    tick = mt5.symbol_info_tick(symbol)
    request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": symbol, "volume": volume,
               "type": mt5.ORDER_TYPE_BUY if side == "buy" else mt5.ORDER_TYPE_SELL,
               "price": tick.ask if side == "buy" else tick.bid, "deviation": 10, "magic": 7001,
               "comment": "mh:test", "type_time": mt5.ORDER_TIME_GTC, "type_filling": FILLING[symbol]}
    return mt5.order_send({**request, **fields})


def pending(kind, price, symbol="EURUSD", volume=0.1, **fields):
    request = {"action": mt5.TRADE_ACTION_PENDING, "symbol": symbol, "volume": volume, "type": kind, "price": price,
               "magic": 7002, "comment": "mh:pending", "type_time": mt5.ORDER_TIME_GTC,
               "type_filling": mt5.ORDER_FILLING_RETURN}
    return mt5.order_send({**request, **fields})


def child(path, code, **kwargs):
    """Runs ``code`` in another Python process linked to the terminal at ``path`` (EURUSD selected)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(SUPPORT), os.environ.get("PYTHONPATH")) if p)}
    program = (f"import mt5_standin as mt5\nassert mt5.initialize(path={str(path)!r})\n"
               f"assert mt5.symbol_select('EURUSD')\n{code}")
    return subprocess.Popen([sys.executable, "-c", program], env=env, **kwargs)


def child_buy(path):
    return child(path, "t = mt5.symbol_info_tick('EURUSD')\n"
                       "r = mt5.order_send({'action': 1, 'symbol': 'EURUSD', 'volume': 0.2, 'type': 0,"
                       " 'price': t.ask, 'deviation': 5, 'magic': 42, 'comment': 'mh:child', 'type_filling': 0})\n"
                       "print(r.retcode)\n", stdout=subprocess.PIPE, text=True)


# -- the API's shapes and failures --------------------------------------------------------------

def test_constants_have_the_packages_values():
    assert (mt5.TRADE_ACTION_DEAL, mt5.TRADE_ACTION_PENDING, mt5.TRADE_ACTION_SLTP, mt5.TRADE_ACTION_MODIFY,
            mt5.TRADE_ACTION_REMOVE, mt5.TRADE_ACTION_CLOSE_BY) == (1, 5, 6, 7, 8, 10)
    assert (mt5.ORDER_TYPE_SELL_STOP, mt5.ORDER_TYPE_CLOSE_BY, mt5.ORDER_FILLING_RETURN,
            mt5.ORDER_TIME_SPECIFIED_DAY) == (5, 8, 2, 3)
    assert (mt5.TRADE_RETCODE_REQUOTE, mt5.TRADE_RETCODE_DONE, mt5.TRADE_RETCODE_INVALID_FILL,
            mt5.TRADE_RETCODE_CONNECTION, mt5.TRADE_RETCODE_CLIENT_DISABLES_AT) == (10004, 10009, 10030, 10031, 10027)
    assert (mt5.DEAL_REASON_SL, mt5.DEAL_REASON_TP, mt5.ORDER_STATE_FILLED, mt5.ORDER_STATE_CANCELED) == (4, 5, 4, 2)
    assert (mt5.RES_E_AUTH_FAILED, mt5.RES_E_INTERNAL_FAIL_CONNECT,
            mt5.RES_E_INTERNAL_FAIL_TIMEOUT) == (-6, -10004, -10005)


def test_results_are_named_tuples_with_the_real_field_names(term):
    assert {"login", "balance", "equity", "margin_free", "margin_mode", "currency", "trade_allowed"} <= set(
        mt5.account_info()._asdict())
    assert mt5.account_info().margin_mode == mt5.ACCOUNT_MARGIN_MODE_RETAIL_HEDGING
    assert mt5.terminal_info().trade_allowed is True
    info = mt5.symbol_info("XAUUSD")
    assert (info.name, info.digits, info.point, info.trade_contract_size, info.filling_mode, info.trade_stops_level,
            info.select) == ("XAUUSD", 2, 0.01, 100.0, 3, 50, True)
    assert list(mt5.symbol_info_tick("EURUSD")._asdict()) == ["time", "bid", "ask", "last", "volume", "time_msc",
                                                              "flags", "volume_real"]
    result = market(sl=1.07, tp=1.09)
    assert list(result._asdict())[:10] == ["retcode", "deal", "order", "volume", "price", "bid", "ask", "comment",
                                           "request_id", "retcode_external"]
    assert isinstance(result.request, mt5.TradeRequest) and result.request.sl == 1.07
    (position,) = mt5.positions_get(symbol="EURUSD")
    assert {"ticket", "time", "time_msc", "type", "magic", "identifier", "reason", "volume", "price_open", "sl", "tp",
            "price_current", "swap", "profit", "symbol", "comment", "external_id"} <= set(position._asdict())
    assert (position.ticket, position.identifier, position.magic, position.comment) == (
        result.order, result.order, 7001, "mh:test")
    assert position.ticket >= 50_000_000
    (deal,) = mt5.history_deals_get(ticket=result.order)  # ticket= is the order's ticket, as in the real API
    assert {"order", "entry", "reason", "position_id", "commission", "fee", "external_id"} <= set(deal._asdict())
    assert mt5.orders_get() == () and mt5.positions_get(symbol="GBPUSD") == ()


def test_past_trades_are_in_the_history_as_a_position_opened_and_closed_by_hand(tmp_path):
    terminal = Terminal(tmp_path / "t.db", balance=1_000.0, commission_per_lot=7.0)
    terminal.past_trades([("EURUSD", "sell", 0.5, 1_700_000_000.0, 1_700_000_600.0, -12.5)])
    opening, closing = terminal.deals()[1:]
    assert (opening["type"], opening["entry"], opening["position_id"], opening["order"], opening["time"]) == (
        1, mt5.DEAL_ENTRY_IN, opening["order"], opening["order"], 1_700_000_000)
    assert (closing["type"], closing["entry"], closing["position_id"], closing["profit"], closing["time"]) == (
        0, mt5.DEAL_ENTRY_OUT, opening["position_id"], -12.5, 1_700_000_600)
    assert (opening["commission"], closing["commission"], opening["magic"], closing["comment"]) == (
        -3.5, -3.5, 0, "manual")
    assert terminal.account()["balance"] == 1_000.0 - 12.5 - 7.0 and terminal.positions() == []
    assert [o["position_id"] for o in terminal.history_orders()] == [opening["position_id"]] * 2


def test_the_calls_that_reach_the_terminal_are_counted_by_function(tmp_path):
    terminal = Terminal(tmp_path / "t.db")
    assert mt5.initialize(path=str(tmp_path / "t.db"))
    before = terminal.calls("positions_get")
    assert mt5.positions_get() == () and mt5.positions_get(symbol="EURUSD") == ()
    terminal.disconnect()   # refused for the link down: never reached it
    assert mt5.positions_get() is None
    assert terminal.calls("positions_get") == before + 2 and terminal.calls("history_orders_get") == 0


def test_calls_before_initialize_return_none_with_no_ipc(tmp_path):
    Terminal(tmp_path / "t.db")
    unlink()
    assert mt5.positions_get() is None
    assert mt5.last_error() == (-10004, "No IPC connection")
    assert mt5.order_send({"action": 1}) is None and mt5.account_info() is None
    assert mt5.initialize(path=str(tmp_path / "missing.db")) is False
    assert mt5.last_error()[0] == -10003
    assert mt5.initialize(path=str(tmp_path / "t.db")) is True and mt5.last_error() == (1, "Success")
    mt5.shutdown()
    assert mt5.symbols_get() is None and mt5.last_error() == (-10004, "No IPC connection")


def test_credentials_must_match(tmp_path):
    terminal = Terminal(tmp_path / "t.db", login=1234, password="secret", server="Broker-Demo")
    unlink()
    assert mt5.initialize(path=terminal.path, login=1234, password="wrong", server="Broker-Demo") is False
    assert mt5.last_error() == (-6, "Terminal: Authorization failed")
    assert mt5.positions_get() is None
    assert mt5.initialize(path=terminal.path, login=1234, password="secret", server="Broker-Demo") is True
    assert mt5.account_info().login == 1234
    assert mt5.login(1234, password="nope") is False and mt5.last_error()[0] == -6
    assert mt5.login(1234, password="secret", server="Broker-Demo") is True
    unlink()


def test_unselected_symbol_has_no_tick_and_cannot_be_traded(tmp_path):
    terminal = Terminal(tmp_path / "t.db")
    unlink()
    assert mt5.initialize(path=terminal.path)
    assert mt5.symbol_info("EURUSD").select is False
    assert mt5.symbol_info_tick("EURUSD") is None and mt5.last_error() == (-1, "Terminal: Call failed")
    request = {"action": 1, "symbol": "EURUSD", "volume": 0.1, "type": 0, "price": 1.0801, "deviation": 10}
    assert mt5.order_send(request).retcode == 10013
    assert mt5.symbol_info("NOPE") is None and mt5.symbol_select("NOPE") is False
    assert mt5.symbol_select("EURUSD") and mt5.order_send(request).retcode == 10009
    unlink()


def test_request_fields_are_type_checked(term):
    assert market(volume=1) is None
    assert mt5.last_error() == (-2, 'Invalid "volume" argument')
    assert market(bogus=1) is None and mt5.last_error() == (-2, 'Invalid "bogus" argument')
    assert term.sent() == 0


# -- refusals -----------------------------------------------------------------------------------

@pytest.mark.parametrize("symbol, filling, retcode", [
    ("EURUSD", mt5.ORDER_FILLING_FOK, 10009), ("EURUSD", mt5.ORDER_FILLING_IOC, 10030),
    ("EURUSD", mt5.ORDER_FILLING_RETURN, 10030), ("GBPUSD", mt5.ORDER_FILLING_IOC, 10009),
    ("GBPUSD", mt5.ORDER_FILLING_FOK, 10030), ("XAUUSD", mt5.ORDER_FILLING_IOC, 10009),
    ("XAUUSD", mt5.ORDER_FILLING_FOK, 10009), ("US500", mt5.ORDER_FILLING_RETURN, 10009),
    ("US500", mt5.ORDER_FILLING_FOK, 10030)])
def test_filling_mode_per_symbol(term, symbol, filling, retcode):
    result = market(symbol=symbol, volume=0.1, type_filling=filling)
    assert result.retcode == retcode
    if retcode == 10030:
        assert result.comment == "Unsupported filling mode" and mt5.positions_get() == () and term.sent() == 0


def test_pending_orders_accept_return_filling_everywhere(term):
    assert pending(mt5.ORDER_TYPE_BUY_LIMIT, 1.07, type_filling=mt5.ORDER_FILLING_RETURN).retcode == 10008


@pytest.mark.parametrize("symbol, volume, retcode", [
    ("EURUSD", 0.015, 10014), ("EURUSD", 0.001, 10014), ("EURUSD", 101.0, 10014), ("EURUSD", 0.07, 10009),
    ("US500", 0.15, 10014), ("US500", 0.3, 10009)])
def test_volume_must_be_on_the_step_within_limits(term, symbol, volume, retcode):
    assert market(symbol=symbol, volume=volume).retcode == retcode


def test_stops_must_be_on_the_right_side_and_beyond_the_stops_level(term):
    # EURUSD: bid 1.08000, ask 1.08010, stops level 10 points (0.00010).
    assert market(sl=1.07995).retcode == 10016      # 5 points under the bid
    assert market(tp=1.07990).retcode == 10016      # a buy's tp under the price
    assert market("sell", sl=1.08015).retcode == 10016
    assert market(sl=1.07990, tp=1.08010).retcode == 10009  # 10 points each side
    assert pending(mt5.ORDER_TYPE_SELL_LIMIT, 1.08100, sl=1.08105).retcode == 10016
    assert term.sent() == 1


def test_no_trading_when_autotrading_is_off_or_the_market_closed(term):
    term.set_trade_allowed(False)
    assert market().retcode == 10027 and mt5.terminal_info().trade_allowed is False
    term.set_trade_allowed(True)
    term.set_market_closed("EURUSD", True)
    assert market().retcode == 10018
    term.set_market_closed("EURUSD", False)
    assert market().retcode == 10009


def test_a_symbols_trade_mode_refuses_what_it_does_not_allow_and_lets_closes_through(term):
    # As a trade server: close-only, long-only and short-only refuse an opening order (a deal
    # or a pending order), never a close; a disabled symbol refuses everything.
    long_ = market().order
    short = market("sell").order
    term.set_symbol("EURUSD", trade_mode=mt5.SYMBOL_TRADE_MODE_CLOSEONLY)
    assert market().retcode == 10044 and pending(mt5.ORDER_TYPE_BUY_LIMIT, 1.07).retcode == 10044
    assert market("sell", position=long_).retcode == 10009
    term.set_symbol("EURUSD", trade_mode=mt5.SYMBOL_TRADE_MODE_LONGONLY)
    assert market("sell").retcode == 10042 and pending(mt5.ORDER_TYPE_SELL_LIMIT, 1.09).retcode == 10042
    assert market("buy", position=short).retcode == 10009 and market().retcode == 10009
    term.set_symbol("EURUSD", trade_mode=mt5.SYMBOL_TRADE_MODE_SHORTONLY)
    assert market().retcode == 10043 and market("sell").retcode == 10009
    term.set_symbol("EURUSD", trade_mode=mt5.SYMBOL_TRADE_MODE_DISABLED)
    position = mt5.positions_get()[0]
    assert market("sell", position=position.ticket).retcode == 10017 and market().retcode == 10017
    assert mt5.order_check({"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": 0,
                            "price": 1.0801, "deviation": 10, "type_filling": 0}).retcode == 10017


def test_price_beyond_the_deviation_is_requoted_with_fresh_prices(term):
    stale = mt5.symbol_info_tick("EURUSD")
    term.set_price("EURUSD", 1.08100, 1.08110)
    result = market(price=stale.ask, deviation=5)
    assert (result.retcode, result.bid, result.ask, result.comment) == (10004, 1.081, 1.0811, "Requote")
    assert market(price=1.08100, deviation=10).price == 1.0811  # within 10 points: filled at the ask
    assert market(price=0.0).retcode == 10015  # instant execution needs a price


def test_order_check_says_whether_a_request_would_pass(term):
    ok = mt5.order_check({"action": 1, "symbol": "EURUSD", "volume": 1.0, "type": 0, "price": 1.0801,
                          "type_filling": 0})
    assert (ok.retcode, ok.comment, round(ok.margin, 2)) == (0, "Done", 1080.1)
    bad = mt5.order_check({"action": 1, "symbol": "EURUSD", "volume": 1.0, "type": 0, "price": 1.0801,
                           "type_filling": 1})
    assert bad.retcode == 10030 and mt5.positions_get() == () and term.sent() == 0
    assert market(volume=100.0).retcode == 10019  # 100 lots need 108 010.00 of margin


# -- fills, closes, pending orders, SL/TP ------------------------------------------------------

def test_market_buy_then_close_books_the_profit(term):
    opened = market(volume=1.0)
    assert (opened.retcode, opened.price, opened.volume, opened.comment) == (10009, 1.0801, 1.0, "Request executed")
    term.set_price("EURUSD", 1.08110, 1.08120)
    (position,) = mt5.positions_get(ticket=opened.order)
    assert position.profit == 100.0 and mt5.account_info().equity == 10_100.0
    half = market("sell", volume=0.4, position=opened.order, price=1.0811)
    assert half.retcode == 10009 and mt5.positions_get()[0].volume == 0.6
    assert market("sell", volume=0.7, position=opened.order, price=1.0811).retcode == 10038
    assert market("sell", volume=0.6, position=opened.order, price=1.0811).retcode == 10009
    assert mt5.positions_get() == ()
    deals = mt5.history_deals_get(position=opened.order)
    assert [(d.entry, d.type, d.volume, d.profit) for d in deals] == [
        (mt5.DEAL_ENTRY_IN, mt5.DEAL_TYPE_BUY, 1.0, 0.0), (mt5.DEAL_ENTRY_OUT, mt5.DEAL_TYPE_SELL, 0.4, 40.0),
        (mt5.DEAL_ENTRY_OUT, mt5.DEAL_TYPE_SELL, 0.6, 60.0)]
    assert mt5.account_info().balance == 10_100.0 and term.sent() == 3
    assert market("sell", volume=0.1, position=opened.order).retcode == 10036  # gone


def test_a_netting_account_nets_each_deal_into_the_symbols_one_position(tmp_path):
    """As MetaTrader nets: the same side adds (IN, the price averaged, the deal's stops taken), the
    other side reduces (OUT) or reverses in one INOUT deal, the identifier kept, the ticket the
    reversing order's; a pending order's fill nets the same way."""
    terminal = Terminal(tmp_path / "terminal.db", margin_mode=mt5.ACCOUNT_MARGIN_MODE_RETAIL_NETTING)
    assert mt5.initialize(path=terminal.path) and mt5.symbol_select("EURUSD", True)
    try:
        first = market(volume=0.1, sl=1.07)
        market(volume=0.3, sl=1.075, tp=1.09)
        (p,) = mt5.positions_get(symbol="EURUSD")
        assert (p.ticket, p.identifier, p.type, p.volume, p.sl, p.tp) == (first.order, first.order, 0, 0.4, 1.075, 1.09)
        market("sell", volume=0.1)
        assert mt5.positions_get()[0].volume == 0.3
        terminal.set_price("EURUSD", 1.08100, 1.08110)
        reversal = market("sell", volume=0.5)
        (p,) = mt5.positions_get()
        assert (p.ticket, p.identifier, p.type, p.volume) == (reversal.order, first.order, 1, 0.2)
        pending(mt5.ORDER_TYPE_BUY_LIMIT, 1.0805, volume=0.2)
        terminal.set_price("EURUSD", 1.08040, 1.08050)   # the limit fills: the short closes
        assert mt5.positions_get() == ()
        deals = mt5.history_deals_get(position=first.order)
        assert [(d.entry, d.type, d.volume, d.profit) for d in deals] == [
            (mt5.DEAL_ENTRY_IN, mt5.DEAL_TYPE_BUY, 0.1, 0.0), (mt5.DEAL_ENTRY_IN, mt5.DEAL_TYPE_BUY, 0.3, 0.0),
            (mt5.DEAL_ENTRY_OUT, mt5.DEAL_TYPE_SELL, 0.1, -1.0), (mt5.DEAL_ENTRY_INOUT, mt5.DEAL_TYPE_SELL, 0.5, 27.0),
            (mt5.DEAL_ENTRY_OUT, mt5.DEAL_TYPE_BUY, 0.2, 10.0)]
    finally:
        unlink()


def test_sell_gold_loses_when_the_price_rises(term):
    opened = market("sell", symbol="XAUUSD", volume=0.5)
    term.set_price("XAUUSD", 2009.70, 2010.00)
    closed = market("buy", symbol="XAUUSD", volume=0.5, position=opened.order)
    assert closed.price == 2010.0
    assert mt5.history_deals_get(ticket=closed.order)[0].profit == round((2000.00 - 2010.00) * 0.5 * 100, 2)
    assert mt5.order_calc_profit(mt5.ORDER_TYPE_SELL, "XAUUSD", 0.5, 2000.0, 2010.0) == -500.0


def test_pending_order_waits_then_fills_when_the_price_crosses_it(term):
    placed = pending(mt5.ORDER_TYPE_BUY_LIMIT, 1.07900, sl=1.07500, tp=1.08500)
    assert placed.retcode == 10008 and placed.order > 0 and term.sent() == 1
    (order,) = mt5.orders_get(symbol="EURUSD")
    assert (order.ticket, order.state, order.price_open, order.comment) == (
        placed.order, mt5.ORDER_STATE_PLACED, 1.079, "mh:pending")
    term.set_price("EURUSD", 1.07920, 1.07930)
    assert mt5.positions_get() == ()
    term.set_price("EURUSD", 1.07880, 1.07890)
    assert mt5.orders_get() == ()
    (position,) = mt5.positions_get()
    assert (position.ticket, position.magic, position.comment, position.sl, position.tp, position.price_open) == (
        placed.order, 7002, "mh:pending", 1.075, 1.085, 1.0789)
    (history,) = mt5.history_orders_get(ticket=placed.order)
    assert history.state == mt5.ORDER_STATE_FILLED and history.position_id == placed.order
    (deal,) = mt5.history_deals_get(position=placed.order)
    assert (deal.entry, deal.reason, deal.comment) == (mt5.DEAL_ENTRY_IN, mt5.DEAL_REASON_EXPERT, "mh:pending")
    assert term.sent() == 1


def test_a_pending_order_filled_in_part_fills_its_rest_into_the_same_position_when_the_price_crosses_it(term):
    # Its rest filled the order's whole volume again, as a new position over the part's (0.1 lots, not 0.04 + 0.06).
    placed = pending(mt5.ORDER_TYPE_BUY_LIMIT, 1.07900)
    term.fill_part(placed.order, 0.04)
    (order,) = mt5.orders_get()
    assert (order.state, order.volume_current) == (mt5.ORDER_STATE_PARTIAL, 0.06)
    term.set_price("EURUSD", 1.07880, 1.07890)
    assert mt5.orders_get() == ()
    (position,) = mt5.positions_get()
    assert (position.ticket, position.volume) == (placed.order, 0.1)
    (history,) = mt5.history_orders_get(ticket=placed.order)
    assert (history.state, history.volume_current) == (mt5.ORDER_STATE_FILLED, 0.0)
    assert [(d.order, d.volume, d.entry) for d in mt5.history_deals_get(position=placed.order)] == [
        (placed.order, 0.04, mt5.DEAL_ENTRY_IN), (placed.order, 0.06, mt5.DEAL_ENTRY_IN)]


def test_pending_order_modified_then_removed(term):
    placed = pending(mt5.ORDER_TYPE_SELL_STOP, 1.07000)
    assert pending(mt5.ORDER_TYPE_SELL_STOP, 1.07995).retcode == 10015  # nearer than the stops level
    modify = {"action": mt5.TRADE_ACTION_MODIFY, "order": placed.order, "price": 1.06900, "sl": 1.07500}
    assert mt5.order_send(modify).retcode == 10009
    assert mt5.order_send(modify).retcode == 10025  # nothing changes
    assert (mt5.orders_get()[0].price_open, mt5.orders_get()[0].sl) == (1.069, 1.075)
    assert mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": placed.order}).retcode == 10009
    assert mt5.orders_get() == ()
    assert mt5.history_orders_get(ticket=placed.order)[0].state == mt5.ORDER_STATE_CANCELED
    assert mt5.order_send({"action": mt5.TRADE_ACTION_REMOVE, "order": placed.order}).retcode == 10013
    term.set_price("EURUSD", 1.06000, 1.06010)
    assert mt5.positions_get() == ()


def test_sltp_changes_stops_and_the_market_hits_them(term):
    take = market(volume=0.5, tp=1.08200)
    stop = market("sell", volume=0.2)
    sltp = {"action": mt5.TRADE_ACTION_SLTP, "symbol": "EURUSD", "position": stop.order, "sl": 1.08150, "tp": 0.0}
    assert mt5.order_send(sltp).retcode == 10009
    assert mt5.positions_get(ticket=stop.order)[0].sl == 1.0815
    assert mt5.order_send({**sltp, "sl": 1.07900}).retcode == 10016  # a sell's sl under the price
    term.set_price("EURUSD", 1.08140, 1.08150)  # the sell's sl (ask 1.08150)
    assert [p.ticket for p in mt5.positions_get()] == [take.order]
    (out,) = [d for d in mt5.history_deals_get(position=stop.order) if d.entry == mt5.DEAL_ENTRY_OUT]
    assert (out.reason, out.price, out.profit, out.comment) == (mt5.DEAL_REASON_SL, 1.0815, -30.0, "[sl 1.08150]")
    term.set_price("EURUSD", 1.08210, 1.08220)  # the buy's tp (bid 1.08210)
    assert mt5.positions_get() == ()
    out = mt5.history_deals_get(position=take.order)[-1]
    assert (out.reason, out.profit, out.magic) == (mt5.DEAL_REASON_TP, 100.0, 7001)
    assert mt5.account_info().balance == 10_070.0


def test_a_position_or_order_within_the_freeze_level_is_frozen(term):
    # EURUSD: bid 1.08000, ask 1.08010; a freeze level of 5 points. A position whose sl is within
    # it of the bid (where a buy closes), and a pending order whose price is within it of the
    # market, take no change and no removal (10029), as a real trade server does.
    term.set_symbol("EURUSD", trade_freeze_level=5)
    opened = market(sl=1.07800)
    placed = pending(mt5.ORDER_TYPE_SELL_LIMIT, 1.08100)
    sltp = {"action": mt5.TRADE_ACTION_SLTP, "position": opened.order, "sl": 1.07700, "tp": 0.0}
    modify = {"action": mt5.TRADE_ACTION_MODIFY, "order": placed.order, "price": 1.08200}
    remove = {"action": mt5.TRADE_ACTION_REMOVE, "order": placed.order}
    term.set_price("EURUSD", 1.07804, 1.07814)   # the bid 4 points over the position's sl
    assert mt5.order_send(sltp).retcode == 10029
    term.set_price("EURUSD", 1.08096, 1.08106)   # the bid 4 points under the sell limit
    assert mt5.order_send(modify).retcode == 10029 and mt5.order_send(remove).retcode == 10029
    assert mt5.order_send(sltp).retcode == 10009   # 296 points from the bid: free again
    term.set_price("EURUSD", 1.08000, 1.08010)
    assert mt5.order_send(remove).retcode == 10009 and mt5.orders_get() == ()


def test_removing_stops_with_zero(term):
    opened = market(sl=1.07, tp=1.09)
    assert mt5.order_send({"action": mt5.TRADE_ACTION_SLTP, "position": opened.order, "sl": 0.0,
                           "tp": 0.0}).retcode == 10009
    term.set_price("EURUSD", 1.06, 1.0601)
    assert (mt5.positions_get()[0].sl, mt5.positions_get()[0].tp) == (0.0, 0.0)


def test_comments_are_cut_at_31_characters(term):
    result = market(comment="x" * 40)
    assert result.request.comment == "x" * 31
    assert mt5.positions_get()[0].comment == "x" * 31


def test_history_by_dates_and_group(term):
    market(symbol="EURUSD")
    market(symbol="XAUUSD")
    now = time.time()
    deals = mt5.history_deals_get(now - 60, now + 60)
    assert [d.type for d in deals][0] == mt5.DEAL_TYPE_BALANCE  # the deposit opens every history
    assert [d.symbol for d in mt5.history_deals_get(now - 60, now + 60, group="*USD,!EUR*")] == ["XAUUSD"]
    assert mt5.history_deals_get(now + 60, now + 120) == ()
    assert mt5.history_deals_get() is None and mt5.last_error()[0] == -2


def test_history_orders_by_dates(term):
    opened = market()
    now = time.time()
    assert [o.ticket for o in mt5.history_orders_get(now - 60, now + 60)] == [opened.order]
    assert mt5.history_orders_get(now + 60, now + 120) == ()


def test_a_lagging_history_shows_only_what_it_had_until_it_catches_up(term):
    first = market()
    term.lag_history()
    second = market()
    now = time.time()
    assert [p.ticket for p in mt5.positions_get()] == [first.order, second.order]   # the positions at once
    assert [o.ticket for o in mt5.history_orders_get(now - 60, now + 60)] == [first.order]
    assert mt5.history_deals_get(ticket=second.order) == ()
    term.lag_history(False)
    assert [d.order for d in mt5.history_deals_get(ticket=second.order)] == [second.order]


def test_a_terminal_without_its_trade_server_answers_but_trades_nothing(term):
    term.set_server_link(False)
    assert mt5.terminal_info().connected is False and mt5.account_info() is not None
    assert market().retcode == 10031 and mt5.positions_get() == ()
    term.set_server_link(True)
    assert mt5.terminal_info().connected is True and market().retcode == 10009


def test_a_request_ended_by_the_trade_server_is_in_the_order_history_only(term):
    request = {"action": mt5.TRADE_ACTION_DEAL, "symbol": "EURUSD", "volume": 0.1, "type": mt5.ORDER_TYPE_BUY,
               "price": 1.0801, "deviation": 10, "magic": 7001, "comment": "mh:a1:x", "type_filling": 0}
    ticket = term.end_request(request, mt5.ORDER_STATE_REJECTED)
    (order,) = mt5.history_orders_get(ticket=ticket)
    assert (order.state, order.comment, order.volume_current) == (mt5.ORDER_STATE_REJECTED, "mh:a1:x", 0.1)
    assert mt5.history_deals_get(ticket=ticket) == () and mt5.positions_get() == ()


def test_external_positions_carry_no_magic(term):
    ticket = term.open_external("GBPUSD", "sell", 0.3)
    (position,) = mt5.positions_get(group="GBP*")
    assert (position.ticket, position.magic, position.comment, position.reason, position.type) == (
        ticket, 0, "manual", mt5.POSITION_REASON_CLIENT, mt5.POSITION_TYPE_SELL)
    assert term.sent() == 0


# -- scripted outcomes and a broken link --------------------------------------------------------

@pytest.mark.parametrize("outcome, retcode", [
    ("requote", 10004), ("price_changed", 10020), ("price_off", 10021), ("reject", 10006), ("no_money", 10019),
    ("timeout", 10012), ("connection", 10031)])
def test_scripted_retcodes_execute_nothing(term, outcome, retcode):
    term.script("order_send", outcome)
    result = market()
    assert result.retcode == retcode and result.deal == 0 and result.order == 0
    if outcome in ("requote", "price_changed", "price_off"):
        assert (result.bid, result.ask) == (1.08, 1.0801)
    assert mt5.positions_get() == () and term.sent() == 0
    assert market().retcode == 10009 and term.sent() == 1  # then normal again


def test_scripted_outcomes_apply_in_order(term):
    term.script("order_send", "requote", "reject")
    assert [market().retcode for _ in range(3)] == [10004, 10006, 10009]


def test_script_refuses_what_it_cannot_do(term):
    with pytest.raises(ValueError):
        term.script("positions_get", "requote")
    with pytest.raises(ValueError):
        term.script("order_send", "explode")
    with pytest.raises(ValueError):
        term.script("nope", "ipc_down")
    with pytest.raises(ValueError):
        term.script("order_send", {"hang": 1})


def test_a_read_scripted_for_a_ticket_is_that_tickets_alone_before_those_scripted_for_all(term):
    first, second = market().order, market().order
    term.script("positions_get", "raise")
    term.script("positions_get", "ipc_down", ticket=second)
    assert mt5.positions_get(ticket=second) is None and mt5.last_error()[0] == -10004   # its own first
    term.reconnect()
    assert mt5.initialize(path=term.path) is True
    with pytest.raises(RuntimeError):
        mt5.positions_get(ticket=first)                 # the one for all
    assert len(mt5.positions_get(ticket=first)) == len(mt5.positions_get(ticket=second)) == 1
    with pytest.raises(ValueError):
        term.script("order_send", "ipc_down", ticket=second)


def test_ipc_down_breaks_the_link_until_reconnect_and_initialize(term):
    term.script("positions_get", "ipc_down")
    assert mt5.positions_get() is None and mt5.last_error() == (-10004, "No IPC connection")
    assert mt5.account_info() is None
    assert mt5.initialize(path=term.path) is False and mt5.last_error() == (-10003, "IPC initialize failed")
    term.reconnect()
    assert mt5.account_info() is None  # the old link stays broken
    assert mt5.initialize() is True and mt5.account_info() is not None  # the same terminal again


def test_disconnect_and_reconnect(term):
    market()
    term.disconnect()
    assert mt5.order_send({"action": 1}) is None and mt5.last_error()[0] == -10004
    term.reconnect()
    assert mt5.positions_get() is None and mt5.last_error()[0] == -10004  # this process's link is gone
    assert mt5.initialize(path=term.path) is True
    assert len(mt5.positions_get()) == 1 and term.sent() == 1


def test_slow_call_sleeps_before_doing_it(term):
    term.script("positions_get", {"slow": 0.3})
    started = time.monotonic()
    assert mt5.positions_get() == ()
    assert time.monotonic() - started >= 0.3


def test_slow_initialize_beyond_its_timeout_fails_with_ipc_timeout(term):
    mt5.shutdown()
    term.script("initialize", {"slow": HANG})
    started = time.monotonic()
    assert mt5.initialize(path=term.path, timeout=200) is False
    assert mt5.last_error() == (-10005, "IPC timeout") and time.monotonic() - started < HANG  # not slept out


def test_slow_after_commits_the_order_before_answering(term):
    term.script("order_send", {"slow_after": 30})
    process = child_buy(term.path)
    try:
        deadline = time.monotonic() + 10
        while not term.positions() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert [p["comment"] for p in term.positions()] == ["mh:child"] and term.sent() == 1
        assert process.poll() is None  # the answer has not come yet
    finally:
        process.kill()
        process.wait()


def wait_for(check, seconds=30):
    deadline = time.monotonic() + seconds
    while not check() and time.monotonic() < deadline:
        time.sleep(0.02)
    return check()


def test_hang_after_commits_the_order_and_answers_only_once_released(term):
    term.script("order_send", "hang_after")
    process = child_buy(term.path)
    try:
        assert wait_for(lambda: term.hung("order_send") == 1)
        # counted in the transaction that executed it: there as soon as the hang is
        assert [p["comment"] for p in term.positions()] == ["mh:child"] and term.sent() == 1
        time.sleep(0.2)
        assert process.poll() is None  # no answer, however long it is waited for
        term.release("order_send")
        out, _ = process.communicate(timeout=30)
        assert (process.returncode, out.strip()) == (0, "10009")
    finally:
        process.kill()
        process.wait()
    assert market().retcode == 10009 and term.hung("order_send") == 1  # the script was used up: no hang


def test_hang_does_nothing_until_released_then_does_it(term):
    term.script("order_send", "hang")
    process = child_buy(term.path)
    try:
        assert wait_for(lambda: term.hung("order_send") == 1)
        assert term.positions() == [] and term.sent() == 0 and process.poll() is None
        term.release("order_send")
        out, _ = process.communicate(timeout=30)
        assert (process.returncode, out.strip()) == (0, "10009") and term.sent() == 1
    finally:
        process.kill()
        process.wait()


def test_a_late_send_is_done_only_when_delivered_whether_its_caller_lived_or_not(term):
    term.script("order_send", "late")
    process = child_buy(term.path)
    try:
        assert wait_for(lambda: term.hung("order_send") == 1)
        assert term.positions() == [] and term.sent() == 0 and process.poll() is None
    finally:
        process.kill()   # the near side gives up: its worker is killed
        process.wait()
    assert term.positions() == [] and term.sent() == 0
    assert term.deliver_late() == [10009]   # the far side goes on
    assert [p["comment"] for p in term.positions()] == ["mh:child"] and term.sent() == 1
    assert term.deliver_late() == []


def test_a_late_send_the_trade_server_rejects_is_in_the_order_history_and_nothing_else(term):
    term.script("order_send", "late")
    process = child_buy(term.path)
    try:
        assert wait_for(lambda: term.hung("order_send") == 1)
    finally:
        process.kill()
        process.wait()
    (ticket,) = term.reject_late()
    (order,) = term.history_orders()
    assert (order["ticket"], order["state"], order["comment"]) == (ticket, mt5.ORDER_STATE_REJECTED, "mh:child")
    assert term.positions() == [] and term.deals()[1:] == [] and term.sent() == 0
    assert term.reject_late() == [] and term.deliver_late() == []


def test_a_crash_late_send_dies_at_once_and_is_done_only_when_delivered(term):
    term.script("order_send", "crash_late")
    process = child_buy(term.path)
    out, _ = process.communicate(timeout=30)
    assert (process.returncode, out) == (1, "")   # the answer lost, no deadline waited out
    assert term.positions() == [] and term.sent() == 0 and term.hung("order_send") == 0
    assert term.deliver_late() == [10009]   # the far side goes on
    assert [p["comment"] for p in term.positions()] == ["mh:child"] and term.sent() == 1


def test_a_release_before_the_hang_does_not_release_it(term):
    term.release("order_send")
    term.script("order_send", "hang_after")
    process = child_buy(term.path)
    try:
        assert wait_for(lambda: term.hung("order_send") == 1)
        time.sleep(0.2)
        assert process.poll() is None
    finally:
        process.kill()
        process.wait()


def test_a_hang_ends_with_its_parent(term):
    # the child starts a grandchild, waits for its call to hang, and dies: the orphan ends
    program = ("import subprocess, sys, time\n"
               "from mt5_standin import Terminal\n"
               "p = subprocess.Popen([sys.executable, '-c', sys.argv[1]],\n"
               "                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
               f"while Terminal({term.path!r}).hung('positions_get') == 0:\n"
               "    time.sleep(0.01)\n"
               "print(p.pid)\n")
    grandchild = ("import mt5_standin as mt5\n"
                  f"assert mt5.initialize(path={term.path!r})\n"
                  "mt5.positions_get()\n")
    term.script("positions_get", "hang")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(SUPPORT), os.environ.get("PYTHONPATH")) if p)}
    out = subprocess.run([sys.executable, "-c", program, grandchild], env=env, capture_output=True, text=True,
                         timeout=60, check=True).stdout
    pid = int(out)
    try:
        assert wait_for(lambda: not alive(pid))
    finally:
        if alive(pid):
            os.kill(pid, 9)


def alive(pid):
    """Whether the grandchild ``pid`` still runs (not ended, not a zombie, not another process)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as cmdline, open(f"/proc/{pid}/stat") as stat:
            ours = b"import mt5_standin as mt5" in cmdline.read()
            return ours and stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def test_hung_initialize_gives_up_at_its_timeout(term):
    mt5.shutdown()
    term.script("initialize", "hang")
    assert mt5.initialize(path=term.path, timeout=200) is False
    assert mt5.last_error() == (-10005, "IPC timeout") and term.hung("initialize") == 1


# -- a terminal shared by processes -------------------------------------------------------------

def test_another_process_sees_the_same_terminal(term):
    process = child_buy(term.path)
    out, _ = process.communicate(timeout=30)
    assert (process.returncode, out.strip()) == (0, "10009")
    (position,) = mt5.positions_get()
    assert (position.magic, position.comment, position.volume) == (42, "mh:child", 0.2)


def test_crash_after_send_leaves_the_order_done(term):
    term.script("order_send", "crash_after_send")
    process = child_buy(term.path)
    out, _ = process.communicate(timeout=30)
    assert process.returncode == 1 and out == ""
    assert [p["comment"] for p in term.positions()] == ["mh:child"] and term.sent() == 1
    assert market().retcode == 10009  # the script was used up by the dead process


def test_crash_before_send_leaves_nothing(term):
    term.script("order_send", "crash_before_send")
    process = child_buy(term.path)
    process.communicate(timeout=30)
    assert process.returncode == 1
    assert term.positions() == [] and term.sent() == 0
