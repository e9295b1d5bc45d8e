"""An administrator's close on MetaTrader 5 whose outcome is not known: sent, then the terminal
gone before it answered. It may have closed the position; the admin is told so, never "not
closed", which would send them to close it again by hand (tests/support/mt5_standin.py)."""

from __future__ import annotations

from dataclasses import replace

import pytest
import trio

from engine.app import Operations
from engine.interfaces.telegram.commands import Commands

from support.botapi import html_plain
from support.engine_support import process, running, told
from support.mt5_standin import Terminal
from support.mt5_support import short
from support.telegram_support import ADMIN, Chat, Clock, ask
from support.waits import HANG
from support.web_support import AUTH, serving
from test_mt5_engine import mt5_config, until


def _lost_at_the_next_send(terminal: Terminal) -> int:
    """The next order executes and its worker dies before answering; MetaTrader is then gone (at the
    next initialize, the broker's first try to link again). How many initialize calls came before."""
    terminal.script("order_send", "crash_after_send")
    terminal.script("initialize", "ipc_down")
    return terminal.calls("initialize")


async def _gone(terminal: Terminal, before: int) -> None:
    """Returns once MetaTrader is gone (the scripted initialize came): reconnected sooner, on a busy
    machine, the terminal would go at that later initialize, and never come back."""
    await until(lambda: terminal.calls("initialize") > before, 20)


async def _closes_told(engine, symbol: str) -> list[str]:
    """The trades chat's news of ``symbol``'s positions closed, once there is one."""
    with trio.fail_after(HANG):
        while not (closes := [text for kind, text in await told(engine) if kind == "trades"
                              and f"{symbol} closed" in text]):
            await trio.sleep(0.05)
    return closes


async def test_a_close_whose_answer_is_lost_is_told_as_not_known_in_telegram_and_the_api(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=replace(mt5_config(tmp_path), **short(3.0))) as engine:
        for body in ("buy EURUSD volume=0.1 sl=1.07", "buy GBPUSD volume=0.1 sl=1.2"):
            assert (await process(engine, body))["status"] == "done"
        clock = Clock()
        commands, chat = Commands(Operations(engine), [ADMIN], clock=clock), Chat(clock)
        question = await ask(commands, chat.say("/close EURUSD"))
        before = _lost_at_the_next_send(terminal)
        said = html_plain((await ask(commands, chat.press(question))).text)
        assert [p["symbol"] for p in terminal.positions()] == ["GBPUSD"]   # it did close
        assert "NOT closed" not in said and "MAYBE closed, not known yet" in said, said
        assert "It may have reached the broker" in said, said

        await _gone(terminal, before)
        terminal.reconnect()
        assert len(await _closes_told(engine, "EURUSD")) == 1   # found at the broker once it is back
        await until(lambda: engine.broker.connected)
        (gbp,) = await engine.broker.positions()
        async with serving(engine) as client:
            _lost_at_the_next_send(terminal)
            answer = await client.post(f"/api/positions/{gbp['ticket']}/close", headers=AUTH)
        assert terminal.positions() == []
        assert answer.status_code == 202, (answer.status_code, answer.text)
        assert answer.json()["unknown"] is True and answer.json()["ok"] is False, answer.json()


async def _ledger_row(engine, client_id: str, status: str) -> dict:
    """The order ledger's row of ``client_id`` once it has ``status``."""
    with trio.fail_after(HANG):
        while (row := next(r for r in engine.ledger.recent() if r["client_id"] == client_id))["status"] != status:
            await trio.sleep(0.05)
    return row


async def _admin_close_lost(engine, terminal: Terminal) -> dict:
    """An entry made, then an administrator's close of it whose answer is lost: its ledger row,
    unknown, of no alert."""
    assert (await process(engine, "buy EURUSD volume=0.1 sl=1.07"))["status"] == "done"
    (position,) = await engine.broker.positions()
    before = _lost_at_the_next_send(terminal)
    ((_, result),) = await Operations(engine).close_positions([position["ticket"]], plugin="api", origin="test",
                                                               comment="by the admin")
    assert result.unknown, result
    await _gone(terminal, before)
    (row,) = [r for r in engine.ledger.recent() if r["plugin"] == "api"]
    assert row["status"] == "unknown" and row["alert_id"] is None
    return row


@pytest.mark.parametrize("back", ["before", "after"])
async def test_a_close_whose_answer_a_crash_lost_is_settled_in_the_ledger_at_the_next_start(tmp_path, back):
    # No alert runs it again: its ledger row, unknown, is settled by asking the broker at start-up,
    # once MetaTrader is back (before the start, or after it: then once it has reconciled).
    terminal = Terminal(tmp_path / "terminal.db")
    config = replace(mt5_config(tmp_path), **short(3.0))
    async with running(tmp_path, broker="mt5", mt5=config) as engine:
        row = await _admin_close_lost(engine, terminal)
    assert terminal.positions() == []
    if back == "before":
        terminal.reconnect()
    async with running(tmp_path, broker="mt5", mt5=config) as engine:
        if back == "after":
            assert not engine.broker.connected
            terminal.reconnect()
        settled = await _ledger_row(engine, row["client_id"], "done")
    assert settled["result"]["ok"] is True


async def test_a_close_whose_answer_was_lost_is_settled_in_the_ledger_while_the_engine_runs(tmp_path):
    # No alert runs it again, and the engine is not restarted: once MetaTrader is back and tells
    # what the send did, its ledger row is settled, not left unknown until the next start.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=replace(mt5_config(tmp_path), **short(3.0))) as engine:
        row = await _admin_close_lost(engine, terminal)
        terminal.reconnect()
        settled = await _ledger_row(engine, row["client_id"], "done")
    assert settled["result"]["ok"] is True and terminal.positions() == []
