"""Shadow mode (issue 22) beside a live engine: real sandbox workers, real SQLite files (the
journal and the shadow's own), the live broker a FakeBroker that records every order it gets."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import trio

from engine.adapters.storage import AlertJournal, Database
from engine.adapters.brokers import PaperBroker
from engine.app.compose import SHADOW_NICE
from engine.core.shadow import Shadow
from engine.domain.config import EngineConfig
from engine.domain.config.shadow import ShadowConfig

from support.engine_support import process, running, write_scripts
from support.fakes import FakeBroker
from support.waits import HANG

NO_STOP = "function on_alert(a) if not a.sl then return false, 'no stop' end end"
PASS = "function on_alert(a) return nil end"
# Places its own order through the service API: bound to the shadow's desk and broker.
OWN = """
function on_alert(a)
  local r = orders.market{symbol = a.symbol, side = a.side, volume = 0.02}
  return {handled = true, comment = 'own ' .. tostring(r.ok)}
end"""


async def shadow_record(engine, alert_id: int) -> dict:
    """The shadow's record of the alert, once its task has run it (bounded: a hang fails)."""
    with trio.fail_after(HANG):
        while (record := engine.shadow.records.get(alert_id)) is None:
            await trio.sleep(0.01)
    return record


def shadow_of(tmp: Path, scripts: dict[str, str]) -> ShadowConfig:
    return ShadowConfig(write_scripts(tmp / "scripts-next", scripts))


async def test_a_shadow_that_passes_what_live_rejects_is_recorded_with_its_differences(tmp_path):
    live = FakeBroker()
    async with running(tmp_path, {"trend": NO_STOP}, use_broker=live,
                       shadow=shadow_of(tmp_path, {"trend": PASS})) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        record = await shadow_record(engine, row["id"])
        shadow_positions = await engine.shadow.broker.positions("EURUSD")
    assert row["status"] == "rejected"
    assert record["status"] == "done" and record["differs"] is True
    assert record["differences"] == ["status: rejected → done", "trend: reject (no stop) → pass",
                                     "order engine market: absent → buy EURUSD 0.1 no stops"]
    assert [o["volume"] for o in record["outcome"]["orders"]] == [0.1]
    assert [p["volume"] for p in shadow_positions] == [0.1]  # on the shadow's own paper broker
    assert live.requests == []                                # the real broker got nothing


async def test_a_shadow_scripts_own_orders_never_reach_the_real_broker(tmp_path):
    live = FakeBroker()
    async with running(tmp_path, {"trend": PASS}, use_broker=live,
                       shadow=shadow_of(tmp_path, {"own": OWN})) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        record = await shadow_record(engine, row["id"])
        host = engine.shadow.trial.host
    assert [(r.plugin, r.volume) for r in live.requests] == [("engine", 0.1)]  # the live order only
    assert [(o["plugin"], o["ok"]) for o in record["outcome"]["orders"]] == [("own", True)]
    assert "order own market: absent → buy EURUSD 0.02 no stops" in record["differences"]
    assert host.market is engine.shadow.broker and host.market is not live
    assert host.desk.broker is engine.shadow.broker


async def test_equal_scripts_do_not_differ(tmp_path):
    async with running(tmp_path, {"trend": NO_STOP}, use_broker=FakeBroker(),
                       shadow=shadow_of(tmp_path, {"trend": NO_STOP})) as engine:
        rejected = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        done = await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09 id=two")
        records = [await shadow_record(engine, r["id"]) for r in (rejected, done)]
        counts = engine.shadow.records.counts()
    assert [(r["status"], r["differs"], r["differences"]) for r in records] == [
        ("rejected", False, []), ("done", False, [])]
    assert counts == {"alerts": 2, "differ": 0, "latest_differing": None, "held": 0}


async def test_a_limit_saved_while_running_holds_the_shadow_as_it_holds_live(tmp_path):
    # moonhook.toml saved with a tighter limit (Lifecycle hands the engine the new config):
    # the shadow, which would otherwise trade past it, differs from live on nothing.
    from dataclasses import replace

    async with running(tmp_path, {"trend": PASS}, shadow=shadow_of(tmp_path, {"trend": PASS})) as engine:
        assert await engine.follow(replace(engine.config, max_order_volume=0.5)) == ["max_order_volume"]
        row = await process(engine, "buy EURUSD volume=1 price=1.1")
        record = await shadow_record(engine, row["id"])
    assert row["status"] == "failed" and record["status"] == "failed" and record["differs"] is False
    assert record["outcome"]["orders"][0]["error"] == "over engine.max_order_volume: 1 lots asked, at most 0.5"


