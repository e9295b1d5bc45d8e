"""An account change that shows only once moonhook runs (engine/core/account_change.py): the terminal
down at the start and up later at another account, or logged in to another by hand while moonhook
runs. What was journaled for the old account is not traded at the new one, and its hour is its own."""

from __future__ import annotations

from pathlib import Path

import trio
import trio.testing

from engine.core.run import Run

from support.engine_support import process, running, submit, told
from support.mt5_standin import Terminal
from support.mt5_support import config as mt5_config, log_in_by_hand, until
from support.waits import HANG

DEMO, LIVE = "mt5 111@Standin-Demo", "mt5 222@Standin-Live"
CHANGED = f"not executed: journaled while moonhook traded on {DEMO}, and moonhook trades on {LIVE} now"


def _terminal(tmp_path) -> Terminal:
    """The terminal moonhook is set to (terminal.db), logged in to the demo account; the live account's
    state (live.db) for a login by hand (``log_in_by_hand``), after which the terminal reads as that account."""
    Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    return Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo")


def _shut_down(terminal: Terminal) -> None:
    """The terminal's file gone: it cannot be reached until logged in again."""
    for suffix in ("", "-wal", "-shm"):
        Path(terminal.path + suffix).unlink(missing_ok=True)


def _on_mt5(tmp_path, **settings) -> dict:
    return dict(broker="mt5", mt5=mt5_config(tmp_path), max_alert_age=0, **settings)  # no age limit: runs however late


async def _held_on_the_demo(tmp_path) -> int:
    """A run on the demo account that pauses and holds a buy; its id."""
    async with running(tmp_path, **_on_mt5(tmp_path)) as engine:
        engine.pause()
        held = await submit(engine, "buy EURUSD volume=0.1 sl=1.0 id=held")
        await engine.drain()
        assert engine.journal.get(held.id)["status"] == "paused"
    return held.id


async def test_an_alert_held_on_the_demo_is_not_bought_at_the_live_account_the_terminal_comes_up_on(tmp_path):
    """The terminal is down at the start (nothing said of its account), then comes up logged in to the live
    account: a resume with the missed alerts bought the demo's held alert there. It is skipped, and told."""
    terminal = _terminal(tmp_path)
    held = await _held_on_the_demo(tmp_path)
    _shut_down(terminal)
    async with running(tmp_path, **_on_mt5(tmp_path)) as engine:
        assert not engine.broker.connected
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await until(lambda: engine.broker.connected)
        await engine.resume(execute_missed=True)
        await engine.drain()
        row = engine.journal.get(held)
        said = [text for kind, text in await told(engine) if kind == "admin"]
    assert terminal.sent() == 0 and terminal.positions() == []  # the live account
    assert row["status"] == "skipped", row
    assert row["outcome"]["reason"] == CHANGED, row
    assert any(text.startswith(f"the broker trades on {LIVE} now, not {DEMO}") for text in said), said


async def _held_then_logged_in_to_live(engine, tmp_path):
    """Paused on the demo, an alert comes and is held; the terminal is then logged in to the live account by
    hand, and moonhook is connected there. The held alert."""
    engine.pause()
    held = await submit(engine, "buy EURUSD volume=0.1 sl=1.0 id=held")
    await engine.drain()
    log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
    await until(lambda: engine.broker.trading_on == LIVE and engine.broker.connected)
    return held


async def test_an_alert_held_is_not_bought_at_the_account_the_terminal_is_logged_in_to_while_moonhook_runs(tmp_path):
    """Paused on the demo, an alert held; the trader logs the terminal in to the live account by hand and
    resumes with the missed alerts: the connection was made again there, and the demo's alert bought."""
    terminal = _terminal(tmp_path)
    async with running(tmp_path, **_on_mt5(tmp_path)) as engine:
        held = await _held_then_logged_in_to_live(engine, tmp_path)
        await engine.resume(execute_missed=True)
        await engine.drain()
        row = engine.journal.get(held.id)
    assert terminal.sent() == 0 and terminal.positions() == []  # the live account
    assert row["status"] == "skipped", row
    assert row["outcome"]["reason"] == CHANGED, row


async def test_an_alert_waiting_for_the_terminal_is_not_bought_at_the_account_it_comes_back_on(tmp_path):
    """The terminal goes away while on the demo; an alert comes and waits for it; it comes back logged in
    to the live account: the alert, sent for the demo, was bought there. It is skipped, saying why."""
    terminal = _terminal(tmp_path)
    async with running(tmp_path, **_on_mt5(tmp_path)) as engine:
        terminal.disconnect()
        await until(lambda: not engine.broker.connected)
        waiting = await submit(engine, "buy EURUSD volume=0.1 sl=1.0 id=waiting")
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        with trio.fail_after(HANG):  # bounds a hang
            await engine.drain()
        row = engine.journal.get(waiting.id)
    assert terminal.sent() == 0 and terminal.positions() == []  # the live account
    assert row["status"] == "skipped", row
    assert row["outcome"]["reason"].startswith(CHANGED), row


