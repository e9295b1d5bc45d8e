"""A user on MetaTrader 5: `engine.broker = "mt5"` in the moonhook.toml `moonhook init` wrote,
`[mt5] module` naming the stand-in (tests/support/mt5_standin.py, a fake terminal in a SQLite file).
`moonhook run` trades through it: alerts become order_send requests, a close closes the
position by its ticket, /health shows the connection, and a restart sends nothing again."""

from __future__ import annotations

import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Iterator

from support.e2e_support import init, mt5_user, outcome, until
from support.mt5_standin import (ACCOUNT_MARGIN_MODE_RETAIL_NETTING, DEFAULT_SYMBOLS, ORDER_FILLING_FOK,
                                 ORDER_FILLING_IOC, ORDER_STATE_CANCELED, ORDER_TYPE_BUY_LIMIT, POSITION_TYPE_BUY,
                                 POSITION_TYPE_SELL, Terminal)
from support.paths import SUPPORT
from support.ports import held, held_socket

GBP = '{"secret": "SECRET", "symbol": "GBPUSD", "action": "sell", "volume": 0.123, "sl": 1.2700, "id": "walk-gbp"}'


def trade_through_the_standin(user, run, terminal) -> None:
    """The banner's alert, one over HTTP (requoted once), a close: each checked in the terminal."""
    sent = user.typed(run.try_command, cwd="bot")
    assert sent.returncode == 0 and '"status": "done"' in sent.stdout, outcome(sent)
    (eur,) = terminal.positions()
    assert (eur["symbol"], eur["type"], eur["volume"], eur["sl"], eur["tp"]) == ("EURUSD", POSITION_TYPE_BUY, 0.2,
                                                                              1.08, 1.095)
    terminal.script("order_send", "requote")  # the next send is requoted once, then retried
    gbp = run.settled(run.webhook(GBP)["id"])
    assert gbp["status"] == "done" and gbp["outcome"]["orders"][0]["ok"], gbp
    (position,) = (p for p in terminal.positions() if p["symbol"] == "GBPUSD")
    assert (position["type"], position["volume"]) == (POSITION_TYPE_SELL, 0.12)  # on the 0.01 step
    filling = {o["symbol"]: o["type_filling"] for o in terminal.history_orders()}
    assert filling == {"EURUSD": ORDER_FILLING_FOK, "GBPUSD": ORDER_FILLING_IOC}  # from each symbol's modes

    close = run.settled(run.webhook("close EURUSD id=walk-close")["id"])
    assert close["status"] == "done" and close["outcome"]["orders"][0]["closed"] == [eur["ticket"]], close
    assert [p["symbol"] for p in terminal.positions()] == ["GBPUSD"]
    closing = terminal.history_orders()[-1]
    assert (closing["position_id"], closing["type"]) == (eur["ticket"], 1)  # a sell against the buy's ticket