async def test_settings_saved_while_running_hold_the_shadow_as_they_hold_live(tmp_path):
    # The default volume and the symbol map of a save reach the shadow's decisions too; its
    # script naming a future's ticker, refused while unmapped, is loaded once the map names it.
    from dataclasses import replace

    index = 'plugin = {symbols = {"ES1!"}}\nfunction on_alert(a) return {comment = "index"} end'
    async with running(tmp_path, {"index": index}, shadow=shadow_of(tmp_path, {"index": index})) as engine:
        assert engine.plugins.get("index") is None and engine.shadow.plugins.get("index") is None
        saved = replace(engine.config, default_volume=0.2, symbol_map={"ES1!": "SPX500"})
        assert await engine.follow(saved) == ["default_volume", "symbol_map"]
        assert engine.plugins.get("index") is not None and engine.shadow.plugins.get("index") is not None
        row = await process(engine, "buy ES1! price=5000")
        record = await shadow_record(engine, row["id"])
    assert row["symbol"] == "SPX500" and [o["volume"] for o in row["outcome"]["orders"]] == [0.2]
    assert [o["volume"] for o in record["outcome"]["orders"]] == [0.2]
    assert [s["changes"] for s in record["outcome"]["plugins"]] == [{"comment": "index"}] == [
        s["changes"] for s in row["outcome"]["plugins"]]


def same_refusal(record: dict, row: dict) -> bool:
    """The shadow's and live's first order refused alike. When the next entry may go follows each
    broker's own entry time, which a second's turn can put a second apart, so it is left out."""
    said = [r["outcome"]["orders"][0]["error"].partition("; the next may go at ") for r in (record, row)]
    assert said[0][0] == said[1][0] and said[0][1] == said[1][1] != "", said
    return True


async def test_the_shadows_hourly_entries_are_counted_across_a_restart_as_lives_are(tmp_path):
    # Live reads the last hour's entries from its ledger at a start; a shadow that began the hour
    # again would take the entry live refuses, and say the next version differs when it does not.
    async with running(tmp_path, {"trend": PASS}, shadow=shadow_of(tmp_path, {"trend": PASS}),
                       max_entries_per_hour=1) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert (await shadow_record(engine, first["id"]))["status"] == "done"
    async with running(tmp_path, {"trend": PASS}, shadow=shadow_of(tmp_path, {"trend": PASS}),
                       max_entries_per_hour=1) as engine:
        second = await process(engine, "buy GBPUSD volume=0.1 price=1.3")
        record = await shadow_record(engine, second["id"])
    assert second["outcome"]["orders"][0]["error"].startswith("over engine.max_entries_per_hour: 1 entries")
    assert same_refusal(record, second)
    assert record["differs"] is False, record["differences"]


# On an entry's fill, places a second entry: one the alert's outcome does not list.
FOLLOWS = """
function on_fill(f)
  if f.entry == 'in' and f.plugin == 'engine' then
    orders.market{symbol = f.symbol, side = 'buy', volume = 0.01}
  end
end"""


async def test_the_shadows_hourly_entries_made_by_hooks_are_counted_across_a_restart(tmp_path):
    # The count at a start comes from the shadow's broker, which knows every entry it made,
    # not from its alert records, which list only the alerts' own.
    scripts = {"trend": PASS, "follows": FOLLOWS}

    async def both_followed(engine) -> None:
        with trio.fail_after(HANG):
            while len(await engine.broker.positions()) + len(await engine.shadow.broker.positions()) < 4:
                await trio.sleep(0.01)

    async with running(tmp_path, scripts, shadow=shadow_of(tmp_path, scripts), max_entries_per_hour=2) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert (await shadow_record(engine, first["id"]))["status"] == "done"
        await both_followed(engine)
    async with running(tmp_path, scripts, shadow=shadow_of(tmp_path, scripts), max_entries_per_hour=2) as engine:
        second = await process(engine, "buy USDJPY volume=0.1 price=150")
        record = await shadow_record(engine, second["id"])
    assert second["outcome"]["orders"][0]["error"].startswith("over engine.max_entries_per_hour: 2 entries")
    assert same_refusal(record, second)
    assert record["differs"] is False, record["differences"]


