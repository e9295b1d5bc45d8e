"""The engine's events (docs/dashboard.md "Events"), seen by a subscriber of a real engine:
an alert from receipt to finish with its orders and fills on the paper broker, a plugin's
errors and switches, the pause, and scripts saved into the watched folder."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Callable

import trio

from engine.app import open_engine
from engine.domain.config import EngineConfig
from engine.domain.config.paper import PaperConfig

from support.engine_support import process, running, submit, write_scripts
from support.waits import HANG


async def until(sub, done: Callable[[list[dict]], bool]) -> list[dict]:
    """The events of ``sub`` from now until ``done(seen)``."""
    seen: list[dict] = []
    with trio.fail_after(HANG):
        async for event in sub:
            seen.append(event)
            if done(seen):
                return seen
    raise AssertionError(f"the subscription ended before it was done: {seen}")


def kinds(events: list[dict], *wanted: str) -> list[str]:
    return [e["kind"] for e in events if e["kind"] in wanted]


def one(events: list[dict], kind: str) -> dict:
    (event,) = [e for e in events if e["kind"] == kind]
    return event


def has(*wanted: str) -> Callable[[list[dict]], bool]:
    return lambda seen: all(any(e["kind"] == k for e in seen) for k in wanted)


async def test_an_alert_that_trades_is_told_received_placed_filled_and_finished(tmp_path):
    async with running(tmp_path, clock=lambda: 1_700_000_000.0) as engine:
        with engine.events.subscribe() as sub:
            row = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=t1")
            seen = await until(sub, has("alert.finished", "fill"))
    alert_id = row["id"]
    assert row["status"] == "done"
    assert kinds(seen, "alert.received", "order.placed", "alert.finished") == \
        ["alert.received", "order.placed", "alert.finished"]
    assert seen.index(one(seen, "alert.received")) < seen.index(one(seen, "fill"))
    assert [e["seq"] for e in seen] == list(range(seen[0]["seq"], seen[0]["seq"] + len(seen)))
    assert all(e["at"] == 1_700_000_000.0 for e in seen)
    assert json.loads(json.dumps(seen)) == seen

    received, placed, fill, finished = (one(seen, k) for k in ("alert.received", "order.placed", "fill",
                                                               "alert.finished"))
    assert {k: received[k] for k in ("id", "symbol", "command", "status")} == \
        {"id": alert_id, "symbol": "EURUSD", "command": "buy", "status": "received"}
    assert {k: placed[k] for k in ("alert_id", "plugin", "symbol", "side", "volume", "price")} == \
        {"alert_id": alert_id, "plugin": "engine", "symbol": "EURUSD", "side": "buy", "volume": 0.1, "price": 1.1}
    assert placed["ticket"] == row["outcome"]["orders"][0]["ticket"]
    assert {k: fill[k] for k in ("symbol", "ticket", "side", "volume", "price", "profit")} == \
        {"symbol": "EURUSD", "ticket": placed["ticket"], "side": "buy", "volume": 0.1, "price": 1.1, "profit": 0.0}
    assert {k: finished[k] for k in ("id", "symbol", "command", "status", "reason")} == \
        {"id": alert_id, "symbol": "EURUSD", "command": "buy", "status": "done", "reason": None}
    assert isinstance(finished["latency_ms"], float) and finished["latency_ms"] >= 0


async def test_a_vetoed_order_is_told_refused_after_its_alert_is_received(tmp_path):
    # The veto does not wait for the alert's commit; its event comes after the receipt all the same.
    scripts = {"guard": "function on_order(o) return false, 'not today' end"}
    async with running(tmp_path, scripts) as engine:
        with engine.events.subscribe() as sub:
            row = await process(engine, "sell EURUSD volume=0.2 price=1.1")
            seen = await until(sub, has("alert.finished"))
    assert kinds(seen, "alert.received", "order.refused", "alert.finished") == \
        ["alert.received", "order.refused", "alert.finished"]
    refused = one(seen, "order.refused")
    assert {k: refused[k] for k in ("alert_id", "plugin", "symbol", "reason")} == \
        {"alert_id": row["id"], "plugin": "engine", "symbol": "EURUSD", "reason": "vetoed by guard: not today"}
    finished = one(seen, "alert.finished")
    assert (finished["status"], finished["reason"]) == ("failed", "vetoed by guard: not today")


async def test_a_pending_order_rejected_when_its_price_comes_is_told_dropped_and_to_the_trades_chat(tmp_path):
    scripts = {"watch": "plugin = {symbols = {'EURUSD'}}\n"
                        "function on_cancel(o) store.set('told', o.reason .. ' ' .. o.ticket .. ' ' .. o.type) end"}
    async with running(tmp_path, scripts, paper=PaperConfig(leverage=10.0)) as engine:
        placed = await process(engine, "buylimit EURUSD volume=1 price=1.05 sl=1.04")
        with engine.events.subscribe() as sub:
            await process(engine, "closelong EURUSD price=1.049")     # a quote under the order's price
            seen = await until(sub, has("order.dropped"))
        ticket = placed["outcome"]["orders"][0]["ticket"]
        with trio.fail_after(HANG):  # the notifier writes the outbox in the background
            while not (outbox := [r["text"] for r in engine.database.db.query("SELECT text FROM outbox WHERE "
                                                                              "kind = 'trades'")
                                  if r["text"].startswith(f"pending order {ticket} ")]) \
                    or engine.store.get("watch", "told") is None:
                await trio.sleep(0.01)
        assert engine.store.get("watch", "told") == f"rejected {ticket} limit"   # the plugin's on_cancel
    dropped = one(seen, "order.dropped")
    assert {k: dropped[k] for k in ("ticket", "symbol", "side", "type", "volume", "reason", "plugin")} == \
        {"ticket": ticket, "symbol": "EURUSD", "side": "buy", "type": "limit", "volume": 1.0, "reason": "rejected",
         "plugin": "engine"}
    assert dropped["detail"].startswith("not enough money: 1 lots of EURUSD need 10,490.00 USD")
    assert outbox == [
        f"pending order {ticket} buy limit 1 EURUSD @ 1.049 rejected (engine): {dropped['detail']}"]


async def test_a_rejected_alert_is_finished_with_the_reason(tmp_path):
    scripts = {"filter": "function on_alert(a) return false, 'too late in the day' end"}
    async with running(tmp_path, scripts) as engine:
        with engine.events.subscribe() as sub:
            row = await process(engine, "buy GBPUSD volume=0.1 price=1.3")
            seen = await until(sub, has("alert.finished"))
    assert kinds(seen, "alert.received", "alert.finished", "order.placed") == ["alert.received", "alert.finished"]
    finished = one(seen, "alert.finished")
    assert (finished["id"], finished["status"], finished["reason"]) == (row["id"], "rejected", "too late in the day")
    assert finished["plugins"] == ["filter"]  # the alerts page's plugin filter matches on these


async def test_a_failing_hook_is_told_and_so_is_the_breaker_that_switches_it_off(tmp_path):
    scripts = {"broken": 'function on_alert(a) error("boom") end'}
    async with running(tmp_path, scripts, breaker=1) as engine:
        with engine.events.subscribe() as sub:
            await process(engine, "buy EURUSD volume=0.1 price=1.1")
            seen = await until(sub, has("alert.finished"))
    assert kinds(seen, "plugin.error", "plugin.switched") == ["plugin.error", "plugin.switched"]
    error = one(seen, "plugin.error")
    assert (error["plugin"], error["hook"], error["error_kind"]) == ("broken", "on_alert", "script")
    assert "boom" in error["message"]
    switched = one(seen, "plugin.switched")
    assert (switched["plugin"], switched["enabled"], switched["by"]) == ("broken", False, "breaker")


async def test_switches_and_the_pause_are_told_with_who_made_them(tmp_path):
    scripts = {"quiet": "function on_alert(a) end"}
    async with running(tmp_path, scripts) as engine:
        with engine.events.subscribe() as sub:
            engine.set_enabled("quiet", False, by="telegram:42")
            engine.set_enabled("quiet", True, by="api")
            engine.pause(by="api", reason="news at 14:30")
            paused = await submit(engine, "buy EURUSD volume=0.1 price=1.1")
            await engine.resume(by="telegram:42")
            seen = await until(sub, lambda s: len(s) == 5)
    assert [e["kind"] for e in seen] == ["plugin.switched", "plugin.switched", "pause", "alert.received", "resume"]
    assert [(e["enabled"], e["by"]) for e in seen[:2]] == [(False, "telegram:42"), (True, "api")]
    assert (seen[2]["by"], seen[2]["reason"]) == ("api", "news at 14:30")
    assert (seen[3]["id"], seen[3]["status"]) == (paused.id, "paused")
    assert seen[4]["by"] == "telegram:42"


async def test_alerts_held_from_the_pause_and_run_on_resume_are_told_queued_before_they_finish(tmp_path):
    # Queued again ("received") without a word: the dashboard showed them "paused" until each
    # finished, however long it waited in its lane (the broker lost, a queue behind it).
    async with running(tmp_path) as engine:
        engine.pause(by="api")
        held = await submit(engine, "buy EURUSD volume=0.1 price=1.1")
        with engine.events.subscribe() as sub:
            await engine.resume(execute_missed=True, by="api")
            seen = await until(sub, lambda s: any(e["kind"] == "alert.finished" for e in s))
    told = [(e["kind"], e["status"]) for e in seen if e.get("id") == held.id]
    assert told == [("alert.received", "received"), ("alert.finished", "done")], seen


async def test_scripts_saved_into_the_watched_folder_are_told_loaded_or_not(tmp_path):
    folder = write_scripts(tmp_path / "scripts", {})
    config = replace(EngineConfig(scripts=folder, data=tmp_path / "data"), workers=1)
    async with open_engine(config, watch=True) as engine:
        with engine.events.subscribe() as sub:
            save(folder / "fresh.lua", "function on_alert(a) end")
            loaded = await until(sub, has("reload"))
            save(folder / "broken.lua", "function on_alert(a)\n  retrun 1\nend")
            failed = await until(sub, has("reload"))
    assert one(loaded, "reload") | {"seq": 0, "at": 0} == \
        {"seq": 0, "at": 0, "kind": "reload", "file": "fresh.lua", "ok": True, "error": None, "plugin": "fresh"}
    told = one(failed, "reload")
    assert (told["file"], told["ok"]) == ("broken.lua", False)
    assert told["error"].startswith("broken.lua:2:"), told["error"]


def save(path: Path, text: str) -> None:
    """As editors do: a temporary file beside it, renamed over the target."""
    temp = path.with_name(f".{path.name}.swp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


async def test_bytes_that_failed_to_load_are_tried_and_told_once(tmp_path):
    # The dashboard's save applies the file, then the watcher sees the same save: one failure told.
    async with running(tmp_path) as engine:
        path = engine.config.scripts / "broken.lua"
        with engine.events.subscribe() as sub:
            for text in ("function on_alert(a)\n  retrun 1\nend", None, "function on_alert(a)\n\n  retrun 1\nend"):
                if text is not None:
                    save(path, text)
                await engine.lifecycle.apply([path])
            save(path, "function on_alert(a) end")
            await engine.lifecycle.apply([path])
            seen = await until(sub, lambda events: any(e["kind"] == "reload" and e["ok"] for e in events))
    told = [(e["ok"], (e["error"] or "").split(":")[1] if not e["ok"] else None) for e in seen if e["kind"] == "reload"]
    assert told == [(False, "2"), (False, "3"), (True, None)]
