"""A stop-out told to the administrators as what it is: the broker closed positions because the
account ran out of margin. It reached only the trades chat, one "closed by stop_out" line a
position like any close, and the admin chat (the engine's health, an outage, a pause) heard
nothing of an account-level emergency. Now the admins are told once per stop-out (the positions
closed in one go: one message), with the loss, the margin level and equity the broker said, and
that alerts go on; the dashboard hears it live, and the health shows it. A crash once its
message was written does not tell it twice."""

from __future__ import annotations

import time

import trio

from engine.adapters.storage.untold import UntoldEvents
from engine.app import Operations
from engine.core.reports import AGAIN
from engine.core.stopouts import StopOuts
from engine.domain.config.mt5 import MT5Config
from engine.domain.config.paper import PaperConfig

from support.engine_support import first, process, running, told
from support.mt5_standin import Terminal
from support.mt5_support import config as standin_config

PAPER = PaperConfig(leverage=200)   # EURUSD at 1:200: 4 lots at 1.098 hold 2,196.00, 5 at 1.1 2,750.00
PAPER_SAID = (
    "STOP-OUT: the broker closed 2 positions of moonhook's: the account's margin level fell below its stop-out "
    "level. Net -12,700.00 USD in all.\n"
    "position 1002 buy 5 EURUSD closed @ 1.085: net -7,500.00 (engine), at a margin level of -54.59% "
    "(equity -2,700.00, margin 4,946.00)\n"
    "position 1001 buy 4 EURUSD closed @ 1.085: net -5,200.00 (engine), at a margin level of -122.95% "
    "(equity -2,700.00, margin 2,196.00)\n"   # what was left below the level: closed next, on the same quote
    "moonhook goes on taking alerts, on the margin left: /pause holds them (its exits too) until /resume.")


def admin(messages: list[tuple[str, str]]) -> list[str]:
    return [text for kind, text in messages if kind == "admin"]


async def stopped_out(engine) -> None:
    """Long 4 lots from 1.098 and 5 from 1.1 (4,946.00 of margin on 10,000.00), then the bid at
    1.085: -12,700.00 open, the equity below zero, and both positions closed in one go."""
    await process(engine, "buy EURUSD volume=4 price=1.098")
    await process(engine, "buy EURUSD volume=5 price=1.1")
    await engine.broker.quote("EURUSD", 1.085, engine.clock())
    await engine.drain()


async def test_a_paper_stop_out_of_two_positions_is_one_admin_message_and_one_live_event(tmp_path):
    async with running(tmp_path, paper=PAPER) as engine:
        with engine.events.subscribe() as sub:
            await stopped_out(engine)
            live = await first(sub, "account.stop_out")
        said = await told(engine)
        health = Operations(engine).health()
    assert admin(said) == [PAPER_SAID]
    assert [t for kind, t in said if kind == "trades" and "closed by stop_out" in t] == [
        "position 1002 buy 5 EURUSD closed by stop_out @ 1.085: net -7500.00 USD (profit -7500.00, commission +0.00)",
        "position 1001 buy 4 EURUSD closed by stop_out @ 1.085: net -5200.00 USD (profit -5200.00, commission +0.00)"]
    assert {k: live[k] for k in ("tickets", "net", "currency", "margin_level", "equity", "margin")} == {
        "tickets": [1002, 1001], "net": -12700.0, "currency": "USD", "margin_level": -54.59, "equity": -2700.0,
        "margin": 4946.0}
    assert [p["ticket"] for p in live["positions"]] == [1002, 1001]
    assert health["last_stop_out"]["tickets"] == [1002, 1001]


def mt5_config(tmp_path) -> MT5Config:
    """The stand-in's terminal, polled only after an order (an hour apart): the test decides what
    one read of the history holds."""
    return standin_config(tmp_path, poll_seconds=3_600.0)