async def test_a_shadow_held_back_lets_the_live_path_go_on_then_catches_up_skipping_nothing(tmp_path):
    """A shadow whose turn is held: the live engine decides three alerts all the same; released,
    the shadow runs every one of them from the journal."""
    folder = write_scripts(tmp_path / "scripts-next", {"trend": PASS})
    async with running(tmp_path, {"trend": NO_STOP}, use_broker=FakeBroker()) as engine:
        config = EngineConfig(data=tmp_path / "data", shadow=ShadowConfig(folder))
        database = Database(config.shadow_database, fsync=False)
        turn = trio.Event()

        async def idle() -> None:
            await turn.wait()
            await engine.drain()

        shadow = Shadow(config, engine.pool, PaperBroker(database), database, AlertJournal(engine.database),
                        engine.clock, idle=idle)
        try:
            async with trio.open_nursery() as nursery:
                await nursery.start(shadow.run)
                engine.shadow = shadow
                rows = [await process(engine, f"buy EURUSD volume=0.1 price=1.1 id=n{i}") for i in range(3)]
                behind, ran = shadow.behind, shadow.ran
                turn.set()
                records = [await shadow_record(engine, r["id"]) for r in rows]
                nursery.cancel_scope.cancel()
        finally:
            engine.shadow = None
            database.close()
    assert [r["status"] for r in rows] == ["rejected"] * 3 and (behind, ran) == (3, 0)
    assert [r["status"] for r in records] == ["done"] * 3


async def test_shadow_plugin_errors_trip_the_shadows_own_breaker_never_the_live_one_and_never_notify(tmp_path, caplog):
    broken = "function on_alert(a) error('boom') end"
    async with running(tmp_path, {"trend": PASS}, use_broker=FakeBroker(), breaker=2,
                       shadow=shadow_of(tmp_path, {"trend": broken})) as engine:
        with caplog.at_level(logging.WARNING, logger="moonhook"):
            records = []
            for i in range(4):
                row = await process(engine, f"buy EURUSD volume=0.1 price=1.1 id=e{i}")
                records.append(await shadow_record(engine, row["id"]))
        live = engine.plugins.get("trend")
        shadow = engine.shadow.plugins.get("trend")
        notes = [r["text"] for r in engine.database.db.query("SELECT text FROM outbox")]
    # Two errors, then switched off by the shadow's own breaker, as the next version would be live.
    assert [[s["result"] for s in r["outcome"]["plugins"]] for r in records] == [["error"], ["error"], [], []]
    assert live.enabled and (shadow.enabled, shadow.disabled_by, shadow.stats.errors) == (False, "breaker", 2)
    assert not [n for n in notes if "boom" in n or "breaker" in n]
    told = [r for r in caplog.records if "boom" in r.getMessage()]
    assert [r.getMessage().split(":")[0] for r in told] == ["shadow", "shadow"]  # the failure once, the breaker
    assert "disabled by the breaker" in told[1].getMessage()
    assert all(r.levelno == logging.WARNING for r in told)


async def test_after_a_restart_the_shadow_keeps_its_records_and_runs_what_was_decided_while_it_was_off(tmp_path):
    shadow = shadow_of(tmp_path, {"trend": PASS})
    async with running(tmp_path, {"trend": NO_STOP}, use_broker=FakeBroker(), shadow=shadow) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        recorded = await shadow_record(engine, first["id"])
    async with running(tmp_path, {"trend": NO_STOP}, use_broker=FakeBroker()) as engine:   # shadow mode off
        missed = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=missed")
    async with running(tmp_path, {"trend": NO_STOP}, use_broker=FakeBroker(), shadow=shadow) as engine:
        caught = await shadow_record(engine, missed["id"])
        again = engine.shadow.records.get(first["id"])
        counts, ran = engine.shadow.records.counts(), engine.shadow.ran
    assert again == recorded
    assert caught["status"] == "done" and caught["differs"] is True
    assert counts["alerts"] == 2 and ran == 1  # the first alert was not run again


async def held_count(engine, n: int) -> None:
    """Returns once the shadow holds ``n`` paused alerts (bounded: a hang fails)."""
    with trio.fail_after(HANG):
        while engine.shadow.records.counts()["held"] != n:
            await trio.sleep(0.01)


async def test_alerts_journaled_while_paused_are_held_and_run_once_a_resume_runs_them_live(tmp_path):
    shadow = shadow_of(tmp_path, {"trend": PASS})
    async with running(tmp_path, {"trend": NO_STOP}, use_broker=FakeBroker(), shadow=shadow) as engine:
        engine.pause()
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=p1")
        await held_count(engine, 1)
        await engine.resume(execute_missed=False)   # skipped: never decided live, never run by the shadow
        await held_count(engine, 0)
        after = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=a1")
        after_record = await shadow_record(engine, after["id"])
    async with running(tmp_path, {"trend": NO_STOP}, use_broker=FakeBroker(), shadow=shadow) as engine:
        engine.pause()
        second = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=p2")
        await held_count(engine, 1)   # the second only
        await engine.resume(execute_missed=True)   # runs live now, and then in the shadow
        await engine.drain()
        record = await shadow_record(engine, second["id"])
        counts = engine.shadow.records.counts()
        decided = [engine.journal.get(r["id"])["status"] for r in (first, second)]
        assert engine.shadow.records.get(first["id"]) is None
    assert (first["status"], second["status"], decided) == ("paused", "paused", ["skipped", "rejected"])
    assert after_record["status"] == "done"
    assert (record["status"], record["differences"][:1]) == ("done", ["status: rejected → done"])
    assert (counts["alerts"], counts["held"]) == (2, 0)


