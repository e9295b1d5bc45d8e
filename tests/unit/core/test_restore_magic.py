"""A plugin whose first order came after the backup has its MetaTrader 5 magic number in no
restored file. Its positions showed as opened outside moonhook (an alert's close left them, its
stops unmanaged) and its next order was given a new number: they stayed foreign for good. The
number is taken back off the comments of its orders, never one another project's or an expert's
(docs/operations.md, engine/adapters/brokers/mt5/magic.py)."""

from __future__ import annotations

import trio

from engine.adapters.brokers.mt5.orders import tag_for
from engine.adapters.storage import backup

from support.engine_support import process, running
from support.mt5_standin import Terminal
from support.mt5_support import config
from support.waits import HANG
from test_restore import restore

TREND = """
function on_alert(a)
  if a.comment == "trend" then
    orders.market{symbol = a.symbol, side = a.side, volume = 0.3}
    return {handled = true}
  end
end"""


def _settings(tmp_path) -> dict:
    return {"broker": "mt5", "mt5": config(tmp_path)}


async def test_after_a_restore_a_plugin_numbered_after_the_backup_keeps_its_positions(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, {"trend": TREND}, **_settings(tmp_path)) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 id=one"))["status"] == "done"
        backup(tmp_path / "data" / "moonhook.db", tmp_path / "monday.db")
        assert (await process(engine, "buy EURUSD volume=0.1 id=two comment=trend"))["status"] == "done"
    (trend,) = [p for p in terminal.positions() if p["volume"] == 0.3]
    restore(tmp_path, tmp_path / "monday.db")
    async with running(tmp_path, {"trend": TREND}, **_settings(tmp_path)) as engine:
        (seen,) = [p for p in await engine.broker.positions() if p["ticket"] == trend["ticket"]]
        assert seen["plugin"] == "trend" and seen["external"] is False, seen
        close = await process(engine, "closelong EURUSD id=three")
        assert terminal.positions() == [], terminal.positions()
        assert trend["ticket"] in close["outcome"]["orders"][0]["closed"], close
        assert (await process(engine, "buy EURUSD volume=0.1 id=four comment=trend"))["status"] == "done"
    assert [p["magic"] for p in terminal.positions()] == [trend["magic"]]   # its number, not a new one


async def test_another_projects_plugin_of_the_same_name_and_an_experts_numbers_are_not_taken(tmp_path):
    """Another moonhook project on the account runs a plugin also named "trend": its orders carry
    the comments this one's would (alerts are numbered alike). Its number names alerts before this
    journal's last, or after this start's first look at the account: never this project's lost one."""
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, {"trend": TREND}, **_settings(tmp_path)) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 id=one"))["status"] == "done"   # alert 1
    before = terminal.open_external("EURUSD", "buy", 0.2, magic=7779001, comment=tag_for("a1-trend-1", 1))
    also = terminal.open_external("EURUSD", "buy", 0.2, magic=7779001, comment=tag_for("a2-trend-1", 2))
    expert = terminal.open_external("EURUSD", "buy", 0.4, magic=4242, comment="my EA")
    async with running(tmp_path, {"trend": TREND}, **_settings(tmp_path)) as engine:
        later = terminal.open_external("EURUSD", "buy", 0.5, magic=7779002, comment=tag_for("a9-trend-1", 9))
        terminal.disconnect()   # found again: the account is read anew, its new number with it
        with trio.fail_after(HANG):
            while engine.broker.connected:
                await trio.sleep(0.02)
        terminal.reconnect()
        with trio.fail_after(HANG):
            while engine.broker.alerts_seen < 9:   # read anew, then its numbers looked at: as that look
                await trio.sleep(0.02)
        await engine.broker.adopt()
        foreign = {p["ticket"] for p in await engine.broker.positions() if p["external"] and p["plugin"] is None}
        assert foreign == {before, also, expert, later}, await engine.broker.positions()
        assert (await process(engine, "closelong EURUSD id=three"))["status"] == "done"
    assert {p["ticket"] for p in terminal.positions()} == {before, also, expert, later}