async def test_the_live_accounts_first_entry_is_not_refused_for_the_demos_entries_of_the_hour(tmp_path):
    """max_entries_per_hour = 1, spent on the demo; the terminal is logged in to the live account while
    moonhook runs, and a new alert comes: it was refused for the demo's entry. It is the live account's first."""
    terminal = _terminal(tmp_path)
    async with running(tmp_path, **_on_mt5(tmp_path, max_entries_per_hour=1)) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 sl=1.0 id=demo"))["status"] == "done"
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await until(lambda: engine.broker.trading_on == LIVE and engine.broker.connected)
        row = await process(engine, "buy EURUSD volume=0.1 sl=1.0 id=live")
    assert row["status"] == "done", row
    assert [p["volume"] for p in terminal.positions()] == [0.1]  # the live account


async def test_an_alert_held_is_not_bought_at_the_next_start_after_the_terminal_was_logged_in_to_another_account(
        tmp_path):
    """Paused on the demo, an alert held; the terminal is logged in to the live account by hand, and moonhook
    is stopped before any resume. Started again there (the live account now the journal's), a resume with the
    missed alerts must not buy the demo's alert."""
    terminal = _terminal(tmp_path)
    async with running(tmp_path, **_on_mt5(tmp_path)) as engine:
        held = await _held_then_logged_in_to_live(engine, tmp_path)
    async with running(tmp_path, **_on_mt5(tmp_path)) as engine:
        await engine.resume(execute_missed=True)
        await engine.drain()
        row = engine.journal.get(held.id)
    assert terminal.sent() == 0 and terminal.positions() == []  # the live account
    assert row["status"] == "skipped", row
    assert row["outcome"]["reason"].startswith(f"not executed: journaled while moonhook traded on {DEMO}"), row


async def test_an_alert_that_comes_once_the_terminal_is_up_at_the_live_account_is_traded_there(tmp_path):
    """After a run on the demo, the terminal down at the start comes up at the live account; the server's
    clock is being found there (a wait) when an alert comes: it is the live account's, to be traded
    there, but was taken for one journaled before the change (the connection told only once the clock
    was found) and skipped."""
    terminal = _terminal(tmp_path)
    async with running(tmp_path, **_on_mt5(tmp_path)):
        pass  # the demo kept as the journal's account
    Terminal(tmp_path / "live.db").script("copy_rates_from_pos", "hang")  # the clock being found at the live server
    _shut_down(terminal)
    async with running(tmp_path, **_on_mt5(tmp_path)) as engine:
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await until(lambda: terminal.hung("copy_rates_from_pos") == 1)
        assert engine.broker.trading_on == LIVE
        live = await submit(engine, "buy EURUSD volume=0.1 sl=1.0 id=live")
        await trio.testing.wait_all_tasks_blocked()   # its turn has come: skipped, or waiting for the terminal
        terminal.release("copy_rates_from_pos")
        await engine.drain()
        row = engine.journal.get(live.id)
    assert row["status"] == "done", row
    assert [p["volume"] for p in terminal.positions()] == [0.1]  # the live account


HEDGE = """
plugin = {}
function on_fill(f)
  if f.entry == "in" and f.volume == 0.1 then orders.market{symbol = f.symbol, side = "sell", volume = 0.02} end
end
"""
PLACED_ON_THE_DEMO = f"not sent: placed while moonhook traded on {DEMO}, and moonhook trades on {LIVE} now"


async def test_a_fill_heard_on_the_demo_does_not_place_its_on_fill_order_at_the_live_account(tmp_path):
    """A plugin's on_fill hedges each entry. A buy limit fills on the demo; its fill waits for its turn (the
    hooks busy) while the terminal is logged in to the live account by hand and moonhook connects there: the
    demo's fill placed its hedge at the live account, ungated as the alerts are. Its order is refused, and why."""
    terminal = _terminal(tmp_path)
    async with running(tmp_path, {"hedge": HEDGE}, **_on_mt5(tmp_path)) as engine:
        row = await process(engine, "buylimit EURUSD volume=0.1 price=1.07 sl=1.06 id=limit")
        assert row["status"] == "done", row
        async with engine.hooks.held():   # the hooks busy: the fill waits for its turn
            terminal.set_price("EURUSD", 1.0690, 1.0692)   # the limit fills on the demo
            await until(lambda: engine.deals_told == 1)
            log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
            await until(lambda: engine.broker.trading_on == LIVE and engine.broker.connected)
        await engine.drain()
        said = [text for kind, text in await told(engine) if kind == "trades"]
    assert terminal.sent() == 0 and terminal.positions() == []  # the live account
    assert any(PLACED_ON_THE_DEMO in text for text in said), said


async def test_an_order_of_a_run_begun_on_the_demo_is_not_sent_at_the_live_account(tmp_path):
    """A timer's call (or an administrator's command) begun while moonhook traded on the demo places an order
    once moonhook trades on the live account, logged in to by hand meanwhile: it went there. It is refused."""
    terminal = _terminal(tmp_path)
    async with running(tmp_path, **_on_mt5(tmp_path)) as engine:
        with engine.working(Run(None, "timer")):
            log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
            await until(lambda: engine.broker.trading_on == LIVE and engine.broker.connected)
            request = engine.desk.new_request("market", "timer", symbol="EURUSD", side="buy", volume=0.1)
            result = await engine.desk.place(request, "timer")
    assert not result.ok and result.error == PLACED_ON_THE_DEMO, result
    assert terminal.sent() == 0 and terminal.positions() == []  # the live account
