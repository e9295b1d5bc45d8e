"""The engine on MetaTrader 5 (the stand-in terminal): a close whose answer was lost, judged not executed (its
position open whole) just before the engine died, run again by recovery at the next start, which sends it again
under its tag. The far side of the bridge executed the first send just then, and a poll told its deal; the second
is refused by the terminal (10036: the position is closed). The position closes once, and the alert, its order in
the ledger and what the API shows of the alert say it closed, not refused."""

from __future__ import annotations

import os
import signal
import sqlite3

from engine.adapters.brokers.mt5.send import Sender
from engine.app import Operations

from support.engine_support import process, running, submit
from support.mt5_standin import Terminal
from support.mt5_support import config as mt5_config
from support.waits import until


def _sends(tmp_path, client_id: str) -> list[str]:
    with sqlite3.connect(tmp_path / "data" / "moonhook.db") as db:
        return [row[0] for row in db.execute("SELECT state FROM mt5_sends WHERE client_id = ?", [client_id])]


async def test_a_close_sent_again_by_recovery_as_its_first_send_executes_shows_done_not_refused(
        tmp_path, monkeypatch):
    terminal = Terminal(tmp_path / "terminal.db")
    on_mt5 = dict(broker="mt5", mt5=mt5_config(tmp_path, path=str(tmp_path / "terminal.db")))
    async with running(tmp_path, **on_mt5) as engine:
        opened = await process(engine, "buy EURUSD volume=0.1 id=open")
        (position,) = terminal.positions()
        terminal.script("order_send", "late")                      # the close's answer never comes
        row = await submit(engine, "closelong EURUSD id=close")
        await until(lambda: terminal.hung("order_send") == 1)
        os.kill(engine.broker.helper_pids()[0], signal.SIGKILL)    # as its deadline would: looked for, open whole
        await engine.drain()
        (order,) = engine.ledger.for_alert(row.id)
        cid = order["client_id"]
        assert order["status"] == "refused" and "not executed" in order["result"]["error"], order
        # as if the engine died after the look judged it, before the request's result and the alert's were written
        engine.database.db.execute("DELETE FROM mt5_results WHERE client_id = ?", [cid])
        engine.journal.set_status(row.id, "received")
    assert opened["status"] == "done" and _sends(tmp_path, cid) == ["refused"]
    standing = Sender._standing

    async def first_send_executed_as_the_second_goes(self, known):
        found = await standing(self, known)
        if found is None and known["client_id"] == cid:           # sent again now
            assert terminal.deliver_late() == [10009]
            await until(lambda: _sends(tmp_path, cid) == ["done"])   # its deal told by a poll meanwhile
        return found
    monkeypatch.setattr(Sender, "_standing", first_send_executed_as_the_second_goes)
    async with running(tmp_path, **on_mt5) as engine:            # recovery runs the close again
        await engine.drain()
        alert = await Operations(engine).alert(row.id)
    (order,) = alert["orders"]
    assert (alert["status"], order["status"]) == ("done", "done"), alert
    assert alert["outcome"]["orders"][0]["ok"] and order["result"]["ok"], alert
    assert terminal.positions() == [] and terminal.sent() == 2 and position["ticket"] in {
        d["position_id"] for d in terminal.deals() if d["entry"] == 1}
