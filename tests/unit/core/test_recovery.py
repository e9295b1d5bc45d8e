"""Exactly once across crashes: unfinished alerts are processed again, and the broker's
client ids keep any order from being sent twice."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from dataclasses import replace

import pytest
import trio

from engine.domain.alerts import SymbolMap, parse_body
from engine.core.run import event_key
from engine.core.writer import JournalError
from engine.domain.orders import Fill
from engine.adapters.storage import AlertJournal, Database
from engine.adapters.storage.untold import UntoldEvents

from support.engine_support import CHAIN, process, running, told, write_scripts
from support.mt5_standin import Terminal
from support.mt5_support import config as mt5_config
from support.paths import SUPPORT
from support.waits import HANG

DRILL = SUPPORT / "engine_drill.py"
# A commit that fails for real: a deferred foreign key that no row satisfies, checked at COMMIT.
FAILING_COMMIT = """
CREATE TABLE test_parent (id INTEGER PRIMARY KEY);
CREATE TABLE test_child (parent INTEGER REFERENCES test_parent (id) DEFERRABLE INITIALLY DEFERRED);
CREATE TRIGGER test_fail_commit AFTER INSERT ON alerts WHEN NEW.symbol = 'GBPUSD'
BEGIN INSERT INTO test_child VALUES (999); END;
"""
TWO_ORDERS = """
function on_alert(a)
  -- a plugin order of its own besides the default execution's
  orders.market{symbol = a.symbol, side = 'sell', volume = 0.02}
end
function on_order(o) end
"""


async def test_an_alert_journaled_but_not_processed_is_processed_at_start(tmp_path):
    db = Database(tmp_path / "data" / "moonhook.db")
    alert_id = AlertJournal(db).record(parse_body("buy EURUSD volume=0.1 price=1.1")).id
    db.close()
    async with running(tmp_path) as engine:
        await engine.drain()
        row = engine.journal.get(alert_id)
        positions = await engine.broker.positions()
    assert row["status"] == "done"
    assert [(p["symbol"], p["volume"]) for p in positions] == [("EURUSD", 0.1)]


async def test_replaying_an_executed_alert_sends_no_order_twice(tmp_path):
    scripts = {"two": TWO_ORDERS}
    async with running(tmp_path, scripts) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        # As if the engine died after the orders went out but before the status was written.
        engine.journal.set_status(row["id"], "received")
    async with running(tmp_path, scripts) as engine:
        await engine.drain()
        again = engine.journal.get(row["id"])
        positions = await engine.broker.positions()
    assert again["status"] == "done"
    assert sorted(p["volume"] for p in positions) == [0.02, 0.1]
    assert [o.get("duplicate") for o in again["outcome"]["orders"]] == [True, True]
    assert [o["ticket"] for o in again["outcome"]["orders"]] == [o["ticket"] for o in row["outcome"]["orders"]]


async def test_a_close_processed_again_after_a_crash_still_shows_what_it_closed(tmp_path):
    """Its positions are gone when it runs again, closed by it the first time: the journal keeps
    the close (answered as a repeat), not 'no open position to close'."""
    async with running(tmp_path) as engine:
        opened = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        row = await process(engine, "close EURUSD price=1.1")
        engine.journal.set_status(row["id"], "received")   # as if it died before its status was written
    async with running(tmp_path) as engine:
        await engine.drain()
        again = engine.journal.get(row["id"])
    (close,) = again["outcome"]["orders"]
    assert again["status"] == "done" and "note" not in again["outcome"], again
    assert close["duplicate"] and close["closed"] == [opened["outcome"]["orders"][0]["ticket"]], close


def test_kill_9_in_a_burst_then_restart_processes_every_acknowledged_alert_once(tmp_path):
    data, scripts = tmp_path / "data", write_scripts(tmp_path / "scripts", {"two": TWO_ORDERS})
    command = [sys.executable, str(DRILL), str(data), str(scripts)]
    proc = subprocess.Popen(command + ["200"], stdout=subprocess.PIPE, text=True)
    acked = []
    try:
        assert proc.stdout.readline().strip() == "ready"
        while len(acked) < 60:
            line = proc.stdout.readline()
            assert line.startswith("ack "), line
            acked.append(int(line.split()[1]))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    db = sqlite3.connect(data / "moonhook.db")
    unfinished_at_kill = db.execute("SELECT count(*) FROM alerts WHERE status = 'received'").fetchone()[0]
    db.close()

    out = subprocess.run(command + ["0"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    db = sqlite3.connect(data / "moonhook.db")
    statuses = dict(db.execute("SELECT id, status FROM alerts").fetchall())
    entries = db.execute("SELECT alert_id, plugin, count(*) FROM paper_deals WHERE entry = 'in' "
                         "GROUP BY alert_id, plugin").fetchall()
    db.close()
    assert unfinished_at_kill > 0, "the kill should land while alerts are still in flight"
    assert set(acked) <= set(statuses)
    assert all(s == "done" for s in statuses.values()), statuses
    # Exactly one default entry and one plugin entry per journaled alert, never two.
    assert all(n == 1 for _, _, n in entries)
    assert sorted((a, p) for a, p, _ in entries) == sorted(
        [(a, "engine") for a in statuses] + [(a, "two") for a in statuses])


async def test_an_alert_whose_journal_write_fails_has_no_effect_and_the_journal_goes_on(tmp_path):
    # Plugins run while the entry commits; the order waits for the commit, which fails here.
    db = Database(tmp_path / "data" / "moonhook.db")
    db.db.conn.executescript(FAILING_COMMIT)
    db.close()
    async with running(tmp_path, {"two": TWO_ORDERS}) as engine:
        with pytest.raises(JournalError) as e:
            await engine.submit(parse_body("buy GBPUSD volume=0.1 price=1.25", engine.symbols))
        assert isinstance(e.value.__cause__, sqlite3.IntegrityError)
        await engine.drain()
        assert engine.journal.recent() == []  # nothing half-written
        assert await engine.broker.positions() == [] and engine.ledger.recent() == []
        ok = await process(engine, "buy EURUSD volume=0.1 price=1.1")  # the journal is not held
        assert ok["status"] == "done"
        assert len(await engine.broker.positions()) == 2


# Opens a position when the symbol has none, else closes it: a decision the state changes.
TOGGLE = """
function on_alert(a)
  local open = positions.list(a.symbol)
  local r
  if #open == 0 then
    r = orders.market{symbol = a.symbol, side = 'buy', volume = 0.1}
  else
    r = orders.close{ticket = open[1].ticket}
  end
  store.set('answer', r.ok and 'ok' or r.error)
  return {handled = true}
