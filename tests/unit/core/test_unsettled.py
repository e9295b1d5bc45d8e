"""Orders a crash left "unknown" in the order ledger that no alert runs again (an
administrator's close, a timer's order): settled at the next start from the broker's own
record of the client id (engine/core/unsettled.py)."""

from __future__ import annotations

import signal
import subprocess
import sys

import trio

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage import Database, OrderLedger
from engine.core.unsettled import settle_unknown
from engine.domain.orders import OrderRequest

from support.engine_support import running, write_scripts
from support.paths import SUPPORT


async def test_an_admin_close_killed_before_the_ledger_had_its_answer_is_settled_at_the_next_start(tmp_path):
    folder = write_scripts(tmp_path / "scripts", {})
    died = subprocess.run([sys.executable, str(SUPPORT / "close_then_die.py"), str(tmp_path / "data"), str(folder)],
                          capture_output=True, text=True, timeout=60)
    assert died.returncode == -signal.SIGKILL, died.stderr
    async with running(tmp_path) as engine:
        assert await engine.broker.positions() == []   # the close was done before the kill
        with trio.fail_after(20):
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
    assert ledger.unknown_without_alert() == [never.client_id, filled.client_id, refused.client_id]

    left = await settle_unknown(database, ledger, broker, ledger.unknown_without_alert(), looks=1)
    rows = {r["client_id"]: r for r in ledger.recent()}
    assert left == [never.client_id] and ledger.unknown_without_alert() == left
    assert rows[filled.client_id]["status"] == "done" and rows[filled.client_id]["result"]["ok"] is True
    assert rows[refused.client_id]["status"] == "refused" and rows[refused.client_id]["result"]["error"]
    assert rows[alerts.client_id]["status"] == "unknown"   # left to recovery, which runs its alert again
