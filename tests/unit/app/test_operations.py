"""The operations facade: every interface's view written once. The plugin rows of /api/plugins,
/metrics and Telegram's /plugins are one list; the status says what the broker cannot answer;
a close goes through every plugin's on_order and the ledger, paused or not."""

from __future__ import annotations

import pytest

from engine.adapters.brokers.paper import PaperBroker
from engine.app import Operations
from engine.app.operations import NotLoaded
from engine.interfaces.telegram.commands import Commands

from support.engine_support import process, running
from support.telegram_support import ADMIN, Chat, Clock, ask
from support.web_support import AUTH, serving

GOOD = "plugin = {symbols = {'EURUSD'}}\nfunction on_alert(a) end"
BROKEN = "plugin = {priority = 'high'}\nfunction on_alert(a) end"
VETO_GBP = "function on_order(o) if o.kind == 'close' and o.symbol == 'GBPUSD' then return false, 'no pound' end end"


def _stable(row: dict) -> dict:
    return {k: v for k, v in row.items() if k != "memory_bytes"}  # the heap moves between reads


async def test_one_plugin_row_for_the_api_metrics_and_telegram(tmp_path):
    async with running(tmp_path, {"good": GOOD, "broken": BROKEN}) as engine:
        ops = Operations(engine)
        rows = ops.plugin_rows()
        assert [(r["name"], r["file"], r["state"]) for r in rows] == [("good", "good.lua", "active"),
                                                                    ("broken", "broken.lua", "failed")]
        assert "plugin.priority" in rows[1]["last_error"]
        async with serving(engine) as client:
            listing = (await client.get("/api/plugins", headers=AUTH)).json()
            metrics = (await client.get("/metrics", headers=AUTH)).text
        assert [_stable(r) for r in listing["plugins"]] == [_stable(r) for r in rows]
        assert listing["load_errors"] == ops.load_errors() == {"broken.lua": rows[1]["last_error"]}
        assert 'moonhook_plugins{state="active"} 1.0' in metrics
        assert 'moonhook_plugins{state="failed"} 1.0' in metrics
        clock = Clock()
        text = (await ask(Commands(ops, [ADMIN], clock=clock), Chat(clock).say("/plugins"))).text
        assert "good" in text and "on" in text and "broken" in text and "fail" in text


class _AccountDown(PaperBroker):
    async def account(self):
        raise ConnectionError("terminal gone")


async def test_switching_a_file_that_does_not_load_raises_not_loaded_and_an_unknown_name_key_error(tmp_path):
    # The web API and Telegram each looked through the rows for a failed file of that name: one test, here.
    async with running(tmp_path, {"good": GOOD, "broken": BROKEN}) as engine:
        ops = Operations(engine)
        for enabled in (True, False):
            with pytest.raises(NotLoaded):
                ops.set_enabled("broken", enabled)
        with pytest.raises(KeyError) as unknown:
            ops.set_enabled("nobody", True)
        assert not isinstance(unknown.value, NotLoaded)
        assert ops.set_enabled("good", False)["enabled"] is False


async def test_status_says_what_the_broker_cannot_answer(tmp_path):
    async with running(tmp_path, {"good": GOOD}, max_open_positions=3) as engine:
        status = await Operations(engine).status()
        assert status["status"] == "ok" and status["account"]["balance"] > 0 and status["positions"] == []
        assert status["limits"] == {"max_order_volume": None, "max_open_positions": 3, "max_price_gap_pct": None,
                                    "max_daily_loss_pct": None, "min_equity": None, "max_risk_pct": None,
                                    "max_entries_per_hour": None, "max_spread_pips": None, "max_spread_wait": None,
                                    "trading_day": "UTC"}
        assert status["alerts_in_progress"] == 0 and status["pause"] == {"paused": False, "held": 0, "held_ids": ""}
        engine.broker.__class__ = _AccountDown
        status = await Operations(engine).status()
        assert status["account"] == {"error": "unavailable (ConnectionError)"} and status["positions"] == []


async def test_close_goes_through_on_order_and_the_ledger_even_while_paused(tmp_path):
    async with running(tmp_path, {"veto": VETO_GBP}) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await process(engine, "buy GBPUSD volume=0.1 price=1.3")
        ops = Operations(engine)
        assert ops.pause(by="test") and not ops.pause(by="test")  # the first pause stands
        tickets = {p["symbol"]: p["ticket"] for p in await ops.positions()}
        done = dict(await ops.close_positions([tickets["EURUSD"], tickets["GBPUSD"], 999], plugin="ops",
                                              origin="ops:close", comment="test close"))
        assert done[tickets["EURUSD"]].ok and done[999] is None
        assert not done[tickets["GBPUSD"]].ok and "vetoed by veto: no pound" in done[tickets["GBPUSD"]].error
        assert [p["symbol"] for p in await ops.positions()] == ["GBPUSD"]
        kinds = {(o["plugin"], o["request"]["symbol"], o["status"]) for o in (await ops.orders(10))["recent"]}
        assert {("ops", "EURUSD", "done"), ("ops", "GBPUSD", "vetoed")} <= kinds