end
"""


async def test_a_plugin_deciding_otherwise_after_a_crash_is_told_its_first_order_stands(tmp_path):
    async with running(tmp_path, {"toggle": TOGGLE}) as engine:
        row = await process(engine, "buy EURUSD price=1.1")
        assert engine.store.get("toggle", "answer") == "ok"
        engine.journal.set_status(row["id"], "received")  # as if the engine died before the status
    async with running(tmp_path, {"toggle": TOGGLE}) as engine:
        await engine.drain()
        # Processed again, the plugin sees its own position and closes it under the same client
        # id: the broker's record is the open, which stands; the plugin is not told "ok".
        answer = engine.store.get("toggle", "answer")
        assert answer == (f"not sent: a{row['id']}-toggle-1 was a market buy EURUSD before a restart, and is a "
                          "close EURUSD ticket 1001 now (the plugin decided otherwise the second time); the first order "
                          "stands"), answer
        assert len(await engine.broker.positions("EURUSD")) == 1
        (order,) = engine.ledger.for_alert(row["id"])
        assert (order["kind"], order["status"]) == ("market", "done")  # the ledger keeps the first


def _fill_then_die(tmp_path, body: str, scripts: dict[str, str] | None = None, per_hour: int | None = None,
                   mt5: bool = False, told: bool = False) -> None:
    folder = write_scripts(tmp_path / "scripts", scripts or {})
    args = [sys.executable, str(SUPPORT / "fill_then_die.py"), str(tmp_path / "data"), str(folder), body]
    args += ([str(per_hour)] if per_hour else []) + (["mt5"] if mt5 else []) + (["told"] if told else [])
    died = subprocess.run(args, capture_output=True, text=True, timeout=60)
    assert died.returncode == -signal.SIGKILL, died.stderr


async def test_an_entry_filled_just_before_a_crash_counts_toward_the_hours_entries(tmp_path):
    # Killed after the fill, before the ledger had the answer: the restart's count of the hour
    # read no entry, and the alert run again met a duplicate, which counts for nothing.
    _fill_then_die(tmp_path, "buy EURUSD volume=0.01 price=1.1", per_hour=2)
    async with running(tmp_path, max_entries_per_hour=2) as engine:
        await engine.drain()
        assert engine.journal.recent(1)[0]["status"] == "done"
        assert (await process(engine, "buy GBPUSD volume=0.01 price=1.3"))["status"] == "done"
        third = await process(engine, "buy USDJPY volume=0.01 price=150")
        assert third["outcome"]["orders"][0]["error"].startswith("over engine.max_entries_per_hour: 2 entries")
        assert sorted(p["symbol"] for p in await engine.broker.positions()) == ["EURUSD", "GBPUSD"]


async def test_a_plugin_deciding_otherwise_after_a_crash_at_the_fill_is_told_its_first_order_stands(tmp_path):
    # As the test above it, with the crash before the ledger had the first order at all.
    _fill_then_die(tmp_path, "buy EURUSD price=1.1", {"toggle": TOGGLE})
    async with running(tmp_path, {"toggle": TOGGLE}) as engine:
        await engine.drain()
        (alert,) = engine.journal.recent(1)
        assert engine.store.get("toggle", "answer") == (
            f"not sent: a{alert['id']}-toggle-1 was a market buy EURUSD before a restart, and is a close EURUSD "
            "ticket 1001 now (the plugin decided otherwise the second time); the first order stands")
        assert len(await engine.broker.positions("EURUSD")) == 1
        (order,) = engine.ledger.for_alert(alert["id"])
        assert (order["kind"], order["status"]) == ("market", "done")


# Remembers each fill it is told of, as breakeven.lua and daily_loss_limit.lua do.
FILLS = """
function on_fill(f) store.set('fill:' .. f.deal, f.again and 'again' or 'once') end
"""


@pytest.mark.parametrize("broker", ["paper", "mt5"])
async def test_a_fill_made_just_before_a_crash_is_told_at_the_next_start(tmp_path, broker):
    # Killed after the fill, before the engine told it: the chat never said the position opened,
    # and the plugins' on_fill never saw it (a day's loss uncounted, a stop never managed).
    _fill_then_die(tmp_path, "buy EURUSD volume=0.01 price=1.1", {"fills": FILLS}, mt5=broker == "mt5")
    settings = {"broker": "mt5", "mt5": mt5_config(tmp_path)} if broker == "mt5" else {}
    async with running(tmp_path, {"fills": FILLS}, **settings) as engine:
        await engine.drain()
        with trio.fail_after(HANG):  # bounds a hang
            while not (seen := engine.store.keys("fills", "fill:")):
                await trio.sleep(0.01)
        said = [text for kind, text in await told(engine) if kind == "trades"]
        assert [engine.store.get("fills", key) for key in seen] == ["again"]  # never seen before the kill
    assert [text.split(" @ ")[0] for text in said] == ["opened buy 0.01 EURUSD"]
    assert said[0].endswith("(market, engine) (told at this start: the engine stopped before it was told, "
                            "or while it was)")
    async with running(tmp_path, {"fills": FILLS}, **settings) as engine:  # told once: not again at the next start
        await engine.drain()
        assert [text for kind, text in await told(engine) if kind == "trades"] == said


@pytest.mark.parametrize("broker", ["paper", "mt5"])
async def test_a_fill_told_just_before_a_crash_is_in_the_trades_chat(tmp_path, broker):
    """Killed the moment the engine had told a fill and taken it out of the untold ones: its
    message was still on the notifier's queue, not in the outbox, and the chat never said the
    position opened (nothing was left to tell at the next start)."""
    _fill_then_die(tmp_path, "buy EURUSD volume=0.01 price=1.1", mt5=broker == "mt5", told=True)
    settings = {"broker": "mt5", "mt5": mt5_config(tmp_path)} if broker == "mt5" else {}
    async with running(tmp_path, **settings) as engine:
        await engine.drain()
        said = [text for kind, text in await told(engine) if kind == "trades"]
    assert [text.split(" @ ")[0] for text in said] == ["opened buy 0.01 EURUSD"]
    assert said[0].endswith("(market, engine)"), said  # told once, before the kill


async def test_an_older_moonhooks_alert_with_its_timenow_as_text_is_recovered_as_that_version_read_it(tmp_path):
    """A moonhook from before timenow was read kept TradingView's {{timenow}} as sent, its text;
    recovered after an upgrade, that text reached the expiry's comparison of times and the alert
    failed as an internal error. It is processed as the version that took it read it."""
    db = Database(tmp_path / "data" / "moonhook.db")
    journal = AlertJournal(db)
    alert_id = journal.record(parse_body("buy EURUSD volume=0.1 price=1.1")).id
    plain = journal.get(alert_id)["alert"]
    with db.lock:
        db.db.execute("UPDATE alerts SET alert = ? WHERE id = ?",
                      [json.dumps({**plain, "timenow": "2026-11-24T10:00:00Z"}), alert_id])
        db.db.commit()
    db.close()
    async with running(tmp_path) as engine:
        await engine.drain()
        row = engine.journal.get(alert_id)
        positions = await engine.broker.positions()
    assert row["status"] == "done", row["outcome"]
    assert [(p["symbol"], p["volume"]) for p in positions] == [("EURUSD", 0.1)]


# Hedges each entry of the default execution from its fill, and says what the hedge's order answered.
HEDGE = """
function on_fill(f)
  if f.entry ~= "in" or f.plugin ~= "engine" then return end
  local r = orders.market{symbol = f.symbol, side = f.side == "buy" and "sell" or "buy", volume = f.volume}
  store.set(f.again and "again" or "once", r.duplicate and "found" or (r.ok and "sent" or r.error))
