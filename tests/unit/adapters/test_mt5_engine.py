"""The engine on MetaTrader 5 (the stand-in terminal in the broker's worker process):
``engine.broker = "mt5"`` is the only switch; an alert becomes one order, its fill reaches the
plugins, /health shows the connection, and an alert replayed after a crash sends nothing again."""

from __future__ import annotations

from dataclasses import replace

import trio

from engine.domain.config.mt5 import MT5Config
from engine.app import Operations
from engine.domain.alerts import parse_body
from engine.interfaces.telegram.commands import Commands

from support.botapi import html_plain
from support.engine_support import process, running, submit, told
from support.mt5_standin import ACCOUNT_MARGIN_MODE_RETAIL_NETTING, ORDER_TYPE_SELL_LIMIT, Terminal
from support.mt5_support import config as standin_config, short
from support.telegram_support import ADMIN, Chat, Clock, ask
from support.waits import until

FILLS = """
function on_fill(f) store.set("fills", (store.get("fills") or 0) + 1) end
function on_close(p) store.set("closed", p.reason) end
"""


def mt5_config(tmp_path, terminal: str = "terminal.db") -> MT5Config:
    return standin_config(tmp_path, path=str(tmp_path / terminal))


async def test_an_alert_trades_on_metatrader_and_its_fill_and_close_reach_the_plugins(tmp_path, caplog):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, {"watch": FILLS}, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        assert Operations(engine).health()["broker_connected"] and Operations(engine).health()["status"] == "ok"
        assert engine.broker._link.pid in engine.monitor._workers()   # its memory counted with the engine's
        row = await process(engine, "buy EURUSD volume=0.1 sl=1.07 id=one")
        assert row["status"] == "done", row
        (order,) = row["outcome"]["orders"]
        assert order["ok"] and order["ticket"] == terminal.positions()[0]["ticket"]
        await until(lambda: engine.store.get("watch", "fills") == 1)
        terminal.set_price("EURUSD", 1.0690, 1.0691)
        await until(lambda: engine.store.get("watch", "closed") == "sl")
        assert terminal.sent() == 1
        terminal.disconnect()
        await until(lambda: not engine.broker.connected)
        assert Operations(engine).health()["status"] == "degraded" and Operations(engine).health()["broker_state"].startswith("lost: ")
        waiting = await submit(engine, "buy EURUSD volume=0.1 id=two")   # waits for the broker, in its lane
        behind = await submit(engine, "closelong EURUSD id=three")          # and the next alert behind it
        await until(lambda: any(f"alert {waiting.id} waits for the broker" in r.getMessage() for r in caplog.records))
        assert engine.journal.get(behind.id)["status"] == "received"
        terminal.reconnect()
        await engine.drain()
        assert engine.journal.get(waiting.id)["status"] == "done" and engine.journal.get(behind.id)["status"] == "done"
        assert terminal.sent() == 3 and terminal.positions() == []   # in order: the buy, then its close


async def test_an_alert_waiting_for_a_lost_terminal_expires_at_its_age_not_failed(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_alert_age=0.5) as engine:
        terminal.disconnect()
        await until(lambda: not engine.broker.connected)
        row = await process(engine, "buy EURUSD volume=0.1 id=late")
        assert row["status"] == "expired" and row["outcome"]["limit"] == "engine.max_alert_age", row
        assert row["outcome"]["reason"].endswith(", waiting for the broker (MetaTrader 5 is not connected (lost: "
                                                 "MetaTrader error -10004: No IPC connection))"), row
        terminal.reconnect()
        await until(lambda: engine.broker.connected)
        assert terminal.sent() == 0


