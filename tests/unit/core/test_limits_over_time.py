"""The account's hard limits over time (engine/core/limits.py, order_caps.py): what counts
toward a limit is the same while the engine runs as after a restart, whatever the broker
answered; money paid in or out mid-day moves neither the day's loss nor its base; a refusal
says when an entry may go, a limit lowered meanwhile too. A real engine, its sandbox workers
and SQLite files, on the paper broker or on the MT5 broker with its stand-in terminal
(tests/support/mt5_standin.py)."""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import datetime, timezone

import trio

from engine.domain.times import day_start, when

from support.engine_support import CHAIN, process, running, told
from support.mt5_standin import Terminal
from support.mt5_support import config as mt5_config, until
from support.waits import HANG


async def test_an_entry_whose_answer_was_lost_counts_toward_the_hours_entries(tmp_path):
    # MetaTrader gave no answer and showed no trace of the entry within resolve_seconds: it may
    # have been made, and the bridge delivers it late. The ledger counts it at a start; live, it
    # was not counted, and the next entry went past max_entries_per_hour = 1.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_entries_per_hour=1) as engine:
        terminal.script("order_send", "crash_late")
        lost = await process(engine, "buy EURUSD volume=0.1")
        assert lost["outcome"]["orders"][0]["unknown"] is True, lost["outcome"]
        assert terminal.deliver_late() == [10009]                       # it arrives after all
        second = await process(engine, "buy GBPUSD volume=0.1 id=second")
        assert second["outcome"]["orders"][0]["error"].startswith(
            "over engine.max_entries_per_hour: 1 entries in the last hour, at most 1; the next may go at "), second
        assert [p["symbol"] for p in await engine.broker.positions()] == ["EURUSD"]


async def test_an_entry_whose_answer_was_lost_holds_its_open_place_until_its_deal_settles_it(tmp_path):
    # max_open_positions = 1, and the entry's answer was lost: not counted while not known, a
    # second entry took the place, then the first arrived late: two positions open. Its deal,
    # found by the poll, did not settle it either: it stayed "not known" with its position open.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_open_positions=1) as engine:
        terminal.script("order_send", "crash_late")
        lost = await process(engine, "buy EURUSD volume=0.1")
        assert lost["outcome"]["orders"][0]["unknown"] is True, lost["outcome"]
        second = await process(engine, "buy GBPUSD volume=0.1 id=second")
        assert second["outcome"]["orders"][0]["error"] == (
            "over engine.max_open_positions: 0 positions and pending orders are open, and 1 entry whose answer "
            "was lost may still arrive (buy 0.1 EURUSD), at most 1"), second
        assert terminal.deliver_late() == [10009]                       # it arrives after all
        await until(lambda: engine.broker.book.executed("a1-engine-open"))   # its deal settles it
        assert (await engine.broker.first_result("a1-engine-open")).ticket == terminal.positions()[0]["ticket"]
        third = await process(engine, "buy GBPUSD volume=0.1 id=third")
        assert third["outcome"]["orders"][0]["error"] == (
            "over engine.max_open_positions: 1 positions and pending orders are open, at most 1"), third
        assert [p["symbol"] for p in terminal.positions()] == ["EURUSD"] and terminal.sent() == 1
        with trio.fail_after(HANG):   # the late fill's notice comes through the broker's events
            while not (opened := [text for kind, text in await told(engine) if text.startswith("opened")]):
                await trio.sleep(0.01)
        assert opened == ["opened buy 0.1 EURUSD @ 1.0801 (market, engine)"]


async def test_an_entry_lost_and_run_again_after_a_restart_is_looked_for_not_refused_by_its_own_count(tmp_path):
    # max_entries_per_hour = 1: the entry's answer was lost, and the engine died before its alert's
    # status was written. Run again at the restart, it met its own entry in the hour's count and was
    # refused ("over engine.max_entries_per_hour"), for good in the ledger; then it arrived. Let
    # through, it was counted and told a second time.
    terminal = Terminal(tmp_path / "terminal.db")
    on_mt5 = dict(broker="mt5", mt5=mt5_config(tmp_path), max_entries_per_hour=1)
    async with running(tmp_path, **on_mt5) as engine:
        terminal.script("order_send", "crash_late")
        row = await process(engine, "buy EURUSD volume=0.1")
        assert row["outcome"]["orders"][0]["unknown"] is True, row["outcome"]
        engine.journal.set_status(row["id"], "received")   # as if the engine died before the status
    async with running(tmp_path, **on_mt5) as engine:
        await engine.drain()
        (again,) = engine.journal.get(row["id"])["outcome"]["orders"]
        assert again["unknown"] is True and again["error"].startswith("not known: the answer was lost"), again
        assert engine.ledger.for_alert(row["id"])[0]["status"] == "unknown"
        assert terminal.deliver_late() == [10009] and terminal.sent() == 1   # it arrives after all, once
        # Counted once, told once: its repeat counted it again, and the next entry met "2 entries".
        engine.limits.follow(replace(engine.config, max_entries_per_hour=2))   # as a save applies it
        assert (await process(engine, "buy GBPUSD volume=0.1 id=next"))["status"] == "done"
        assert len([text for _, text in await told(engine) if text.startswith("order not known")]) == 1