async def test_a_metatrader_stop_out_of_two_positions_is_one_admin_message_saying_the_margin(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        with engine.events.subscribe() as sub:
            await process(engine, "buy EURUSD volume=0.3")
            await process(engine, "sell GBPUSD volume=0.2")
            positions = {p["symbol"]: p["ticket"] for p in terminal.positions()}
            for symbol in ("EURUSD", "GBPUSD"):
                terminal.stop_out(positions[symbol])         # the trade server's deals, reason SO
            await process(engine, "buy EURUSD volume=0.01")   # its order's poll reads both
            live = await first(sub, "account.stop_out")
        said = admin(await told(engine))
    eurusd, gbpusd = positions["EURUSD"], positions["GBPUSD"]
    assert live["tickets"] == [eurusd, gbpusd] and live["margin_level"] == 48.2 and live["equity"] == 4820.0
    (text,) = said
    lines = text.split("\n")
    assert lines[0].startswith("STOP-OUT: the broker closed 2 positions of moonhook's: the account's margin level "
                               "fell below its stop-out level. Net "), text
    assert lines[1].startswith(f"position {eurusd} buy 0.3 EURUSD closed @ "), text
    assert lines[2].startswith(f"position {gbpusd} sell 0.2 GBPUSD closed @ "), text
    assert all(line.endswith("(engine), at a margin level of 48.2% (equity 4,820.00, margin 10,000.00)")
               for line in lines[1:3]), text
    assert lines[3] == ("moonhook goes on taking alerts, on the margin left: /pause holds them (its exits too) until "
                        "/resume.")


async def test_a_metatrader_stop_out_read_over_two_polls_is_one_admin_message_and_a_later_one_another(tmp_path):
    # The trade server stopped out two positions in one go; a poll read the first deal before the
    # second reached the terminal: two "STOP-OUT" messages for one emergency (paper tells one a go).
    terminal = Terminal(tmp_path / "terminal.db")
    at = time.time()
    terminal.set_time(at)   # the trade server's clock, held: one go's closes are at one time, however slow this is
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        with engine.events.subscribe() as sub:
            await process(engine, "buy EURUSD volume=0.3")
            await process(engine, "sell GBPUSD volume=0.2")
            await process(engine, "buy XAUUSD volume=0.1")
            positions = {p["symbol"]: p["ticket"] for p in terminal.positions()}
            terminal.stop_out(positions["EURUSD"])
            await process(engine, "buy EURUSD volume=0.01")   # its order's poll reads the first
            assert (await first(sub, "account.stop_out"))["tickets"] == [positions["EURUSD"]]
            terminal.stop_out(positions["GBPUSD"])
            await process(engine, "buy EURUSD volume=0.02")   # the next poll, the second
            live = await first(sub, "account.stop_out")
            one_go = (await told(engine), Operations(engine).health()["last_stop_out"])
            terminal.set_time(at + 3_600)
            terminal.stop_out(positions["XAUUSD"])            # an hour later: another stop-out
            await process(engine, "buy EURUSD volume=0.03")
            later = await first(sub, "account.stop_out")
        said = await told(engine)
    tickets = [positions["EURUSD"], positions["GBPUSD"]]
    assert len(stop_outs(one_go[0])) == 1, stop_outs(one_go[0])
    assert len([t for kind, t in one_go[0] if kind == "trades" and "closed by stop_out" in t]) == 2   # each close
    assert live["tickets"] == tickets and one_go[1]["tickets"] == tickets   # the whole episode
    assert later["tickets"] == [positions["XAUUSD"]] and len(stop_outs(said)) == 2, stop_outs(said)


def stop_outs(messages: list[tuple[str, str]]) -> list[str]:
    return [text for text in admin(messages) if text.startswith("STOP-OUT")]


async def test_a_stop_out_told_again_after_a_crash_is_not_told_twice_to_the_admins(tmp_path, monkeypatch):
    # Killed once the stop-out's message was in the outbox, before the broker forgot the event:
    # the next start tells it again (``again``), and the admins heard of one stop-out twice.
    with monkeypatch.context() as patched:
        patched.setattr(UntoldEvents, "told", lambda self, event: None)   # as if it died before each was taken out
        async with running(tmp_path, paper=PAPER) as engine:
            await stopped_out(engine)
            assert stop_outs(await told(engine)) == [PAPER_SAID]
    async with running(tmp_path, paper=PAPER) as engine:
        await engine.drain()
        said = await told(engine)
        assert not UntoldEvents(engine.database).left()
    assert stop_outs(said) == [PAPER_SAID]
    assert len([t for kind, t in said if kind == "trades" and "closed by stop_out" in t]) == 4   # told again there


async def test_a_stop_out_a_crash_kept_from_the_admins_is_told_at_the_next_start(tmp_path, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(UntoldEvents, "told", lambda self, event: None)
        patched.setattr(StopOuts, "tell", lambda self, event: trio.lowlevel.checkpoint())   # killed before it
        async with running(tmp_path, paper=PAPER) as engine:
            await stopped_out(engine)
            assert stop_outs(await told(engine)) == []
    async with running(tmp_path, paper=PAPER) as engine:
        await engine.drain()
        assert stop_outs(await told(engine)) == [PAPER_SAID + AGAIN]


async def test_the_last_stop_out_is_shown_after_a_restart_and_not_told_again(tmp_path):
    # It was kept in memory only: after a restart /health, the overview and /status said no stop-out.
    async with running(tmp_path, paper=PAPER) as engine:
        await stopped_out(engine)
        await told(engine)
        before = Operations(engine).health()["last_stop_out"]
    async with running(tmp_path, paper=PAPER) as engine:
        await engine.drain()
        after = Operations(engine).health()["last_stop_out"]
        said = await told(engine)
    assert before["tickets"] == [1002, 1001] and after == before
    assert stop_outs(said) == [PAPER_SAID]


async def test_a_stop_out_told_again_after_a_crash_is_the_last_one_after_the_restart(tmp_path, monkeypatch):
    with monkeypatch.context() as patched:
        patched.setattr(UntoldEvents, "told", lambda self, event: None)   # killed before each was taken out
        async with running(tmp_path, paper=PAPER) as engine:
            await stopped_out(engine)
            before = Operations(engine).health()["last_stop_out"]
    async with running(tmp_path, paper=PAPER) as engine:
        await engine.drain()
        assert Operations(engine).health()["last_stop_out"] == before


# Keeps each on_close's reason and ticket, as a plugin counting its stop-outs would.
ON_CLOSE = """
function on_close(e)
  local seen = store.get("closed") or {}
  seen[#seen + 1] = e.reason .. " " .. e.ticket
  store.set("closed", seen)
end"""


async def test_a_paper_stop_outs_closes_reach_on_close_with_the_reason_stop_out(tmp_path):
    async with running(tmp_path, {"rec": ON_CLOSE}, paper=PAPER) as engine:
        await stopped_out(engine)   # drained: every close told to the plugins
        assert engine.store.get("rec", "closed") == ["stop_out 1002", "stop_out 1001"]


async def test_a_metatrader_stop_outs_closes_reach_on_close_with_the_reason_stop_out(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, {"rec": ON_CLOSE}, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        await process(engine, "buy EURUSD volume=0.3")
        (position,) = terminal.positions()
        terminal.stop_out(position["ticket"])
        await process(engine, "buy EURUSD volume=0.01")   # its order's poll reads the deal; drained
        assert engine.store.get("rec", "closed") == [f"stop_out {position['ticket']}"]