async def test_an_alert_replayed_after_a_crash_finds_its_order_and_sends_nothing(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    config = {"broker": "mt5", "mt5": mt5_config(tmp_path)}
    async with running(tmp_path, **config) as engine:
        row = await process(engine, "buy EURUSD volume=0.2 id=once")
        assert row["status"] == "done" and terminal.sent() == 1
        engine.journal.set_status(row["id"], "received")    # as if the engine died before the status
    async with running(tmp_path, **config) as engine:          # recovery processes it again
        await engine.drain()
        again = engine.journal.get(row["id"])
        assert again["status"] == "done" and again["outcome"]["orders"][0]["duplicate"]
        assert terminal.sent() == 1 and len(terminal.positions()) == 1


async def test_telegrams_close_and_cancel_show_and_act_on_moonhooks_own_leaving_what_was_done_by_hand(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 sl=1.07"))["status"] == "done"
        assert (await process(engine, "buylimit EURUSD volume=0.1 price=1.05 sl=1.04"))["status"] == "done"
        by_hand = terminal.open_external("EURUSD", "sell", 0.3), terminal.place_external(
            "EURUSD", ORDER_TYPE_SELL_LIMIT, 0.3, 1.2)
        clock = Clock()
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        listed = html_plain((await ask(commands, chat.say("/orders"))).text).splitlines()
        assert listed[-3:] == ["EURUSD buy limit    0.1    1.05", "EURUSD*sell limit   0.3     1.2",
                               "* placed by hand: /cancel leaves it"], listed
        for command, asked in (("/close EURUSD", "Close 1 position?"), ("/cancel EURUSD", "Cancel 1 pending order?")):
            question = html_plain((await ask(commands, chat.say(command))).text)
            assert asked in question and "0.3" not in question, question   # the 0.3 lots by hand are not shown
            clock.now += 3
            done = html_plain((await ask(commands, chat.say(command))).text)
            assert ": closed 1 position" in done or ": cancelled" in done, done
        assert [p["ticket"] for p in terminal.positions()] == [by_hand[0]]
        assert [o["ticket"] for o in terminal.orders()] == [by_hand[1]]


async def test_alerts_close_part_and_change_stops_of_moonhooks_positions_never_of_those_opened_by_hand(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        by_hand = terminal.open_external("EURUSD", "buy", 1.0)       # the trader's own (magic 0), and the oldest
        (opened,) = (await process(engine, "buy EURUSD volume=0.5"))["outcome"]["orders"]
        for alert in ("closelong EURUSD volume=0.2", "newsltp EURUSD sl=1.07", "close EURUSD volume=0.1"):
            assert (await process(engine, alert))["status"] == "done", alert
        left = {p["ticket"]: (p["volume"], p["sl"]) for p in terminal.positions()}
        assert left == {by_hand: (1.0, 0.0), opened["ticket"]: (0.2, 1.07)}
        assert (await process(engine, "closeall"))["status"] == "done"
        assert [p["ticket"] for p in terminal.positions()] == [by_hand]
        for alert in ("closelong EURUSD volume=0.2 id=b1", "newsltp EURUSD sl=1.07 id=b2", "closeall id=b3"):
            row = await process(engine, alert)    # only the trader's own is left: nothing to do
            assert row["status"] == "done" and not row["outcome"].get("orders"), (alert, row)
        assert terminal.positions()[0]["volume"] == 1.0 and terminal.positions()[0]["sl"] == 0.0


async def test_a_pending_order_deleted_in_the_terminal_reaches_its_plugins_on_cancel(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    watch = "function on_cancel(o) store.set('told', o.reason .. ' ' .. o.ticket .. ' ' .. o.symbol) end"
    async with running(tmp_path, {"watch": watch}, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        row = await process(engine, "buylimit EURUSD volume=0.1 price=1.05 sl=1.04")
        (order,) = row["outcome"]["orders"]
        terminal.end_order(order["ticket"])
        await until(lambda: engine.store.get("watch", "told") is not None)
        assert engine.store.get("watch", "told") == f"cancelled {order['ticket']} EURUSD"


async def test_prices_with_more_decimals_than_the_broker_quotes_are_sent_on_its_tick_grid(tmp_path):
    # TradingView's plots give 1.0750012345; US500 is quoted in quarters here: the terminal, as a
    # trade server does, refuses a price, stop or target off the grid (10015, 10016)
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        market = await process(engine, "buy EURUSD volume=0.1 sl=1.0750012345 tp=1.0900001")
        limit = await process(engine, "buylimit US500 volume=0.1 price=4990.37 sl=4980.12 tp=5010.9")
        moved = await process(engine, "newsltp EURUSD sl=1.0760004 tp=1.0899996")
    assert [r["status"] for r in (market, limit, moved)] == ["done"] * 3, (market, limit, moved)
    (position,) = terminal.positions()
    assert (position["sl"], position["tp"]) == (1.076, 1.09)
    (order,) = terminal.orders()
    assert (order["price_open"], order["sl"], order["tp"]) == (4990.25, 4980.0, 5011.0)


async def test_risk_is_sized_on_the_tick_value_of_the_hour_not_of_the_first_trade(tmp_path):
    # A tick's value in the account currency moves with the rate between the symbol's profit
    # currency and the account's (MetaTrader converts it): read again after a minute, not cached
    # for the engine's life. 1% of 10,000 at a 10-pip stop from the ask (1.0801): 100 ticks of 1.0, then of 2.0
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_symbol("EURUSD", tick_value=1.0)
    now = [1_800_000_000.0]
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), clock=lambda: now[0]) as engine:
        first = await process(engine, "buy EURUSD risk=1 sl=1.0791 id=first")
        terminal.set_symbol("EURUSD", tick_value=2.0)
        soon = await process(engine, "buy EURUSD risk=1 sl=1.0791 id=soon")       # within a minute: as read
        now[0] += 61
        later = await process(engine, "buy EURUSD risk=1 sl=1.0791 id=later")
    volumes = [row["outcome"]["orders"][0]["volume"] for row in (first, soon, later)]
    assert volumes == [1.0, 1.0, 0.5]


async def test_risk_is_sized_on_the_tick_value_of_a_losing_position(tmp_path):
    # MetaTrader's trade_tick_value is a winning position's; a stop is a loss, converted at the other
    # side of the rate's spread (trade_tick_value_loss). 1% of 10,000 over a 10-pip stop from the ask
    # (1.0801 to 1.0791): 100 ticks of 1.25 lose 125 a lot, 0.8 lots (sized on 1.0, 1 lot would lose 125).
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_symbol("EURUSD", tick_value=1.0, tick_value_loss=1.25)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        row = await process(engine, "buy EURUSD risk=1 sl=1.0791")
    assert row["outcome"]["orders"][0]["volume"] == 0.8, row


async def test_a_netting_account_and_algo_trading_off_are_said_at_connection(tmp_path, caplog):
    terminal = Terminal(tmp_path / "terminal.db", margin_mode=ACCOUNT_MARGIN_MODE_RETAIL_NETTING)
    terminal.set_trade_allowed(False)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        state, health = engine.broker.state, Operations(engine).health()
        clock = Clock()
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        status = html_plain((await ask(commands, chat.say("/status"))).text)
        refused = await process(engine, "buy EURUSD volume=0.1")
        admins = [text for kind, text in await told(engine) if kind == "admin"]
    assert state == ("connected: account 0 on Standin-Demo; a netting account; Algo Trading is off in the "
                     "terminal"), state
    assert health["broker_warnings"] == ["a netting account", "Algo Trading is off in the terminal"]
    assert "⚠ broker  a netting account\n⚠ broker  Algo Trading is off in the terminal" in status, status
    assert "MetaTrader 5: the account nets positions (margin mode netting)" in caplog.text
    assert "MetaTrader 5: Algo Trading is off in the terminal: every order is refused (10027)" in caplog.text
    assert refused["status"] == "failed"
    assert admins == ["broker: the account nets positions (margin mode netting): a symbol holds one position, a buy "
                      "against a short reduces it, and an entry's stop moves the whole position's; so an entry "
                      "is sent only onto a symbol without a position or a pending order, and refused otherwise "
                      "(docs/metatrader5.md)",
                      "broker: Algo Trading is off in the terminal: every order is refused (10027) until its button "
                      "is on"]
    hedging = Terminal(tmp_path / "hedging.db")
    async with running(tmp_path / "2", broker="mt5", mt5=mt5_config(tmp_path, "hedging.db")) as engine:
        assert engine.broker.state == "connected: account 0 on Standin-Demo"
    assert hedging.sent() == 0


async def test_algo_trading_switched_on_or_off_while_running_is_seen(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_trade_allowed(False)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        assert engine.broker.state.endswith("; Algo Trading is off in the terminal")
        terminal.set_trade_allowed(True)                          # the trader presses the button
        await until(lambda: "Algo Trading" not in engine.broker.state)
        assert (await process(engine, "buy EURUSD volume=0.1 id=on"))["status"] == "done"
        terminal.set_trade_allowed(False)                         # and again: the next order says it
        assert (await process(engine, "buy EURUSD volume=0.1 id=off"))["status"] == "failed"
        assert engine.broker.state.endswith("; Algo Trading is off in the terminal")
        admins = [text.split(":")[1] for kind, text in await told(engine) if kind == "admin"]
    # the second "off" within a minute of the first is the throttle's to tell, at its window's end
    assert admins == [" Algo Trading is off in the terminal", " Algo Trading is on again in the terminal"]


async def test_a_fifo_account_is_said_and_its_positions_close_oldest_first(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db", fifo_close=True)   # as US accounts are
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        assert engine.broker.warnings == ("closes first in, first out",)
        older = (await process(engine, "buy EURUSD volume=0.1 id=older"))["outcome"]["orders"][0]["ticket"]
        newer = (await process(engine, "buy EURUSD volume=0.2 id=newer"))["outcome"]["orders"][0]["ticket"]
        ((ticket, refused),) = await Operations(engine).close_positions([newer], plugin="api", origin="test",
                                                                        comment="by hand")
        assert (ticket, refused.error) == (newer, "MetaTrader 10045: only FIFO closing is allowed (the symbol's oldest "
                                                  "position first) (Position close rejected due to FIFO rule)")
        closed = await process(engine, "closelong EURUSD")
        assert closed["outcome"]["orders"][0]["closed"] == [older, newer], closed["outcome"]
        assert terminal.positions() == []


# Reads the broker on a timer and in on_alert; keeps what a failed read said.
READER = """
plugin = {every = "1s"}
function on_timer()
  store.set("ticks", (store.get("ticks") or 0) + 1)
  positions.list()
end
function on_alert(a)
  local ok, said = pcall(account.info)
  if not ok then store.set("said", said) end
  account.info()
end
"""


async def test_a_lost_terminal_is_not_held_against_the_plugins(tmp_path, caplog):
    """While the terminal is lost, a script's read fails with what happened (not "internal
    error"), the failure is not counted by the breaker (at 1 here, one counted failure would
    switch the plugin off), and timers wait; all goes on once it is back."""
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, {"reader": READER}, broker="mt5", mt5=mt5_config(tmp_path), breaker=1) as engine:
        def ticks() -> int:
            return engine.store.get("reader", "ticks") or 0

        await until(lambda: ticks() >= 1)
        terminal.disconnect()
        await until(lambda: not engine.broker.connected)
        row = await submit(engine, "buy EURUSD volume=0.1 sl=1.07 id=lost")
        await until(lambda: any(f"alert {row.id} waits for the broker" in r.getMessage() for r in caplog.records))
        stopped = ticks()
        await trio.sleep(2.5)                                # two timer periods and more
        assert ticks() <= stopped + 1                        # a run under way at the loss may end
        said = engine.store.get("reader", "said")
        assert said.startswith("account.info: the broker cannot answer now (MetaTrader 5 is not connected (lost: "), said
        assert [p.enabled for p in engine.plugins] == [True]
        terminal.reconnect()
        await engine.drain()
        assert engine.journal.get(row.id)["status"] == "done" and terminal.sent() == 1
        again = ticks()
        await until(lambda: ticks() > again)


async def test_an_alert_waiting_for_a_lost_terminal_at_a_stop_is_done_at_the_next_start(tmp_path, caplog):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        terminal.disconnect()
        await until(lambda: not engine.broker.connected)
        row = await submit(engine, "buy EURUSD volume=0.1 sl=1.07 id=across")
        await until(lambda: any(f"alert {row.id} waits for the broker" in r.getMessage() for r in caplog.records))
    assert any(f"alert {row.id} is left for the next start" in r.getMessage() for r in caplog.records)
    assert terminal.sent() == 0
    terminal.reconnect()
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        await engine.drain()
        assert engine.journal.get(row.id)["status"] == "done" and terminal.sent() == 1


async def test_an_entry_waits_out_a_rollover_spread_then_goes_or_is_refused_after_its_wait(tmp_path, caplog):
    terminal = Terminal(tmp_path / "terminal.db")
    terminal.set_price("EURUSD", 1.08500, 1.08620)   # 12 pips: the rollover's
    limits = {"max_spread_pips": {"*": 3.0}}
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_spread_wait=100.0, **limits) as engine:
        row = await submit(engine, "buy EURUSD volume=0.1 sl=1.07 id=at-rollover")
        await until(lambda: any("the entry waits up to 100 s for it to narrow" in r.getMessage()
                                for r in caplog.records))
        assert terminal.sent() == 0
        check = await Operations(engine).check(parse_body("buy EURUSD volume=0.1 sl=1.07", engine.symbols))
        assert check["orders"][0]["refused"].endswith("at most 3; an entry would wait up to 100 s for it to narrow")
        terminal.set_price("EURUSD", 1.08500, 1.08510)
        await engine.drain()
        assert engine.journal.get(row.id)["status"] == "done"
        assert [(p["volume"], p["price_open"]) for p in terminal.positions()] == [(0.1, 1.0851)]
    terminal.set_price("EURUSD", 1.08500, 1.08620)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_spread_wait=0.5, **limits) as engine:
        refused = await process(engine, "buy EURUSD volume=0.1 sl=1.07 id=still-wide")
        assert refused["outcome"]["orders"][0]["error"] == (
            "over engine.max_spread_pips: EURUSD's spread is 12.0 pips (bid 1.085, ask 1.0862), at most 3, after "
            "waiting 0.5 s for it to narrow"), refused
        assert terminal.sent() == 1


PLACES_IN_PCALL = """
function on_alert(a)
  local ok, r = pcall(orders.market, {symbol = "GBPUSD", side = "buy", volume = 0.1})
  store.set("said", ok and ("ok=" .. tostring(r.ok) .. " " .. tostring(r.error)) or tostring(r))
end
"""


async def test_an_order_whose_outcome_is_unknown_is_an_error_to_the_script_not_a_refusal(tmp_path):
    """Sent, then MetaTrader gone before it answered: a script told ok=false would place it again
    (a timer's next tick, under another client id) and could trade twice. It gets an error."""
    terminal = Terminal(tmp_path / "terminal.db")
    config = replace(mt5_config(tmp_path), **short(3.0))
    async with running(tmp_path, {"placer": PLACES_IN_PCALL}, broker="mt5", mt5=config) as engine:
        terminal.script("order_send", "crash_after_send")   # executed; its worker dies before the answer
        terminal.script("initialize", "ipc_down")             # and MetaTrader is gone when linked again
        recorded = await submit(engine, '{"symbol": "EURUSD", "note": "look"}')
        await until(lambda: engine.store.get("placer", "said") is not None)
        said = engine.store.get("placer", "said")
        assert said.startswith("orders.market: not done: ") and "It may have reached the broker" in said, said
        assert said.endswith("look at positions.list before placing another"), said
        terminal.reconnect()
        await engine.drain()
        assert engine.journal.get(recorded.id)["status"] == "done" and terminal.sent() == 1


HANDLER = """
function on_alert(a)
  if a.comment ~= "handle" then return end
  local ok, r = pcall(orders.market, {symbol = a.symbol, side = "buy", volume = 0.1})
  store.set("said", ok and ("ok=" .. tostring(r.ok) .. " " .. tostring(r.error)) or tostring(r))
  return {handled = true}
end
"""


async def test_alerts_sent_while_the_terminal_is_lost_wait_for_it_and_trade_once_it_is_back(tmp_path, caplog):
    # The MT5 broker answered a lost terminal with a refusal ("not done ... Nothing was sent"):
    # an entry with its price and volume, on a symbol whose spec it had, failed at once, and a
    # plugin's orders.market came back ok=false, as if refused (its alert "done", nothing sent).
    # The broker's contract is BrokerError: the alert waits and runs again once the terminal is
    # back, and a script is told the broker cannot answer now.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, {"handler": HANDLER}, broker="mt5", mt5=mt5_config(tmp_path),
                       max_alert_age=60) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.0701 id=first"))["status"] == "done"
        terminal.disconnect()
        await until(lambda: not engine.broker.connected)
        handled = await process(engine, "buy GBPUSD volume=0.1 price=1.27 comment=handle")
        assert engine.store.get("handler", "said").startswith("orders.market: the broker cannot answer now (not done: "
                                                              "MetaTrader 5 is not connected"), engine.store.get(
                                                                  "handler", "said")
        entry = await submit(engine, "buy EURUSD volume=0.1 price=1.0701 id=second")
        await until(lambda: any(f"alert {entry.id} waits for the broker" in m.getMessage() for m in caplog.records),
                    10)
        terminal.reconnect()
        await engine.drain()
        assert engine.journal.get(entry.id)["status"] == "done", engine.journal.get(entry.id)
        assert sorted(p["symbol"] for p in terminal.positions()) == ["EURUSD", "EURUSD"]
        assert handled["status"] == "done" and not handled["outcome"]["orders"]   # its plugin was told, and said so
