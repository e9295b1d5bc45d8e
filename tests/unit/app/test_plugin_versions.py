"""Which version of each script decided: the facade's plugin rows say the version serving and a
save that did not load as such, and an alert's detail names the version of each plugin that
decided it, in words, as the dashboard shows them (the page's walk: e2e/test_walk_dashboard_versions.py)."""

from __future__ import annotations

from engine.app import Operations

from support.engine_support import process, running

GATE = "function on_alert(a) if a.symbol == 'GBPUSD' then return false, 'no pound' end end\n"
RISK = "function on_order(o) end\n"


async def test_a_save_that_did_not_load_is_told_from_a_file_nothing_serves(tmp_path):
    # Both said "failed": the trader could not tell the gate trading on its version before the save
    # from a file nothing serves.
    async with running(tmp_path, {"gate": GATE, "broken": "function on_alert(a)\n"}) as engine:
        ops = Operations(engine)
        before = ops.plugin_rows()[0]["version"]
        path = engine.config.scripts / "gate.lua"
        path.write_text("function on_alert(a)\n", encoding="utf-8")   # no `end`
        await engine.lifecycle.apply([path])
        rows = {row["name"]: row for row in ops.plugin_rows()}
        engine.set_enabled("gate", False)
        off = ops.plugin_rows()[0]
    assert off["state_words"] == "save failed: the version before is off", off   # it serves nothing
    assert (rows["gate"]["state"], rows["gate"]["version"]) == ("failed", before), rows["gate"]
    assert rows["gate"]["state_words"] == "save failed: the version before serves"
    assert (rows["broken"]["version"], rows["broken"]["state_words"]) == (None, "failed: nothing serves")
    assert set(rows["gate"]) == set(rows["broken"])   # one row's keys, served or not


async def test_an_alerts_detail_names_the_version_of_each_plugin_that_decided_it(tmp_path):
    async with running(tmp_path, {"gate": GATE, "risk": RISK}) as engine:
        ops = Operations(engine)
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        old = {row["name"]: row["version"] for row in ops.plugin_rows()}
        path = engine.config.scripts / "gate.lua"
        path.write_text(GATE + "-- reviewed\n", encoding="utf-8")
        await engine.lifecycle.apply([path])
        second = await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09")
        new = {row["name"]: row["version"] for row in ops.plugin_rows()}
        said = [(await ops.alert(alert["id"]))["words"]["versions"] for alert in (first, second)]
    assert new["gate"] != old["gate"] and new["risk"] == old["risk"], (old, new)
    # risk decided through its on_order only: named too
    assert said == [[["gate", old["gate"]], ["risk", old["risk"]]], [["gate", new["gate"]], ["risk", new["risk"]]]]