async def chained(engine, alert: str) -> list[str]:
    """The plugins of the positions open once ``alert``'s fill set the chain going and it stopped."""
    await process(engine, alert)
    with trio.fail_after(HANG):
        while engine.store.get("chain", "stopped") is None:
            await trio.sleep(0.01)
    engine.store.set("chain", "stopped", None)
    return sorted(p["plugin"] for p in await engine.broker.positions())


async def test_a_plugins_entries_of_the_minute_are_counted_across_a_restart(tmp_path):
    # A script looping on its own fills met its cap of 3, then the engine restarted (a crash, a
    # service restart): the count began again, and 3 more entries went in the same minute.
    now = time.time()
    caps = dict(clock=lambda: now, max_plugin_entries_per_minute=3)
    async with running(tmp_path, {"chain": CHAIN}, **caps) as engine:
        assert await chained(engine, "buy EURUSD volume=0.1 price=1.1 id=a") == ["chain"] * 3 + ["engine"]
        engine.database.db.execute("UPDATE orders SET created_at = ? WHERE plugin = 'chain'", [now - 30])
    async with running(tmp_path, {"chain": CHAIN}, **caps) as engine:   # 30 s later: the same minute
        assert await chained(engine, "buy EURUSD volume=0.1 price=1.1 id=b") == ["chain"] * 3 + ["engine"] * 2
        engine.database.db.execute("UPDATE orders SET created_at = ? WHERE plugin = 'chain'", [now - 61])
    async with running(tmp_path, {"chain": CHAIN}, **caps) as engine:   # the minute has gone by
        assert await chained(engine, "buy EURUSD volume=0.1 price=1.1 id=c") == ["chain"] * 6 + ["engine"] * 3


async def test_money_paid_in_or_out_mid_day_moves_neither_the_days_loss_nor_the_balance_it_began_with(tmp_path):
    # A day begun with 10,000.00 lost 150.00 (1.5%). A withdrawal of 5,000.00 made it "3% of the
    # 5,000.00 it began with": refused, in words that were not so. A deposit of 10,000.00 made a
    # loss of 250.00 (2.5%) "1.25% of the 20,000.00": entries went on past the limit.
    terminal = Terminal(tmp_path / "terminal.db")
    now = time.time() + 2 * 86_400     # days after the account was funded
    terminal.set_time(now)
    on_mt5 = dict(broker="mt5", mt5=mt5_config(tmp_path, server_clock="UTC"), clock=lambda: now)
    async with running(tmp_path, max_daily_loss_pct=2.0, **on_mt5) as engine:
        assert (await process(engine, "buy EURUSD volume=1"))["status"] == "done"        # at the ask 1.0801
        terminal.set_price("EURUSD", 1.0786, 1.0787)
        assert (await process(engine, "close EURUSD"))["status"] == "done"               # 150.00 lost
        terminal.deposit(-5_000, "Withdrawal")
        assert (await process(engine, "buy GBPUSD volume=0.1 id=after-withdrawal"))["status"] == "done"
        terminal.deposit(10_000)
        terminal.set_price("GBPUSD", 1.25015, 1.2503)                                  # 100.00 more, open
        refused = await process(engine, "buy GBPUSD volume=0.1 id=after-deposit")
        assert refused["outcome"]["orders"][0]["error"] == (
            "over engine.max_daily_loss_pct: the trading day's loss is USD 250.00, 2.5% of the 10,000.00 it began "
            "with, at most 2%; entries are refused until " + when(day_start(now, engine.limits.day) + 86_400))


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc).timestamp()


