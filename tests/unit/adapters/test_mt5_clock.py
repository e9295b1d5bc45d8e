"""MetaTrader's times are the trade server's wall clock: the broker reads them in UTC.

The stand-in terminal writes its times on a server clock given to it (New York + 7 hours is the
commonest broker clock: GMT+2 in winter, GMT+3 in summer, switching with the US), as a real
server does; the broker finds that clock from a major's hourly bars, or is told it."""

from __future__ import annotations

import datetime as dt
import logging
import time
from zoneinfo import ZoneInfo

import pytest
import trio
import trio.testing

from engine.domain.orders import Closed, Dropped, Fill, OrderRequest

from support.engine_support import process, running
from support.mt5_standin import DEFAULT_SYMBOLS, Terminal
from support.mt5_support import config, log_in_by_hand, mt5
from support.waits import until

NEW_YORK_CLOSE = ("America/New_York", 7)   # GMT+2/+3, US daylight saving
CHICAGO = ("America/Chicago", 0)           # GMT-6/-5: behind UTC


def offset_now(clock) -> float:
    """Seconds the stand-in's clock is ahead of UTC now (worked out here as the stand-in does)."""
    return ZoneInfo(clock[0]).utcoffset(dt.datetime.now()).total_seconds() + clock[1] * 3600


def stamped(t: float, since: float) -> bool:
    """``t`` a time stamped between ``since`` and now, read in UTC (whole seconds on the server: a
    second of slack): a clock read hours off fails it, a slow machine does not."""
    return since - 1 <= t <= time.time() + 1


def buy(cid: str, **more) -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side="buy", volume=0.1, plugin="trend", alert_id=7, **more)


@pytest.mark.parametrize("clock, found", [(NEW_YORK_CLOSE, "GMT+2/+3 (US daylight saving)"),
                                          (CHICAGO, "GMT-6/-5 (US daylight saving)")])
async def test_times_from_a_server_on_another_clock_are_read_in_utc(tmp_path, clock, found):
    made = time.time()  # the terminal's first ticks
    terminal = Terminal(tmp_path / "terminal.db", server_clock=clock)
    async with mt5(tmp_path) as broker:
        assert str(broker.server_clock).startswith(found + " (found from EURUSD's hourly bars")
        before = time.time()
        result = await broker.execute(buy("a7-trend-1", sl=1.07))
        assert result.ok, result.error
        (raw,) = terminal.positions()
        assert stamped(raw["time"] - offset_now(clock), before)   # what the terminal writes
        (position,) = await broker.positions()
        assert stamped(position["opened_at"], before)
        assert stamped((await broker.price("EURUSD"))["time"], made)
        deals = await broker.history(since=before - 1)    # a server behind UTC: missed when asked in UTC
        deals = [d for d in deals if d["entry"] != "balance"]   # the account's opening deposit, if as recent
        assert [d["entry"] for d in deals] == ["in"] and stamped(deals[0]["time"], before)
        assert await broker.history(since=time.time() + 60) == []
        terminal.set_price("EURUSD", 1.0690, 1.0691)
        await until(lambda: any(isinstance(e, Closed) for e in broker.events))
        fill = next(e for e in broker.events if isinstance(e, Fill))
        closed = next(e for e in broker.events if isinstance(e, Closed))
        assert stamped(fill.time, before) and stamped(closed.time, before)


async def test_a_clock_set_in_the_config_is_used_without_looking(tmp_path):
    Terminal(tmp_path / "terminal.db", server_clock=("UTC", 2))
    async with mt5(tmp_path, server_clock="GMT+2") as broker:
        assert str(broker.server_clock) == "GMT+2 (fixed) (mt5.server_clock)"
        assert broker.terminal.failed("copy_rates_from_pos") == 0
        before = time.time()
        assert (await broker.execute(buy("a7-trend-1"))).ok
        assert stamped((await broker.positions())[0]["opened_at"], before)


