"""An alert's close whose answer MetaTrader lost, its deal not in the history yet ("not known"), settled once
the terminal shows its end (engine/adapters/brokers/mt5/late.py): the order ledger, the alert's outcome and
status follow, and the trades chat that said "not known" is told how it ended, once, a restart included."""

from __future__ import annotations

from support.engine_support import process, running, told
from support.mt5_standin import Terminal
from support.mt5_support import config as mt5_config, until


def _status(engine, alert_id: int) -> str:
    return engine.ledger.for_alert(alert_id)[0]["status"]


async def _after_all(engine) -> list[str]:
    return [text for _, text in await told(engine) if "after all" in text or text.startswith("order not known")]


async def test_an_alerts_lost_close_of_part_the_trade_server_rejected_later_is_refused_and_told_once(tmp_path):
    # Only a repeat of the close looked for it again: the ledger, the alert and the trades chat said "not known"
    # for good, though the trade server had rejected it a second later.
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        assert (await process(engine, "buy EURUSD volume=0.2"))["status"] == "done"
        terminal.script("order_send", "crash_late")
        lost = await process(engine, "closelong EURUSD volume=0.1")
        assert lost["status"] == "failed" and lost["outcome"]["orders"][0]["unknown"] is True, lost
        (order,) = terminal.reject_late()
        await until(lambda: _status(engine, lost["id"]) != "unknown")
        (row,) = engine.ledger.for_alert(lost["id"])
        assert row["status"] == "refused" and f"(order {order}," in row["result"]["error"], row
        alert = engine.journal.get(lost["id"])
        (outcome,) = alert["outcome"]["orders"]
        assert (alert["status"], outcome["ok"], "unknown" in outcome) == ("failed", False, False), alert
        said = await _after_all(engine)
        assert len(said) == 2 and said[0].startswith("order not known: close EURUSD for engine"), said
        assert said[1].startswith("order refused at the broker after all (its answer was lost: told not known): "
                                  "close EURUSD for engine: not executed"), said
    assert [p["volume"] for p in terminal.positions()] == [0.2] and terminal.sent() == 1


async def test_an_alerts_lost_close_rejected_while_moonhook_was_stopped_is_settled_at_the_next_start_once(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        assert (await process(engine, "buy EURUSD volume=0.2"))["status"] == "done"
        terminal.script("order_send", "crash_late")
        lost = await process(engine, "closelong EURUSD volume=0.1")
        assert lost["outcome"]["orders"][0]["unknown"] is True, lost
    terminal.reject_late()
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        await until(lambda: _status(engine, lost["id"]) != "unknown")
        assert _status(engine, lost["id"]) == "refused" and engine.journal.get(lost["id"])["status"] == "failed"
        assert len([t for t in await _after_all(engine) if "after all" in t]) == 1
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:   # once more: told no more
        assert len([t for t in await _after_all(engine) if "after all" in t]) == 1
    assert terminal.sent() == 1