end
"""


async def test_a_fill_told_again_after_a_crash_finds_the_order_its_hook_placed_instead_of_sending_it_twice(
        tmp_path, monkeypatch):
    # The engine dies after on_fill placed the hedge and before the fill's event was taken out of
    # the untold ones: told again at the next start, on_fill hedged a second time (two sells for one buy).
    with monkeypatch.context() as patched:
        patched.setattr(UntoldEvents, "told", lambda self, event: None)   # as if it died before each was taken out
        async with running(tmp_path, {"hedge": HEDGE}) as engine:
            await process(engine, "buy EURUSD volume=0.1 price=1.1")
            with trio.fail_after(HANG):  # bounds a hang
                while engine.store.get("hedge", "once") is None:
                    await trio.sleep(0.01)
    async with running(tmp_path, {"hedge": HEDGE}) as engine:
        with trio.fail_after(HANG):
            while engine.store.get("hedge", "again") is None:
                await trio.sleep(0.01)
        assert (engine.store.get("hedge", "once"), engine.store.get("hedge", "again")) == ("sent", "found")
        assert sorted(p["side"] for p in await engine.broker.positions()) == ["buy", "sell"]


def test_the_two_fills_of_a_netting_reversal_name_their_hooks_orders_apart():
    # One deal told as two fills (mt5/rows.relived): named after the deal alone, an order the
    # "in" fill's hook placed would have been answered as the "out" fill's, and never sent.
    out = Fill(7001, 7001, 1001, "EURUSD", "sell", 0.1, 1.1, "out", "pending", 0.0)
    assert event_key(out) != event_key(replace(out, entry="in", position=7001))


def test_a_broker_events_orders_are_named_alike_when_told_again_and_apart_from_another_event_of_its_number():
    # Told again after a crash (its row in untold_events, read back marked again), an event names
    # its hooks' orders as the first time; another server's deal, or a new paper account's, of the
    # same number names them apart, or its orders would be answered as the first's and never sent.
    fill = Fill(7001, 7001, 1001, "EURUSD", "sell", 0.1, 1.1, "out", "pending", 1_764_950_400.25)
    again = Fill(**{**json.loads(json.dumps(fill.to_plain())), "again": True})
    assert event_key(again) == event_key(fill)
    assert event_key(replace(fill, time=fill.time + 86_400)) != event_key(fill)


async def test_an_alert_cut_short_on_paper_is_not_traded_at_the_first_start_on_metatrader(tmp_path):
    """Killed once paper had filled its order, the alert unfinished; the trader then sets
    broker = "mt5" and starts. Run again there, the alert bought on the MetaTrader account,
    whose broker does not know its client id: a paper test traded with real money. It is
    skipped, saying why and what paper did."""
    _fill_then_die(tmp_path, "buy EURUSD volume=0.01 price=1.1")
    terminal = Terminal(tmp_path / "terminal.db", login=12345678)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        await engine.drain()
        (alert,) = engine.journal.recent(1)
        said = [text for kind, text in await told(engine) if kind == "admin"]
    assert terminal.sent() == 0 and terminal.positions() == []
    assert alert["status"] == "skipped", alert
    assert alert["outcome"]["reason"].startswith(
        "nothing more executed: journaled while moonhook traded on paper, and this start trades on mt5 "
        "12345678@Standin-Demo; sent before: a1-engine-open: unknown"), alert["outcome"]
    assert (f"1 alerts left by the last run on paper were not executed on mt5 12345678@Standin-Demo: "
            f"{alert['id']}") in said, said


async def test_a_paper_fill_left_untold_reaches_no_plugin_at_the_first_start_on_metatrader(tmp_path):
    """The same kill, under a script that enters from each of its own fills: the paper fill, told at
    the MetaTrader start, reached its on_fill, which bought on the MetaTrader account. It is told
    to the trades chat as paper's, and no plugin hears of it."""
    _fill_then_die(tmp_path, "buy EURUSD volume=0.01 price=1.1", {"chain": CHAIN})
    terminal = Terminal(tmp_path / "terminal.db", login=12345678)
    async with running(tmp_path, {"chain": CHAIN}, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        await engine.drain()
        with trio.fail_after(HANG):  # bounds a hang: the fill is forgotten once told, to the plugins too
            while UntoldEvents(engine.database).left():
                await trio.sleep(0.01)
        said = [text for kind, text in await told(engine) if kind == "trades"]
    assert terminal.sent() == 0 and terminal.positions() == []
    (fill,) = said
    assert fill.startswith("opened buy 0.01 EURUSD @ 1.1 (market, engine) (told at this start"), said
    assert fill.endswith(", at paper: not told to the plugins at mt5 12345678@Standin-Demo"), said


async def test_an_alert_cut_short_on_the_demo_is_not_traded_at_the_live_account_the_terminal_was_logged_in_to(tmp_path):
    """No `[mt5] login`: moonhook trades the terminal's own account. Killed once the demo had filled the
    alert's order, the alert unfinished; the trader then logs the terminal in to the live account (another
    terminal here) and starts. Run again there, the alert bought at the live account, whose terminal does
    not know its client id: moonhook.toml is the same, the account is not. It is skipped, saying why."""
    Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo")
    _fill_then_die(tmp_path, "buy EURUSD volume=0.01", mt5=True)
    live = Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path, path=str(tmp_path / "live.db"))) as engine:
        await engine.drain()
        (alert,) = engine.journal.recent(1)
    assert live.sent() == 0 and live.positions() == []
    assert alert["status"] == "skipped", alert
    assert alert["outcome"]["reason"].startswith(
        "nothing more executed: journaled while moonhook traded on mt5 111@Standin-Demo, and this start trades on "
        "mt5 222@Standin-Live; sent before: a1-engine-open: "), alert["outcome"]


async def test_an_alert_recovered_after_a_save_of_symbol_map_trades_the_symbol_it_was_answered_for(tmp_path):
    """The journal keeps the alert as mapped when it was answered: a symbol_map saved (or edited) before
    the restart does not send its recovered order to another instrument."""
    db = Database(tmp_path / "data" / "moonhook.db")   # answered, then killed before it ran
    recorded = AlertJournal(db).record(parse_body("buy FX1 volume=0.1 price=1.1", SymbolMap({"FX1": "EURUSD"})))
    db.close()
    async with running(tmp_path, symbol_map={"FX1": "GBPUSD"}) as engine:
        await engine.drain()
        row = engine.journal.get(recorded.id)
        positions = await engine.broker.positions()
    assert row["status"] == "done", row
    assert [p["symbol"] for p in positions] == ["EURUSD"]
