"""Orders a crash left "unknown" in the order ledger that no alert runs again (an
administrator's close, a timer's order): settled at the next start from the broker's own
record of the client id (engine/core/unsettled.py). An alert's order whose answer MetaTrader
lost while the engine runs is settled once the broker knows it (the stand-in terminal,
tests/support/mt5_standin.py, delivers it late), with its alert's outcome."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import trio

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.notify import Notifier
from engine.adapters.storage import AlertJournal, Database, OrderLedger, Outbox, Settled
from engine.domain.alerts import parse_body
from engine.adapters.brokers.mt5.book import LATE_HOLD
from engine.core.events import Events
from engine.core.unsettled import LOOK_EVERY, LOOKS, settle_unknown
from engine.domain.orders import OrderRequest, OrderResult

from support.engine_support import first, process, running, told, write_scripts
from support.mt5_standin import ORDER_STATE_EXPIRED, Terminal
from support.mt5_support import GONE_PAST, config as mt5_config, short, until
from support.paths import SUPPORT
from support.waits import HANG


async def test_an_admin_close_killed_before_the_ledger_had_its_answer_is_settled_at_the_next_start(tmp_path):
    folder = write_scripts(tmp_path / "scripts", {})
    died = subprocess.run([sys.executable, str(SUPPORT / "close_then_die.py"), str(tmp_path / "data"), str(folder)],
                          capture_output=True, text=True, timeout=60)
    assert died.returncode == -signal.SIGKILL, died.stderr
    async with running(tmp_path) as engine:
        assert await engine.broker.positions() == []   # the close was done before the kill
        with trio.fail_after(HANG):
            while (close := engine.ledger.recent()[0])["status"] == "unknown":
                await trio.sleep(0.02)
    assert (close["plugin"], close["kind"], close["alert_id"]) == ("api", "close", None)
    assert close["status"] == "done" and close["result"]["ok"] is True, close


def _sent(ledger: OrderLedger, client_id: str, alert_id: int | None = None, **fields) -> OrderRequest:
    request = OrderRequest("market", client_id, plugin="timer", alert_id=alert_id, symbol="EURUSD", **fields)
    ledger.sending(request)   # the row a crash leaves: written before the broker's call
    return request


async def test_each_order_is_settled_as_the_broker_answered_it_and_one_it_never_had_stays_unknown(tmp_path):
    database = Database(tmp_path / "moonhook.db")
    ledger, broker = OrderLedger(database), PaperBroker(database)
    await broker.quote("EURUSD", 1.1, 0)
    never = _sent(ledger, "t1-timer-1", side="buy", volume=0.1)                 # killed before the send
    filled = _sent(ledger, "t1-timer-2", side="buy", volume=0.1)
    refused = _sent(ledger, "t1-timer-3", side="buy", volume=1000)              # more than the margin
    alerts = _sent(ledger, "a7-timer-1", alert_id=7, side="buy", volume=0.1)    # its alert runs again
    for request in (filled, refused, alerts):
        await broker.execute(request)
    assert ledger.unknown_not_run_again() == [never.client_id, filled.client_id, refused.client_id]

    left = await settle_unknown(database, ledger, broker, Events(time.time), ledger.unknown_not_run_again(), looks=1)
    rows = {r["client_id"]: r for r in ledger.recent()}
    assert left == [never.client_id] and ledger.unknown_not_run_again() == left
    assert rows[filled.client_id]["status"] == "done" and rows[filled.client_id]["result"]["ok"] is True
    assert rows[refused.client_id]["status"] == "refused" and rows[refused.client_id]["result"]["error"]
    assert rows[alerts.client_id]["status"] == "unknown"   # left to recovery, which runs its alert again


async def test_an_expired_alerts_order_left_unknown_is_settled_at_the_next_start(tmp_path):
    # Its expiry asked the broker, which could not tell yet, and the engine stopped before a later
    # look did: no run of an expired alert meets its order again, and no start asked for it.
    async with running(tmp_path) as engine:
        alert_id = (await process(engine, "buy EURUSD volume=0.1 price=1.1"))["id"]
    database = Database(tmp_path / "data" / "moonhook.db")
    with database.transaction() as t:
        t.execute("UPDATE alerts SET status = 'expired' WHERE id = ?", [alert_id])
        t.execute("UPDATE orders SET status = 'unknown', result = NULL WHERE alert_id = ?", [alert_id])
    database.close()
    async with running(tmp_path) as engine:
        with trio.fail_after(HANG):
            while (order := engine.ledger.for_alert(alert_id)[0])["status"] == "unknown":
                await trio.sleep(0.02)
    assert order["status"] == "done" and order["result"]["ok"] is True, order


def test_a_lost_order_is_looked_for_as_long_as_metatrader_holds_it_in_doubt():
    # MetaTrader holds a lost entry's place for an hour (it may arrive so late); the Settler
    # looked for 10 minutes, so one arriving later was open at the broker and "unknown" in the
    # ledger, its alert failed, until the next start.
    assert LOOKS * LOOK_EVERY >= LATE_HOLD


def test_an_alerts_order_is_settled_only_with_its_alerts_outcome_written(tmp_path):
    # Settled while its alert still ran, the order's record in the outcome the run writes next
    # would say "not known" again, with nothing left to correct it: the row waits for the outcome.
    database = Database(tmp_path / "moonhook.db")
    journal, ledger = AlertJournal(database), OrderLedger(database)
    alert_id = journal.record(parse_body("buy EURUSD volume=0.1")).id
    lost = _sent(ledger, f"a{alert_id}-engine-open", alert_id=alert_id, side="buy", volume=0.1)
    record = {"client_id": lost.client_id, "plugin": "timer", "kind": "market", "symbol": "EURUSD",
              "error": "not known", "unknown": True, "ok": False}
    filled = OrderResult(ok=True, ticket=50000001, price=1.1, volume=0.1)
    assert ledger.settled(lost.client_id, filled) is False and ledger.for_alert(alert_id)[0]["status"] == "unknown"
    journal.set_status(alert_id, "failed", {"plugins": [], "orders": [record]})
    finished_at = journal.get(alert_id)["updated_at"]
    said = ledger.settled(lost.client_id, filled)
    assert said == Settled("timer", alert_id, lost.to_plain(), "done")
    assert ledger.settled(lost.client_id, filled) is True   # settled already: nothing more written
    alert = journal.get(alert_id)
    assert (alert["status"], alert["updated_at"], ledger.for_alert(alert_id)[0]["status"]) == ("done", finished_at,
                                                                                              "done")
    assert alert["outcome"]["orders"] == [{"client_id": lost.client_id, "plugin": "timer", "kind": "market",
                                           "symbol": "EURUSD", "ok": True, "ticket": 50000001, "price": 1.1,
                                           "volume": 0.1}]


def _settled(engine, alert_id: int) -> bool:
    return engine.ledger.for_alert(alert_id)[0]["status"] != "unknown"


async def _dropped(engine) -> list[str]:
    """The trades chat's notices of pending orders gone, once one's expiry is told."""
    with trio.fail_after(HANG):
        while not [text for _, text in await told(engine) if "expired" in text]:
            await trio.sleep(0.02)
    return [text for _, text in await told(engine) if text.startswith("pending order")]


async def test_an_alerts_entry_whose_answer_was_lost_is_done_with_its_alert_once_its_deal_comes(tmp_path):
    # The entry's answer was lost and MetaTrader showed no trace of it in time: its alert failed,
    # "not known". Then it arrived, and its deal settled the send at the broker; but only orders of
    # no alert went to the Settler, so the ledger, the alert's outcome and status (the dashboard,
    # /api/alerts/<id>, the overview's failed alerts) said so until the next start.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        terminal.script("order_send", "crash_late")
        lost = await process(engine, "buy EURUSD volume=0.1")
        assert lost["status"] == "failed" and lost["outcome"]["orders"][0]["unknown"] is True, lost
        assert terminal.deliver_late() == [10009]                       # it arrives after all
        await until(lambda: _settled(engine, lost["id"]))
        (position,) = terminal.positions()
        (row,) = engine.ledger.for_alert(lost["id"])
        assert row["status"] == "done" and row["result"]["ticket"] == position["ticket"], row
        alert = engine.journal.get(lost["id"])
        (order,) = alert["outcome"]["orders"]
        assert alert["status"] == "done" and engine.journal.counts_since(0)["failed"] == 0, alert
        assert (order["ok"], order["ticket"], order["side"], "unknown" in order) == (True, position["ticket"],
                                                                                   "buy", False), order
        said = [text for _, text in await told(engine) if text.startswith(("opened", "order not known"))]
        assert len(said) == 2 and said[1] == "opened buy 0.1 EURUSD @ 1.0801 (market, engine)", said
        assert terminal.sent() == 1


async def test_an_alerts_entry_settled_after_its_alert_failed_is_told_live_with_the_alerts_status_now(tmp_path):
    # Its row and its alert's were settled without a word: the dashboard, open on the alert, showed
    # it failed and its order not known until a reload.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        terminal.script("order_send", "crash_late")
        lost = await process(engine, "buy EURUSD volume=0.1")
        assert lost["status"] == "failed", lost
        with engine.events.subscribe() as sub:
            assert terminal.deliver_late() == [10009]                   # it arrives after all
            settled = await first(sub, "order.settled")
        (position,) = terminal.positions()
        assert engine.journal.get(lost["id"])["status"] == "done"
    cid = lost["outcome"]["orders"][0]["client_id"]
    assert {k: v for k, v in settled.items() if k not in ("seq", "at")} == {
        "kind": "order.settled", "alert_id": lost["id"], "alert_status": "done", "client_id": cid, "plugin": "engine",
        "order": "market", "symbol": "EURUSD", "side": "buy", "volume": 0.1, "status": "done",
        "ticket": position["ticket"], "price": 1.0801, "reason": None}


async def test_an_alerts_pending_entry_placed_late_is_settled_as_placed_and_its_expiry_told_once(tmp_path):
    # The pending entry's answer was lost, and it was placed late: no deal came to settle its send,
    # so the poll that listed it resting left it "lost" at the broker, "unknown" in the ledger and
    # the alert, and held its place in doubt; its expiry, unfilled, was told and settled nothing.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        terminal.script("order_send", "crash_late")
        lost = await process(engine, "buylimit EURUSD volume=0.1 price=1.07")
        assert lost["status"] == "failed" and lost["outcome"]["orders"][0]["unknown"] is True, lost
        assert terminal.deliver_late() == [10008]                       # placed after all
        (placed,) = terminal.orders()
        await until(lambda: _settled(engine, lost["id"]))
        (row,) = engine.ledger.for_alert(lost["id"])
        assert row["status"] == "done" and row["result"]["ticket"] == placed["ticket"], row
        alert = engine.journal.get(lost["id"])
        assert alert["status"] == "done" and alert["outcome"]["orders"][0]["ticket"] == placed["ticket"], alert
        assert engine.broker.book.in_doubt() == []                      # no longer held as maybe arriving
        terminal.end_order(placed["ticket"], ORDER_STATE_EXPIRED)
        dropped = await _dropped(engine)
        assert len(dropped) == 1 and f"{placed['ticket']} buy limit 0.1 EURUSD @ 1.07 expired" in dropped[0], dropped
        assert engine.ledger.for_alert(lost["id"])[0]["status"] == "done" and terminal.sent() == 1


async def test_a_pending_entry_placed_late_that_expired_before_a_poll_listed_it_is_settled_and_told(tmp_path):
    # Placed late and gone (expired) before any poll listed it resting: only its known tickets were
    # looked up, so its send stayed "lost" (held in doubt for the hour), the ledger and the alert
    # "not known", and its expiry was never told.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        terminal.script("order_send", "crash_late")
        lost = await process(engine, "buylimit EURUSD volume=0.1 price=1.07")
        terminal.failing("orders_get")                                  # no poll lists it meanwhile
        assert terminal.deliver_late() == [10008]                       # placed after all
        (placed,) = terminal.orders()
        terminal.end_order(placed["ticket"], ORDER_STATE_EXPIRED)
        terminal.failing("orders_get", False)
        await until(lambda: _settled(engine, lost["id"]))
        (row,) = engine.ledger.for_alert(lost["id"])
        assert row["status"] == "done" and row["result"]["ticket"] == placed["ticket"], row
        assert engine.journal.get(lost["id"])["status"] == "done" and engine.broker.book.in_doubt() == []
        dropped = await _dropped(engine)
        assert len(dropped) == 1 and f"{placed['ticket']} buy limit 0.1 EURUSD @ 1.07 expired" in dropped[0], dropped


async def test_the_trades_chat_is_told_once_how_an_order_it_was_told_not_known_ended_but_not_a_fill(tmp_path):
    # "not known" in the trades chat, then the broker tells: a refusal and a pending order placed are told
    # there (in the ledger's own transaction, so a crash tells them once); a market order filled is told by
    # its fill, not twice.
    database = Database(tmp_path / "moonhook.db")
    ledger, broker, notifier = OrderLedger(database), PaperBroker(database), Notifier(Outbox(database))
    notifier.attach(lambda: None)   # a courier delivers the outbox (Telegram is on)
    await broker.quote("EURUSD", 1.1, 0)
    filled = _sent(ledger, "t1-timer-1", side="buy", volume=0.1)
    refused = _sent(ledger, "t1-timer-2", side="buy", volume=1000)                 # more than the maximum
    placed = OrderRequest("pending", "t1-timer-3", plugin="timer", symbol="EURUSD", side="buy", type="limit",
                          volume=0.1, price=1.05)
    ledger.sending(placed)
    results = [await broker.execute(request) for request in (filled, refused, placed)]
    ids = [filled.client_id, refused.client_id, placed.client_id]
    for _ in range(2):   # looked at again: settled already, nothing more said
        assert await settle_unknown(database, ledger, broker, Events(time.time), ids, notifier=notifier,
                                    looks=1) == []
    said = {row["key"]: row["text"] for row in notifier.outbox.pending()}
    assert set(said) == {f"settled:{refused.client_id}:refused", f"settled:{placed.client_id}:done"}, said
    assert said[f"settled:{refused.client_id}:refused"].startswith(
        "order refused at the broker after all (its answer was lost: told not known): market EURUSD for timer: ")
    assert said[f"settled:{placed.client_id}:done"] == (
        "order placed after all (its answer was lost: told not known): pending buy limit 0.1 EURUSD @ 1.05 for "
        f"timer, ticket {results[2].ticket}")


async def test_a_close_by_symbol_part_lost_that_arrives_later_while_another_stays_refused_shows_what_it_closed(
        tmp_path):
    # The first position's close judged not executed (its answer lost, the position open whole), the second's
    # refused by the server; then the first executed late. The alert's order kept "nothing closed", the first's
    # "still open" in its refusal, though its close was told; the trader is told no refusal again.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        for n in (1, 2):
            assert (await process(engine, f"buy EURUSD volume=0.1 id=open-{n}"))["status"] == "done"
        first, second = [p["ticket"] for p in terminal.positions()]
        terminal.script("order_send", "late", "reject")
        rows = []

        async def close() -> None:
            rows.append(await process(engine, "close EURUSD id=close"))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(close)
            await until(lambda: terminal.hung("order_send") == 1)
            (worker,) = engine.broker.helper_pids()
            os.kill(worker, signal.SIGKILL)   # its answer lost: looked for, its position open whole
        (row,) = rows
        (refused,) = engine.ledger.for_alert(row["id"])
        assert (refused["status"], refused["result"].get("closed") or []) == ("refused", []), refused
        assert terminal.deliver_late() == [10009]                       # the first close arrives after all
        await until(lambda: engine.ledger.for_alert(row["id"])[0]["result"].get("closed") == [first])
        (order,) = engine.ledger.for_alert(row["id"])
        assert order["status"] == "refused" and "10006" in order["result"]["error"], order
        assert f"position {first}" not in order["result"]["error"], order
        alert = engine.journal.get(row["id"])
        assert alert["status"] == "failed" and alert["outcome"]["orders"][0]["closed"] == [first], alert
        said = [text for _, text in await told(engine)]
        assert not [t for t in said if "after all" in t], said
        assert len([t for t in said if "closed by close" in t]) == 1, said
        assert [p["ticket"] for p in terminal.positions()] == [second] and terminal.sent() == 3


async def test_a_close_by_symbol_with_a_part_not_known_is_not_told_done_until_that_part_is_found(tmp_path):
    # The first position closed, the second's close lost with the terminal gone: the request is not known.
    # The broker answered it done (the first part's close) at the first look, and the ledger and the alert
    # said done while a position's close was not known.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path, **short(GONE_PAST))) as engine:
        for n in (1, 2):
            assert (await process(engine, f"buy EURUSD volume=0.1 id=open-{n}"))["status"] == "done"
        first, second = [p["ticket"] for p in terminal.positions()]
        terminal.script("order_send", "normal", "late")
        rows = []

        async def close() -> None:
            rows.append(await process(engine, "close EURUSD id=close"))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(close)
            await until(lambda: terminal.hung("order_send") == 1)
            terminal.disconnect()
            (worker,) = engine.broker.helper_pids()
            os.kill(worker, signal.SIGKILL)   # its answer lost, the terminal gone: not known
        (row,) = rows
        (order,) = engine.ledger.for_alert(row["id"])
        known = await engine.broker.first_result(order["client_id"])
        assert (known.ok, known.unknown, known.closed) == (False, True, [first]), known
        assert f"position {second}" in known.error, known
        assert engine.ledger.for_alert(row["id"])[0]["status"] == "unknown"
        assert terminal.deliver_late() == [10009]                       # the second close arrives after all
        terminal.reconnect()
        await until(lambda: engine.ledger.for_alert(row["id"])[0]["status"] != "unknown")
        (order,) = engine.ledger.for_alert(row["id"])
        assert order["status"] == "done" and order["result"]["closed"] == [first, second], order
        alert = engine.journal.get(row["id"])
        assert alert["status"] == "done" and alert["outcome"]["orders"][0]["closed"] == [first, second], alert
        assert terminal.positions() == [] and terminal.sent() == 4      # two entries, two closes: none again