async def test_a_shadow_scripts_own_lines_are_logged_as_the_shadows_never_as_the_live_plugins(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    live = "function on_alert(a) log.info('live says') end"
    next_version = "function on_alert(a) log.warn('next says') print('next prints') end"
    async with running(tmp_path, {"trend": live}, use_broker=FakeBroker(),
                       shadow=shadow_of(tmp_path, {"trend": next_version})) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await shadow_record(engine, row["id"])
    said = {(r.name, r.getMessage()) for r in caplog.records if r.name.endswith("plugin.trend")}
    assert said == {("moonhook.plugin.trend", "live says"), ("moonhook.shadow.plugin.trend", "next says"),
                    ("moonhook.shadow.plugin.trend", "next prints")}


async def test_the_shadow_s_worker_yields_the_cores_to_the_live_ones(tmp_path):
    """The shadow's worker runs SHADOW_NICE below the engine, the live workers at its level: on a
    busy machine the live alerts get the cores first (bench notes: the shadow's cost to the live
    answer, x1.18 -> x1.08)."""
    async with running(tmp_path, {"trend": PASS}, shadow=shadow_of(tmp_path, {"trend": PASS})) as engine:
        own = os.getpriority(os.PRIO_PROCESS, 0)
        live = {os.getpriority(os.PRIO_PROCESS, pid) for pid in engine.pool.worker_pids()}
        shadow = {os.getpriority(os.PRIO_PROCESS, pid) for pid in engine.shadow.pool.worker_pids()}
    assert live == {own}
    assert shadow == {min(own + SHADOW_NICE, 19)}


async def test_a_shadow_script_that_does_not_load_or_is_deleted_leaves_the_live_engine_trading(tmp_path):
    # Shadow guards are not kept among the live switches: a broken one never pauses the live engine.
    broken_guard = "plugin = {guard = true}\nfunction on_alert(a)\n"
    async with running(tmp_path, {"trend": PASS}, use_broker=FakeBroker(),
                       shadow=shadow_of(tmp_path, {"limit": broken_guard, "trend": PASS})) as engine:
        assert not engine.paused and "limit.lua" in engine.shadow.lifecycle.errors
        (tmp_path / "scripts-next" / "trend.lua").unlink()
        await engine.shadow.lifecycle.apply([tmp_path / "scripts-next" / "trend.lua"])  # as its watcher says
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1 sl=1.09")
        record = await shadow_record(engine, row["id"])
    assert row["status"] == "done" and record["status"] == "done" and not engine.paused


async def test_a_pending_order_the_shadows_broker_rejects_reaches_the_shadows_on_cancel(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    told = "function on_cancel(o) log.warn('cancel ' .. o.reason .. ' ' .. o.ticket) end"
    async with running(tmp_path, {"trend": PASS}, use_broker=FakeBroker(),
                       shadow=shadow_of(tmp_path, {"trend": PASS, "told": told})) as engine:
        placed = await process(engine, "buylimit EURUSD volume=100 price=1.05 sl=1.04")   # 105,000 of margin
        await shadow_record(engine, placed["id"])
        (order,) = await engine.shadow.broker.orders()
        crossing = await process(engine, "closelong EURUSD price=1.049")
        await shadow_record(engine, crossing["id"])
        with trio.fail_after(HANG):   # the shadow's broker events run in its own task
            while not [r for r in caplog.records if r.name == "moonhook.shadow.plugin.told"]:
                await trio.sleep(0.01)
        assert await engine.shadow.broker.orders() == []
    said = [r.getMessage() for r in caplog.records if r.name.endswith("plugin.told")]
    assert said == [f"cancel rejected {order['ticket']}"]


async def test_a_shadow_plugin_over_its_budget_counts_in_its_errors(tmp_path):
    # A budget overrun counts as a timeout in the plugin's stats; /api/shadow showed errors 0
    # for a plugin the shadow's breaker had switched off for overruns.
    spin = "function on_alert(a) while true do end end"
    async with running(tmp_path, {"trend": PASS}, use_broker=FakeBroker(), breaker=2,
                       shadow=shadow_of(tmp_path, {"trend": spin})) as engine:
        for i in range(2):
            await shadow_record(engine, (await process(engine, f"buy EURUSD volume=0.1 price=1.1 id=s{i}"))["id"])
        (row,) = engine.shadow.plugin_rows()
    assert (row["state"], row["errors"]) == ("disabled", 2), row


async def test_a_plugins_table_of_a_shadow_script_is_not_told_as_naming_no_plugin(tmp_path):
    """The shadow's plugins take the same [plugins.NAME] tables: one for a script of the shadow
    only reaches a plugin; one for neither is told."""
    from engine.app import Operations
    from engine.domain.config import PluginConfig

    tables = {"next": PluginConfig(params={"level": 2}), "ghost": PluginConfig(enabled=False)}
    async with running(tmp_path, {"live": PASS}, plugins=tables,
                       shadow=shadow_of(tmp_path, {"next": "plugin = {params = {level = 1}}\n" + PASS})) as engine:
        with trio.fail_after(HANG):  # bounds a hang: the shadow loads its scripts in its own task
            while engine.shadow.plugins.get("next") is None:
                await trio.sleep(0.01)
        assert Operations(engine).stray_tables() == [
            "[plugins.ghost] names no plugin (loaded: live, next): it applies to none"]


async def test_a_param_only_the_shadows_next_version_declares_is_not_told_as_read_by_none(tmp_path):
    """The shadow tries the next version of a live script, which adds a param: the table's value
    for it reaches the shadow's plugin. Told "never read" (the live version's params alone were
    looked at), the trader would drop it, and the shadow would decide on its default instead."""
    from engine.app import Operations
    from engine.domain.config import PluginConfig

    tables = {"trend": PluginConfig(params={"level": 2, "slope": 0.5, "typo": 1})}
    live = "plugin = {name = 'trend', params = {level = 1}}\n" + PASS
    following = "plugin = {name = 'trend', params = {level = 1, slope = 0.1}}\n" + PASS
    async with running(tmp_path, {"trend": live}, plugins=tables,
                       shadow=shadow_of(tmp_path, {"trend": following})) as engine:
        with trio.fail_after(HANG):  # bounds a hang: the shadow loads its scripts in its own task
            while engine.shadow.plugins.get("trend") is None:
                await trio.sleep(0.01)
        assert Operations(engine).stray_tables() == [
            "plugins.trend.params: typo not among the params its script declares (level, slope): never read unless "
            "the script asks for it by that name"]


# A plugin's own entry, its answer given as the alert's rejection (a spread limit's refusal).
WIDE = """
function on_alert(a)
  local r = orders.market{symbol = a.symbol, side = 'sell', volume = 0.01}
  return false, tostring(r.error)
end"""


async def test_a_spread_limits_refusal_reads_in_the_shadow_as_it_reads_live(tmp_path):
    # Live has a wait for a wide spread (a plugin's entry does not take it); the shadow never waits:
    # its refusal must still read as live's, or equal scripts are told as deciding otherwise.
    from engine.domain.config.paper import PaperConfig

    async with running(tmp_path, {"wide": WIDE}, shadow=shadow_of(tmp_path, {"wide": WIDE}),
                       paper=PaperConfig(spread_points=10), max_spread_pips={"*": 0.5}, max_spread_wait=30) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        record = await shadow_record(engine, row["id"])
    assert row["outcome"]["plugins"][0]["reason"].endswith("; a plugin's entry does not wait for it to narrow")
    assert record["outcome"]["plugins"] == row["outcome"]["plugins"]
    assert record["differs"] is False, record["differences"]


async def test_an_alert_without_a_price_runs_in_the_shadow_at_the_live_brokers_price(tmp_path):
    # On MetaTrader 5 the README's text template carries no price: live trades it at the broker's,
    # and the shadow's paper broker, which has only the prices alerts bring, failed every one
    # ("no price for EURUSD"): a shadow of the very same scripts differed on each alert.
    live = FakeBroker(prices={"EURUSD": {"bid": 1.1, "ask": 1.1002, "time": 0.0}})
    async with running(tmp_path, {"trend": PASS}, use_broker=live,
                       shadow=shadow_of(tmp_path, {"trend": PASS})) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 sl_pips=20")
        record = await shadow_record(engine, row["id"])
        shadow_positions = await engine.shadow.broker.positions("EURUSD")
    assert (row["status"], record["status"], record["differences"]) == ("done", "done", [])
    assert [(p["volume"], p["price_open"], p["sl"]) for p in shadow_positions] == [(0.1, 1.1, 1.098)]