async def test_without_hourly_bars_the_clock_is_measured_from_a_fresh_tick(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db", server_clock=NEW_YORK_CLOSE)
    terminal.failing("copy_rates_from_pos")
    terminal.set_price("EURUSD", 1.08, 1.0801)  # a tick now
    async with mt5(tmp_path) as broker:
        hours = offset_now(NEW_YORK_CLOSE) / 3600
        assert str(broker.server_clock) == (f"GMT+{hours:g} (fixed) (measured from a tick; a switch of daylight "
                                            "saving is seen at the next start)")
        assert broker.warnings == ()
        before = time.time()
        assert (await broker.execute(buy("a7-trend-1"))).ok
        assert stamped((await broker.positions())[0]["opened_at"], before)


async def test_a_clock_that_cannot_be_found_is_said_and_times_pass_as_written(tmp_path, caplog):
    caplog.set_level(logging.INFO, "moonhook.mt5")
    terminal = Terminal(tmp_path / "terminal.db", server_clock=NEW_YORK_CLOSE,
                        symbols={"US500": DEFAULT_SYMBOLS["US500"]})   # no forex major at this broker
    async with mt5(tmp_path) as broker:
        assert str(broker.server_clock) == "unknown"
        assert broker.warnings == ("the server's clock is unknown",)
        assert broker.state.endswith("; the server's clock is unknown")
        assert "set mt5.server_clock" in caplog.text
        result = await broker.execute(OrderRequest("market", "a7-trend-1", symbol="US500", side="buy", volume=0.1))
        assert result.ok, result.error
        assert (await broker.positions())[0]["opened_at"] == terminal.positions()[0]["time"]


def pending(cid: str, symbol: str = "EURUSD", price: float = 1.05, **more) -> OrderRequest:
    return OrderRequest("pending", cid, symbol=symbol, side="buy", type="limit", price=price, volume=0.1,
                        plugin="trend", alert_id=7, **more)


async def test_a_pending_orders_expiry_is_sent_on_the_servers_clock_kept_by_a_modify_and_told_when_it_comes(
        tmp_path):
    terminal = Terminal(tmp_path / "terminal.db", server_clock=NEW_YORK_CLOSE)
    async with mt5(tmp_path) as broker:
        before = time.time()
        placed = await broker.execute(pending("a7-trend-1", expiry=3600))
        assert placed.ok, placed.error
        (raw,) = terminal.orders()
        assert raw["type_time"] == 2   # ORDER_TIME_SPECIFIED, at the server's hour: 2 or 3 hours ahead of UTC
        assert stamped(raw["time_expiration"] - 3600 - offset_now(NEW_YORK_CLOSE), before)
        (order,) = await broker.orders()
        assert stamped(order["expires"] - 3600, before)
        moved = await broker.execute(OrderRequest("modify", "a7-trend-2", ticket=placed.ticket, price=1.06))
        assert moved.ok, moved.error
        assert (terminal.orders()[0]["type_time"], terminal.orders()[0]["time_expiration"]) == (
            2, raw["time_expiration"])  # moved, still expiring when it was to

        placing = time.time()
        soon = await broker.execute(pending("a7-trend-3", price=1.04, expiry=60))
        assert soon.ok, soon.error
        terminal.set_time(time.time() + 120)   # its minute comes: an expiry of a second passed a slow send by
        await until(lambda: any(isinstance(e, Dropped) for e in broker.events))
        (dropped,) = [e for e in broker.events if isinstance(e, Dropped)]
        assert (dropped.ticket, dropped.reason) == (soon.ticket, "expired")
        assert stamped(dropped.time - 60, placing)   # told at the time it was to expire
        assert [o["ticket"] for o in await broker.orders()] == [placed.ticket]


async def test_a_pending_order_gone_before_any_poll_saw_it_is_still_told(tmp_path):
    # An order can leave the terminal before moonhook first reads the orders (an expiry of a
    # second, which the server's whole seconds can make a millisecond; a rejection at once): it
    # is known from its placing, not from a poll. No poll runs here but the one after the order.
    Terminal(tmp_path / "terminal.db", server_clock=NEW_YORK_CLOSE)
    async with mt5(tmp_path, poll_seconds=3600) as broker:
        broker.terminal.script("order_send", {"slow_after": 0.5})   # placed, answered half a second later
        placed: list = []

        async def place() -> None:
            placed.append(await broker.execute(pending("a7-trend-1", expiry=60)))

        async with trio.open_nursery() as nursery:
            nursery.start_soon(place)
            await until(lambda: broker.terminal.orders())
            broker.terminal.set_time(time.time() + 120)   # its expiry comes before the answer
        assert placed[0].ok, placed[0].error
        await until(lambda: any(isinstance(e, Dropped) for e in broker.events))
        (dropped,) = [e for e in broker.events if isinstance(e, Dropped)]
        assert (dropped.ticket, dropped.reason) == (placed[0].ticket, "expired")


async def test_an_expiry_is_refused_where_the_symbol_takes_none_or_the_clock_is_unknown(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db", server_clock=NEW_YORK_CLOSE)
    terminal.set_symbol("GBPUSD", expiration_mode=1)  # good till cancelled only
    async with mt5(tmp_path) as broker:
        refused = await broker.execute(pending("a7-trend-1", symbol="GBPUSD", price=1.2, expiry=60))
        assert refused.error == ("expiry: GBPUSD takes no expiry time at this broker (its expiration_mode 1 has no "
                                 "SPECIFIED): send it without expiry")
        assert (await broker.execute(pending("a7-trend-2", symbol="GBPUSD", price=1.2))).ok  # without: placed
    (tmp_path / "b").mkdir()
    Terminal(tmp_path / "b" / "terminal.db", server_clock=NEW_YORK_CLOSE, symbols={"US500": DEFAULT_SYMBOLS["US500"]})
    async with mt5(tmp_path / "b") as broker:   # no forex major: the clock is not found
        refused = await broker.execute(pending("a7-trend-3", symbol="US500", price=4900.0, expiry=60))
        assert refused.error == ("expiry: the server's clock is unknown, so the order would expire hours off; "
                                 "set mt5.server_clock")


async def test_a_days_loss_on_a_server_behind_utc_is_counted_from_the_days_start(tmp_path):
    # The day's deals are read from the trading day's start, turned into the server's hour; the
    # trading day is one whose noon is now, so that it cannot turn during the test.
    terminal = Terminal(tmp_path / "terminal.db", server_clock=CHICAGO)
    noon = (12 - time.gmtime().tm_hour + 12) % 24 - 12
    settings = {"broker": "mt5", "mt5": config(tmp_path, timeout=3.0), "max_daily_loss_pct": 5.0,
                "trading_day": f"GMT{noon:+d}"}
    async with running(tmp_path, **settings) as engine:
        assert (await process(engine, "buy EURUSD volume=1 id=in"))["status"] == "done"    # at the ask 1.0801
        terminal.set_price("EURUSD", 1.0690, 1.0691)
        assert (await process(engine, "closelong EURUSD id=out"))["status"] == "done"      # -1,110.00: 11.1%
        refused = await process(engine, "buy EURUSD volume=0.1 id=more")
        assert refused["outcome"]["orders"][0]["error"].startswith(
            "over engine.max_daily_loss_pct: the trading day's loss is USD 1,110.00, 11.1% of the 10,000.00"), refused


async def test_a_lost_send_is_found_on_a_server_behind_utc_whose_clock_is_unknown(tmp_path):
    """The clock unknown, the server's times are compared as written: a server on New York's
    wall clock stamps its position five hours before the send was written down (UTC). Found all
    the same: not left "not known" and its alert failed while the position is open."""
    Terminal(tmp_path / "terminal.db", server_clock=("America/New_York", 0),
             symbols={"US500": DEFAULT_SYMBOLS["US500"]})   # no forex major: the clock is not found
    async with mt5(tmp_path) as broker:
        assert str(broker.server_clock) == "unknown"
        broker.terminal.script("order_send", "crash_after_send")   # executed; its answer lost with the worker
        found = await broker.execute(OrderRequest("market", "a7-trend-1", symbol="US500", side="buy", volume=0.1,
                                                  plugin="trend", alert_id=7))
        assert found.ok and found.ticket == broker.terminal.positions()[0]["ticket"], found
        assert broker.terminal.sent() == 1


async def test_the_terminal_logged_in_to_another_server_while_moonhook_runs_has_its_clock_found_again(tmp_path):
    """The demo's server runs GMT+2/+3; the trader logs the terminal in by hand to the live account, at a
    server behind UTC: the demo's clock was kept, its times read 8 hours off, and deals asked from a time 8
    hours ahead of that server's (a deal just made not found; the day's loss missing the day's first 8 hours
    of deals). It is found again."""
    Terminal(tmp_path / "live.db", login=222, server="Standin-Live", server_clock=CHICAGO)
    Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo", server_clock=NEW_YORK_CLOSE)
    async with mt5(tmp_path) as broker:
        assert str(broker.server_clock).startswith("GMT+2/+3 (US daylight saving)")
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await until(lambda: broker.state.startswith("connected: account 222 on Standin-Live"))
        assert str(broker.server_clock).startswith("GMT-6/-5 (US daylight saving) (found from EURUSD's hourly bars")
        before = time.time()
        assert (await broker.execute(buy("a7-trend-1", sl=1.07))).ok
        (position,) = await broker.positions()
        assert stamped(position["opened_at"], before)
        deals = [d for d in await broker.history(since=before - 1) if d["entry"] != "balance"]
        assert [d["entry"] for d in deals] == ["in"], deals


async def test_a_symbols_specification_is_the_new_servers_while_its_clock_is_found(tmp_path):
    """The live account is a cent account (EURUSD's contract 1,000, not 100,000). Logged in to it by hand
    while moonhook runs, the connection is up there while its clock is being found: a specification read
    then was the demo's, kept from before (what an entry is sized on). It is the live one's."""
    live = Terminal(tmp_path / "live.db", login=222, server="Standin-Live", server_clock=CHICAGO)
    live.set_symbol("EURUSD", trade_contract_size=1000.0)
    live.script("copy_rates_from_pos", "hang")   # the clock being found at the live server
    Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo", server_clock=NEW_YORK_CLOSE)
    async with mt5(tmp_path) as broker:
        assert (await broker.symbol("EURUSD"))["contract_size"] == 100_000
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await until(lambda: broker.terminal.hung("copy_rates_from_pos") == 1)
        assert broker.connected
        specs = []
        async with trio.open_nursery() as nursery:
            nursery.start_soon(lambda: _read_into(specs, broker.symbol("EURUSD")))
            await trio.testing.wait_all_tasks_blocked()   # answered from what it kept, or waiting for the terminal
            broker.terminal.release("copy_rates_from_pos")
    assert [spec["contract_size"] for spec in specs] == [1000], specs


async def _read_into(values: list, read) -> None:
    values.append(await read)