def test_run_trades_on_metatrader_through_the_standin_and_a_restart_sends_nothing_again(user, tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_price("EURUSD", 1.08490, 1.08500)  # a buy fills at 1.085, where the banner's alert expects it
    config = mt5_user(user, tmp_path / "terminal.db")
    run = user.start("run", config=config, cwd="bot")
    assert "mt5 broker" in run.banner
    assert "no account limits: set engine.max_order_volume" in run.banner  # real money, no limits set
    health = run.get("/health")
    assert (health["status"], health["broker"], health["broker_connected"]) == ("ok", "mt5", True), health
    trade_through_the_standin(user, run, terminal)
    terminal.failing("positions_get")  # the terminal cannot list positions now: a close must not say done
    blind = run.settled(run.webhook("close GBPUSD id=walk-close-blind")["id"])
    assert blind["status"] == "failed", blind
    assert blind["outcome"]["error"] == "MetaTrader 5 positions_get failed: MetaTrader error -1: Terminal: Call failed"
    terminal.failing("positions_get", False)
    status = user.moonhook("status", cwd="bot")
    assert status.returncode == 0 and "broker=mt5" in status.stdout and "broker_connected=yes" in status.stdout, \
        outcome(status)
    journal = run.get("/api/alerts")["alerts"]
    assert run.interrupt() == 0
    sent_before, (gbp,) = terminal.sent(), terminal.positions()

    again = user.start("--config", "moonhook.toml", "run", config=config, cwd="bot")
    assert again.get("/health")["broker_connected"]
    assert again.get("/api/alerts")["alerts"] == journal
    (position,) = again.get("/api/positions")["positions"]
    assert (position["ticket"], position["symbol"], position["side"]) == (gbp["ticket"], "GBPUSD", "sell")
    assert again.interrupt(signal.SIGTERM) == 0  # stopped as systemd stops a service
    assert terminal.sent() == sent_before  # nothing was sent again
    assert "Traceback" not in run.text() + again.text()
    assert "killed by signal" not in again.text() and "moonhook: stopped" in again.text()  # workers closed by it


def test_a_strategys_part_exit_and_reversal_reach_the_terminal_as_closes_by_ticket(user, tmp_path):
    """The strategy template's orders on MetaTrader 5: a part taken off closes part of the position by
    its ticket, a reversal closes the long before the short is opened, an exit leaves nothing."""
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_price("EURUSD", 1.08500, 1.08510)
    run = user.start("run", config=mt5_user(user, tmp_path / "terminal.db"), cwd="bot")

    def order(n: int, action: str, units: int, position: str, size: int) -> list[tuple[int, float]]:
        body = (f'{{"secret": "SECRET", "symbol": "EURUSD", "action": "{action}", "units": "{units}", '
                f'"sl_pips": 20, "position": "{position}", "position_size": "{size}", "id": "order{n}"}}')
        row = run.settled(run.webhook(body)["id"])
        assert row["status"] == "done", row
        return [(p["type"], p["volume"]) for p in terminal.positions()]

    assert order(1, "buy", 20000, "long", 20000) == [(POSITION_TYPE_BUY, 0.2)]
    (long,) = terminal.positions()
    assert order(2, "sell", 10000, "long", 10000) == [(POSITION_TYPE_BUY, 0.1)]
    assert terminal.history_orders()[-1]["position_id"] == long["ticket"]           # part of it, by its ticket
    assert order(3, "sell", 30000, "short", 20000) == [(POSITION_TYPE_SELL, 0.2)]
    assert order(4, "buy", 20000, "flat", 0) == []
    # Pyramided, then part of both taken off: the oldest whole, then part of the next, by tickets.
    order(5, "buy", 10000, "long", 10000)
    assert order(6, "buy", 20000, "long", 30000) == [(POSITION_TYPE_BUY, 0.1), (POSITION_TYPE_BUY, 0.2)]
    first, second = terminal.positions()
    assert order(7, "sell", 15000, "long", 15000) == [(POSITION_TYPE_BUY, 0.15)]
    assert [(o["position_id"], o["volume_initial"]) for o in terminal.history_orders()[-2:]] == [
        (first["ticket"], 0.1), (second["ticket"], 0.05)]
    assert order(8, "sell", 15000, "flat", 0) == []
    assert run.interrupt() == 0


def test_cancels_remove_moonhooks_pending_orders_and_leave_the_one_placed_by_hand(user, tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_price("EURUSD", 1.08500, 1.08510)
    terminal.set_price("GBPUSD", 1.27000, 1.27010)
    run = user.start("run", config=mt5_user(user, tmp_path / "terminal.db"), cwd="bot")
    by_hand = terminal.place_external("EURUSD", ORDER_TYPE_BUY_LIMIT, 0.1, 1.07)

    def alert(body: str) -> dict:
        row = run.settled(run.webhook(body)["id"])
        assert row["status"] == "done", row
        return row

    placed = [alert(body)["outcome"]["orders"][0]["ticket"] for body in (
        "buylimit EURUSD volume=0.1 price=1.08 sl=1.075", "sellstop EURUSD volume=0.1 price=1.08 sl=1.09",
        "buylimit GBPUSD volume=0.1 price=1.25 sl=1.24")]
    assert sorted(o["ticket"] for o in terminal.orders()) == sorted([by_hand, *placed])

    cancelled = alert("cancellong EURUSD")["outcome"]["orders"]
    assert [(o["ok"], o["ticket"], o["client_id"]) for o in cancelled] == [
        (True, placed[0], f"a4-engine-cancel-{placed[0]}")]
    assert sorted(o["ticket"] for o in terminal.orders()) == sorted([by_hand, *placed[1:]])
    alert("cancelall")
    assert [o["ticket"] for o in terminal.orders()] == [by_hand]
    removed = {o["ticket"]: o["state"] for o in terminal.history_orders()}
    assert [removed[t] for t in placed] == [ORDER_STATE_CANCELED] * 3
    nothing = alert("cancel EURUSD")
    assert nothing["outcome"]["note"] == "no pending order on EURUSD to cancel", nothing
    assert run.get("/api/orders")["open"][0]["ticket"] == by_hand
    (mine,) = alert("buylimit EURUSD volume=0.1 price=1.079 sl=1.075")["outcome"]["orders"]
    terminal.end_order(mine["ticket"])   # the trader deletes it in the terminal: moonhook says so
    until(run.text, lambda text: f"pending order {mine['ticket']} buy limit 0.1 EURUSD @ 1.079 cancelled (engine): "
                                 "deleted in the terminal or by the broker" in text, "the order's end told in the log")
    assert run.interrupt() == 0


def test_a_risk_sized_entry_risks_what_was_asked_from_the_terminals_price_not_the_charts(user, tmp_path):
    """TradingView's chart (another feed) says 1.0850; the broker's ask is 1.0853. 1% risk with the
    stop at 1.0840 is 13 pips from where the buy fills: 100 USD over 130 a lot, 0.76 lots (sized
    from the chart's price it was 1 lot: 130 USD, 1.3% of the account, lost at the stop)."""
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_price("EURUSD", 1.08510, 1.08530)
    run = user.start("run", config=mt5_user(user, tmp_path / "terminal.db"), cwd="bot")
    row = run.settled(run.webhook("buy EURUSD risk=1 sl=1.0840 price=1.0850 id=walk-risk")["id"])
    assert row["status"] == "done", row
    (position,) = terminal.positions()
    assert (position["volume"], position["price_open"], position["sl"]) == (0.76, 1.0853, 1.084)
    terminal.set_price("EURUSD", 1.08380, 1.08390)   # the market fell through the stop (which closed it)
    sent = terminal.sent()
    late = run.settled(run.webhook("buy EURUSD risk=1 sl=1.0840 price=1.0850 id=walk-late")["id"])
    assert late["status"] == "failed" and late["outcome"]["error"] == (
        "cannot size 1.0% risk: the broker's ask 1.0839 is already at or below the stop 1.084"), late
    assert terminal.sent() == sent and terminal.positions() == []   # nothing sent
    assert run.interrupt() == 0


def test_an_entry_whose_chart_price_is_too_far_from_the_terminals_is_refused(user, tmp_path):
    """engine.max_price_gap_pct = 0.1, uncommented in the moonhook.toml init wrote: the chart says
    1.0850 and the terminal's ask is 1.0870 (0.18% away): nothing is sent. 1.0865 is near enough."""
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_price("EURUSD", 1.08680, 1.08700)
    config = mt5_user(user, tmp_path / "terminal.db")
    config.replace("# max_price_gap_pct = 0.1", "max_price_gap_pct = 0.1")
    run = user.start("run", config=config, cwd="bot")
    far = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.08 price=1.0850 id=walk-far")["id"])
    assert far["status"] == "failed" and far["outcome"]["orders"][0]["error"] == (
        "over engine.max_price_gap_pct: the broker's ask 1.087 is 0.18% from the price 1.085 the entry was asked "
        "at, at most 0.1%"), far
    assert terminal.sent() == 0
    # a stop with a TradingView plot's decimals goes on the broker's price grid (refused off it)
    near = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.0800012345 price=1.0865 id=walk-near")["id"])
    assert near["status"] == "done", near
    assert [(p["volume"], p["price_open"], p["sl"]) for p in terminal.positions()] == [(0.1, 1.087, 1.08)]
    assert run.interrupt() == 0


def test_an_entry_is_not_sent_into_a_rollover_spread_and_goes_once_it_narrows(user, tmp_path):
    """engine.max_spread_pips, uncommented as init wrote it: the terminal's EURUSD spread is 12
    pips (the rollover's), so nothing is sent; at 1 pip again the next alert is."""
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_price("EURUSD", 1.08500, 1.08620)
    config = mt5_user(user, tmp_path / "terminal.db")
    config.replace('# max_spread_pips = { "*" = 3, XAUUSD = 40 }', 'max_spread_pips = { "*" = 3, XAUUSD = 40 }')
    run = user.start("run", config=config, cwd="bot")
    dry = user.moonhook("send", "--dry-run", "buy EURUSD volume=0.1 sl=1.08", cwd="bot")   # asked first
    assert dry.returncode == 1 and "refused: over engine.max_spread_pips: EURUSD's spread is 12.0 pips" in dry.stdout
    wide = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.08 id=walk-rollover")["id"])
    assert wide["status"] == "failed" and wide["outcome"]["orders"][0]["error"] == (
        "over engine.max_spread_pips: EURUSD's spread is 12.0 pips (bid 1.085, ask 1.0862), at most 3"), wide
    assert terminal.sent() == 0
    terminal.set_price("EURUSD", 1.08500, 1.08510)
    dry = user.moonhook("send", "--dry-run", "buy EURUSD risk=1 sl=1.0800 price=1.0840", cwd="bot")
    assert dry.returncode == 0, outcome(dry)
    # sized from the terminal's ask 1.0851, 51 pips above the stop, not from the chart's 1.0840
    (would,) = [line for line in dry.stdout.splitlines() if line.startswith("would send: ")]
    volume = int(run.get("/api/account")["account"]["balance"] * 0.01 / (51 * 10) * 100) / 100   # down to 0.01
    assert would == f"would send: market buy {volume:g} EURUSD price 1.084 sl 1.08", dry.stdout
    terminal.script("order_check", "no_money")   # the trade server's own check, sending nothing
    poor = user.moonhook("send", "--dry-run", "buy EURUSD volume=0.1 sl=1.08", cwd="bot")
    assert poor.returncode == 1 and "refused: MetaTrader 10019: not enough money" in poor.stdout, outcome(poor)
    assert terminal.sent() == 0
    narrow = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.08 id=walk-after")["id"])
    assert narrow["status"] == "done", narrow
    assert [(p["volume"], p["price_open"]) for p in terminal.positions()] == [(0.1, 1.0851)]
    assert run.interrupt() == 0


def test_a_netting_account_and_algo_trading_off_are_said_when_moonhook_run_connects(user, tmp_path):
    """The two things to fix before an alert comes: the log and /health say them at connection."""
    terminal = Terminal(tmp_path / "terminal.db", margin_mode=ACCOUNT_MARGIN_MODE_RETAIL_NETTING)
    terminal.set_trade_allowed(False)
    run = user.start("run", config=mt5_user(user, tmp_path / "terminal.db"), cwd="bot")
    assert "Algo Trading is off in the terminal: every order is refused (10027) until its button is on" in run.text()
    assert "the account nets positions (margin mode netting)" in run.text()
    health = run.get("/health")
    assert health["broker_warnings"] == ["a netting account", "Algo Trading is off in the terminal"], health
    assert health["broker_state"].endswith("; a netting account; Algo Trading is off in the terminal"), health
    assert run.interrupt() == 0


def test_an_account_that_may_not_trade_or_take_expert_orders_is_said_when_moonhook_run_connects(user, tmp_path):
    """Logged in with the investor (read-only) password, or at an account the broker keeps from expert
    advisors: connected and quiet, every order then refused (10017, 10026), the trader left to guess why."""
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_account(trade_allowed=False, trade_expert=False)
    run = user.start("run", config=mt5_user(user, tmp_path / "terminal.db"), cwd="bot")
    assert ("the account may not trade: every order is refused (10017); logged in with its investor (read-only) "
            "password? Set the master password (MOONHOOK_MT5_PASSWORD)") in run.text()
    assert ("the broker allows no expert advisors on this account: every order is refused (10026); ask the broker to "
            "enable automated trading") in run.text()
    health = run.get("/health")
    assert health["broker_warnings"] == ["the account may not trade", "no expert advisors on the account"], health
    refused = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=read-only")["id"])
    assert refused["outcome"]["orders"][0]["error"].startswith("MetaTrader 10017: "), refused
    assert run.interrupt() == 0


def test_a_broker_that_names_its_symbols_otherwise_is_traded_under_tradingviews_names(user, tmp_path):
    # Many brokers add a suffix ("EURUSD.r") or rename ("GOLD"): `[mt5] symbol_suffix` and `symbols`.
    terminal = Terminal(tmp_path / "terminal.db", symbols={"EURUSD.r": DEFAULT_SYMBOLS["EURUSD"],
                                                           "GOLD": DEFAULT_SYMBOLS["XAUUSD"]})
    config = mt5_user(user, tmp_path / "terminal.db")
    config.append('symbol_suffix = ".r"\nsymbols = { XAUUSD = "GOLD" }\nmagic_base = 5550000\nretries = 1\n')
    run = user.start("run", config=config, cwd="bot")
    for body in ('{"secret": "SECRET", "symbol": "OANDA:EURUSD", "action": "buy", "volume": 0.1, "sl_pips": 50}',
                 '{"secret": "SECRET", "symbol": "OANDA:XAUUSD", "action": "sell", "volume": 0.02, "sl_pips": 500}'):
        row = run.settled(run.webhook(body)["id"])
        assert row["status"] == "done", row["outcome"]
    assert sorted(p["symbol"] for p in terminal.positions()) == ["EURUSD.r", "GOLD"]      # the broker's names
    assert {p["magic"] for p in terminal.positions()} == {5_550_001}                      # magic_base + the plugin's
    terminal.script("order_send", "requote", "requote")                                 # one retry, then refused
    requoted = run.settled(run.webhook('{"secret": "SECRET", "symbol": "EURUSD", "action": "buy", "volume": 0.1, '
                                       '"sl_pips": 50, "id": "requoted"}')["id"])
    assert requoted["outcome"]["orders"][0]["error"] == "MetaTrader 10004: requote", requoted["outcome"]
    assert sorted(p["symbol"] for p in run.get("/api/positions")["positions"]) == ["EURUSD", "XAUUSD"]  # ours
    closed = run.settled(run.webhook("close XAUUSD id=gold-out")["id"])
    assert closed["status"] == "done", closed["outcome"]
    assert [p["symbol"] for p in terminal.positions()] == ["EURUSD.r"]
    (trade,) = until(lambda: run.get("/api/trades")["trades"], bool, "the gold trade in the deal history")
    assert (trade["symbol"], trade["side"], trade["volume"]) == ("XAUUSD", "sell", 0.02)
    assert run.interrupt() == 0


def test_a_symbol_the_broker_names_with_a_suffix_not_set_is_refused_naming_the_brokers_names(user, tmp_path):
    # The broker quotes EURUSD as "EURUSD.r" and "EURUSD.pro" and mt5.symbol_suffix is not set: the alert's refusal
    # says so, where it said "unknown symbol EURUSD at the broker", which the trader read as a typo in the alert.
    Terminal(tmp_path / "terminal.db", symbols={"EURUSD.r": DEFAULT_SYMBOLS["EURUSD"],
                                                "EURUSD.pro": DEFAULT_SYMBOLS["EURUSD"],
                                                "GBPUSD.r": DEFAULT_SYMBOLS["GBPUSD"]})
    run = user.start("run", config=mt5_user(user, tmp_path / "terminal.db"), cwd="bot")
    row = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=no-suffix")["id"])
    assert (row["status"], row["outcome"]["error"]) == ("failed", (
        "unknown symbol EURUSD at the broker; it has EURUSD.pro, EURUSD.r: set mt5.symbol_suffix (\".r\" for "
        "EURUSD.r), or mt5.symbols for a name of the broker's own")), row
    other = run.settled(run.webhook("buy USDCHF volume=0.1 sl=0.8 id=none-such")["id"])
    assert other["outcome"]["error"] == "unknown symbol USDCHF at the broker", other
    assert run.interrupt() == 0


@contextmanager
def rpyc_terminal(folder: Path, listener: socket.socket) -> Iterator[int]:
    """The stand-in served as mt5linux's server serves the package under Wine: an RPyC classic
    server in a process of its own, the stand-in importable there as MetaTrader5, on ``listener``
    (``held_socket()``, the test's). Yields its port. At the end the process is killed and the
    socket stops listening: connections are refused, and the port stays the test's."""
    folder.mkdir(exist_ok=True)
    shutil.copy(SUPPORT / "mt5_standin.py", folder / "MetaTrader5.py")
    server = subprocess.Popen([sys.executable, str(SUPPORT / "rpyc_terminal.py"), str(folder), str(listener.fileno())],
                              stdout=subprocess.PIPE, text=True, pass_fds=[listener.fileno()])
    try:
        yield int(server.stdout.readline())
    finally:
        server.kill()
        server.wait()
        with suppress(OSError):   # never listening: the server did not start
            listener.shutdown(socket.SHUT_RDWR)   # the kernel kept it listening for the test's copy


def test_on_linux_the_terminal_is_reached_over_rpyc_as_mt5linux_serves_it(user, tmp_path):
    # docs/metatrader5.md's Linux setup: the package in a Windows Python under Wine, behind an
    # RPyC classic server; `moonhook run` with module = "mt5linux" trades through it and restarts.
    # Its server keeps the commonest broker clock (New York + 7 hours: GMT+2 in winter, GMT+3 in
    # summer), which every time it gives is written in.
    terminal = Terminal(tmp_path / "terminal.db", server_clock=("America/New_York", 7))
    terminal.set_price("EURUSD", 1.08490, 1.08500)  # a buy fills at 1.085, where the banner's alert expects it
    with held_socket() as listener:
        with rpyc_terminal(tmp_path / "windows-python", listener) as port:
            config, _ = init(user, "bot")
            config.replace('broker = "paper"', 'broker = "mt5"')
            config.append(f'[mt5]\nmodule = "mt5linux"\nhost = "127.0.0.1"\nport = {port}\n'
                          f'path = "{tmp_path / "terminal.db"}"\npoll_seconds = 0.2\n')
            run = user.start("run", config=config, cwd="bot")
            assert run.get("/health")["broker_connected"] is True
            assert "the server's clock: GMT+2/+3 (US daylight saving) (found from EURUSD's hourly bars" in run.text()
            trade_through_the_standin(user, run, terminal)
            (trade,) = until(lambda: run.get("/api/trades")["trades"], bool, "the closed trade from the deal history")
            assert trade["symbol"] == "EURUSD"
            now = time.time()  # the times in UTC, not in the server's 2 or 3 hours ahead
            assert now - 120 < trade["opened_at"] <= trade["closed_at"] <= now, (trade, now)
            (gbp,) = run.get("/api/positions")["positions"]
            assert now - 120 < gbp["opened_at"] <= now and terminal.positions()[0]["time"] > now + 3600, (gbp, now)
        # The Windows side goes away (Wine restarted, say): told, then reconnected when it is back.
        until(lambda: run.get("/health"), lambda h: not h["broker_connected"], "the lost terminal noticed")
        assert held(port)   # by the test, for the terminal's return: no other process took it meanwhile
        with rpyc_terminal(tmp_path / "windows-python", listener):   # on the port it held
            until(lambda: run.get("/health"), lambda h: h["broker_connected"], "the terminal reached again")
            row = run.settled(run.webhook("close GBPUSD id=after-reconnect")["id"])
            assert row["status"] == "done", row["outcome"]
            assert terminal.positions() == []
            assert run.interrupt() == 0
    # named after whichever call met it first: the deal poll's, the pending orders', the health check's
    assert re.search(r"connection lost: \w+: the terminal's Python is not reachable", run.text()), run.text()
    assert "Traceback" not in run.text()


def _an_alert_waiting_for_the_lost_terminal(user, tmp_path, source_id: str):
    """`moonhook run` on the stand-in, the terminal's connection lost, and an alert over HTTP
    waiting for it: (terminal, config, run, the webhook's answer)."""
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    run = user.start("run", config=config, cwd="bot")
    terminal.disconnect()
    until(lambda: not run.get("/health")["broker_connected"], bool, "the loss seen")
    answer = run.webhook(f"buy EURUSD volume=0.1 sl=1.07 id={source_id}")
    until(lambda: f"alert {answer['id']} waits for the broker" in run.text(), bool, "the alert waiting")
    return terminal, config, run, answer


def test_an_alert_sent_while_the_terminal_is_lost_waits_and_trades_once_it_is_back(user, tmp_path):
    """The terminal's connection drops (a terminal restart, a server's weekly maintenance): an
    alert over HTTP is answered and journaled, waits for the connection in its lane, and trades
    once it is back, once."""
    terminal, _, run, answer = _an_alert_waiting_for_the_lost_terminal(user, tmp_path, "walk-lost")
    assert run.get(f"/api/alerts/{answer['id']}")["status"] == "received" and terminal.sent() == 0
    terminal.reconnect()
    row = run.settled(answer["id"])
    assert row["status"] == "done" and row["outcome"]["orders"][0]["ok"], (row, run.text()[-3000:])
    assert terminal.sent() == 1 and len(terminal.positions()) == 1
    assert run.interrupt() == 0


def test_an_alert_waiting_for_the_terminal_at_ctrl_c_is_traded_at_the_next_start(user, tmp_path):
    """Ctrl-C while an alert waits for the lost terminal: moonhook stops at once, leaving it
    journaled; started again with the terminal back, it trades it, once."""
    terminal, config, run, answer = _an_alert_waiting_for_the_lost_terminal(user, tmp_path, "walk-across")
    assert run.interrupt() == 0
    assert f"alert {answer['id']} is left for the next start" in run.text() and terminal.sent() == 0
    terminal.reconnect()
    run = user.start("run", config=config, cwd="bot")
    row = run.settled(answer["id"])
    assert row["status"] == "done" and row["outcome"]["orders"][0]["ok"], row
    assert terminal.sent() == 1 and len(terminal.positions()) == 1
    assert run.interrupt() == 0


def test_an_entry_at_the_rollover_waits_for_the_spread_to_narrow_with_max_spread_wait(user, tmp_path):
    """engine.max_spread_wait uncommented as init wrote it: the entry sent into a 12-pip spread
    waits, and goes once the terminal's spread is back to a pip."""
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_price("EURUSD", 1.08500, 1.08620)
    config = mt5_user(user, tmp_path / "terminal.db")
    config.replace('# max_spread_pips = { "*" = 3, XAUUSD = 40 }', 'max_spread_pips = { "*" = 3, XAUUSD = 40 }')
    config.replace("# max_spread_wait = 90", "max_spread_wait = 90")
    run = user.start("run", config=config, cwd="bot")
    answer = run.webhook("buy EURUSD volume=0.1 sl=1.08 id=walk-waits")
    until(lambda: "the entry waits up to 90 s for it to narrow" in run.text(), bool, "the entry waiting")
    assert terminal.sent() == 0
    terminal.set_price("EURUSD", 1.08500, 1.08510)
    row = run.settled(answer["id"])
    assert row["status"] == "done", row
    assert [(p["volume"], p["price_open"]) for p in terminal.positions()] == [(0.1, 1.0851)]
    status = user.moonhook("status", cwd="bot")
    assert "spreads up to 3 pips (XAUUSD 40), waited for 90 s" in status.stdout, outcome(status)
    assert run.interrupt() == 0


def test_a_close_on_a_thin_book_is_filled_in_parts_until_the_position_is_flat(user, tmp_path):
    """GBPUSD takes IOC only; its book holds 0.4 lots at a time. `close GBPUSD` over 1 lot fills
    0.4, 0.4 and 0.2, each sent once, and says done only when the position is gone."""
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    run = user.start("run", config=config, cwd="bot")
    entry = run.settled(run.webhook("buy GBPUSD volume=1 sl=1.25 id=thin-entry")["id"])
    assert entry["status"] == "done", entry
    terminal.set_symbol("GBPUSD", liquidity=0.4)
    closed = run.settled(run.webhook("close GBPUSD id=thin-close")["id"])
    assert closed["status"] == "done" and closed["outcome"]["orders"][0]["ok"], closed
    assert terminal.positions() == [] and terminal.sent() == 4
    assert [d["volume"] for d in terminal.deals() if d["entry"] == 1] == [0.4, 0.4, 0.2]
    assert run.interrupt() == 0