async def test_the_hours_refusal_says_when_an_entry_may_go_after_the_limit_was_lowered_under_the_count(tmp_path):
    # Three entries at 10:00, 10:10 and 10:20, then moonhook.toml saved with a limit of 1: the
    # refusal said "the next may go at 11:00", and an entry sent then was refused again.
    now = [at("2026-12-04 10:00")]
    async with running(tmp_path, clock=lambda: now[0], max_entries_per_hour=3) as engine:
        for n in range(3):
            assert (await process(engine, f"buy EURUSD volume=0.1 price=1.1 id=e{n}"))["status"] == "done"
            now[0] += 600
        engine.limits.follow(replace(engine.config, max_entries_per_hour=1))   # as a save applies it
        refused = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=lowered")
        assert refused["outcome"]["orders"][0]["error"] == (
            "over engine.max_entries_per_hour: 3 entries in the last hour, at most 1; the next may go at "
            "2026-12-04 11:20:00 UTC")
        now[0] = at("2026-12-04 11:20:01")
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1 id=then"))["status"] == "done"


async def test_the_hours_entries_at_a_new_account_are_its_own(tmp_path):
    """An entry tested on paper, then broker = "mt5" and a start: the paper entry counted toward the
    MetaTrader account's max_entries_per_hour, and its first entry was refused. The new account's
    hour counts its own entries, across its restarts too."""
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, max_entries_per_hour=1) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1 id=paper"))["status"] == "done"
    on_mt5 = dict(broker="mt5", mt5=mt5_config(tmp_path), max_entries_per_hour=1)
    async with running(tmp_path, **on_mt5) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 id=live-1")
        assert first["outcome"]["orders"][0]["ok"], first["outcome"]["orders"][0]["error"]
    async with running(tmp_path, **on_mt5) as engine:   # restarted: the live entry counts, the paper one not
        second = await process(engine, "buy GBPUSD volume=0.1 id=live-2")
        assert second["outcome"]["orders"][0]["error"].startswith(
            "over engine.max_entries_per_hour: 1 entries in the last hour, at most 1"), second["outcome"]
    assert len(terminal.positions()) == 1


async def test_the_hours_entries_at_the_account_the_terminal_was_logged_in_to_are_its_own(tmp_path):
    """No `[mt5] login`: an entry on the demo account, then the terminal logged in to the live one by hand
    (another terminal here), moonhook.toml the same. The demo's entry counted toward the live account's
    max_entries_per_hour, and its first entry was refused."""
    Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo")
    live = Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_entries_per_hour=1) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 id=demo"))["outcome"]["orders"][0]["ok"]
    at_live = dict(broker="mt5", mt5=mt5_config(tmp_path, path=str(tmp_path / "live.db")), max_entries_per_hour=1)
    async with running(tmp_path, **at_live) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 id=live")
        assert first["outcome"]["orders"][0]["ok"], first["outcome"]["orders"][0]["error"]
    assert len(live.positions()) == 1


async def test_a_start_that_could_not_reach_the_terminal_leaves_the_journals_account_known(tmp_path):
    """As above, with a start between whose terminal could not be reached (the account not said): the
    journal kept "mt5" for the demo's account, and the live account's first entry was refused for the demo's."""
    Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo")
    live = Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_entries_per_hour=1) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 id=demo"))["outcome"]["orders"][0]["ok"]
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path, path=str(tmp_path / "none.db"))) as engine:
        assert not engine.broker.connected
    at_live = dict(broker="mt5", mt5=mt5_config(tmp_path, path=str(tmp_path / "live.db")), max_entries_per_hour=1)
    async with running(tmp_path, **at_live) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 id=live")
        assert first["outcome"]["orders"][0]["ok"], first["outcome"]["orders"][0]["error"]
    assert len(live.positions()) == 1


async def test_a_login_written_into_moonhook_toml_is_not_another_account(tmp_path):
    """The terminal's own login traded, then `[mt5] login` set to it: the same account, whose hour
    still counts the entry made before."""
    Terminal(tmp_path / "terminal.db", login=111)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_entries_per_hour=1) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 id=first"))["outcome"]["orders"][0]["ok"]
    named = dict(broker="mt5", mt5=mt5_config(tmp_path, login=111), max_entries_per_hour=1)
    async with running(tmp_path, **named) as engine:
        second = await process(engine, "buy GBPUSD volume=0.1 id=second")
        assert second["outcome"]["orders"][0]["error"].startswith(
            "over engine.max_entries_per_hour: 1 entries in the last hour, at most 1"), second["outcome"]
