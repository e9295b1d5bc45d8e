"""Safety switches survive a restart (issue 18, section 3): a pause, an administrator's plugin
switch and the breaker's are kept in SQLite, applied before the first alert after a start
(recovered alerts included), and shown with who switched what and when."""

from __future__ import annotations

from dataclasses import replace

import trio

from engine.app import Operations
from engine.domain.alerts import parse_body
from engine.interfaces.remote import status as _status
from engine.domain.config import Settings
from engine.adapters.storage import AlertJournal, Database

from engine.interfaces.telegram.commands import Commands

from support.engine_support import process, running, submit
from support.fakes import FakeBroker
from support.telegram_support import ADMIN, GROUP, Chat, ask
from support.waits import HANG
from support.web_support import AUTH, SECRET, SERVER, serving

FAILING = 'function on_alert(a) error("boom") end'
COUNT = "function on_alert(a) store.set('n', (store.get('n') or 0) + 1) end"


class Clock:
    def __init__(self, now: float = 1_700_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_a_pause_through_the_api_survives_a_restart_and_alerts_are_journaled_not_executed(tmp_path):
    clock = Clock()
    async with running(tmp_path, clock=clock) as engine, serving(engine) as client:
        answer = await client.post("/api/pause", headers=AUTH, json={"reason": "news at 14:30"})
        assert answer.status_code == 200 and answer.json()["paused"] is True
    clock.now += 3600
    async with running(tmp_path, clock=clock) as engine, serving(engine) as client:
        assert engine.paused                                    # before anything was sent
        assert (await client.get("/health")).json()["status"] == "degraded"
        assert (await client.get("/health", headers=AUTH)).json()["paused"] is True
        sent = await client.post(f"/webhook/{SECRET}", content="buy EURUSD volume=0.1 price=1.1 id=p1")
        assert sent.status_code == 200 and sent.json()["status"] == "accepted"
        await engine.drain()
        row = (await client.get(f"/api/alerts/{sent.json()['id']}", headers=AUTH)).json()
        assert row["status"] == "paused" and await engine.broker.positions() == []
        listing = (await client.get("/api/plugins", headers=AUTH)).json()
        assert listing["pause"] == {"paused": True, "by": "api", "at": 1_700_000_000.0, "reason": "news at 14:30",
                                    "held": 1, "held_ids": str(sent.json()["id"])}

        resumed = await client.post("/api/resume", headers=AUTH)
        assert resumed.status_code == 200 and not engine.paused
    async with running(tmp_path, clock=clock) as engine:      # the resume is kept too
        assert not engine.paused
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=p2")
        assert row["status"] == "done"


# Goes back in whenever a position closes: a plugin's own entry, with no alert behind it.
REENTER = """
function on_close(p)
  local again = orders.market{symbol = p.symbol, side = p.side, volume = 0.1}
  store.set("again", again.ok and "entered" or again.error)
end
"""


async def test_a_pause_stops_the_plugins_own_entries_and_lets_closes_through(tmp_path):
    # A trader pauses to stop trading (news, a strategy gone wrong, a guard missing at a start):
    # a plugin's timer or broker-event hook must not open positions meanwhile.
    from engine.core.desk import PAUSED

    async with running(tmp_path, {"reenter": REENTER}) as engine:
        opened = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        ops = Operations(engine)
        assert ops.pause(reason="news")
        ((ticket, closed),) = await ops.close_positions([opened["outcome"]["orders"][0]["ticket"]], plugin="api",
                                                        origin="api", comment="by hand")
        assert closed.ok   # a close passes a pause
        with trio.fail_after(HANG):
            while engine.store.get("reenter", "again") is None:
                await trio.sleep(0.01)
        assert engine.store.get("reenter", "again") == PAUSED
        assert await engine.broker.positions() == []
        await ops.resume()
        second = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=after")   # resumed: entries again
        engine.store.delete("reenter", "again")
        await ops.close_positions([second["outcome"]["orders"][0]["ticket"]], plugin="api", origin="api",
                                  comment="by hand")
        with trio.fail_after(HANG):
            while engine.store.get("reenter", "again") is None:
                await trio.sleep(0.01)
        assert engine.store.get("reenter", "again") == "entered"


async def test_alerts_left_unfinished_by_a_crash_while_paused_are_not_executed_at_the_next_start(tmp_path):
    async with running(tmp_path) as engine:
        engine.pause(by="telegram:4242")
    # What a crash leaves: an alert journaled before the pause, never processed.
    db = Database(tmp_path / "data" / "moonhook.db")
    alert_id = AlertJournal(db).record(parse_body("buy EURUSD volume=0.1 price=1.1")).id
    db.close()
    broker = FakeBroker()
    async with running(tmp_path, use_broker=broker) as engine:
        await engine.drain()
        assert engine.paused and engine.journal.get(alert_id)["status"] == "paused"
        assert broker.requests == []
        assert engine.switchboard.pause["by"] == "telegram:4242"
        assert await engine.resume(execute_missed=True) == 1   # still there for whoever resumes
        await engine.drain()
        assert engine.journal.get(alert_id)["status"] == "done"
        assert [r.client_id for r in broker.requests] == [f"a{alert_id}-engine-open"]


async def test_a_plugin_the_breaker_switched_off_stays_off_after_a_restart(tmp_path):
    clock = Clock()
    scripts = {"flaky": FAILING}
    async with running(tmp_path, scripts, clock=clock, breaker=2) as engine:
        for n in range(2):
            await process(engine, f"buy EURUSD volume=0.1 price=1.1 id=b{n}")
        assert not engine.plugins.get("flaky").enabled
    async with running(tmp_path, scripts, clock=clock, breaker=2) as engine, serving(engine) as client:
        plugin = engine.plugins.get("flaky")
        assert not plugin.enabled and plugin.disabled_by == "breaker"
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=b2")
        assert row["status"] == "done" and row["outcome"]["plugins"] == [] and plugin.stats.calls == 0
        listing = (await client.get("/api/plugins", headers=AUTH)).json()
        switched = next(p for p in listing["plugins"] if p["name"] == "flaky")["switched"]
        assert switched["enabled"] is False and switched["by"] == "breaker" and switched["at"] == clock.now
        assert "2 failures in a row" in switched["reason"] and "boom" in switched["reason"]
        # A save (a reload of the file) lifts the breaker's switch, as it did before restarts kept it.
        reloaded = await engine.load(tmp_path / "scripts" / "flaky.lua")
        assert reloaded.enabled and reloaded.switched["by"] == "reload"
    async with running(tmp_path, scripts, clock=clock, breaker=2) as engine:
        assert engine.plugins.get("flaky").enabled


async def test_a_script_changed_while_the_engine_was_down_lifts_the_breaker(tmp_path):
    async with running(tmp_path, {"flaky": FAILING}, breaker=1) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=c0")
        assert not engine.plugins.get("flaky").enabled
    async with running(tmp_path, {"flaky": COUNT}, breaker=1) as engine:  # fixed: a new version
        assert engine.plugins.get("flaky").enabled
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=c1")
        assert engine.store.get("flaky", "n") == 1


async def test_an_admins_disable_survives_restarts_and_saves_until_an_admin_enables_it(tmp_path):
    clock = Clock()
    scripts = {"count": COUNT}
    async with running(tmp_path, scripts, clock=clock) as engine, serving(engine) as client:
        answer = await client.post("/api/plugins/count/disable", headers=AUTH)
        assert answer.status_code == 200 and answer.json()["switched"]["by"] == "api"
    clock.now += 60
    async with running(tmp_path, scripts, clock=clock) as engine:
        plugin = engine.plugins.get("count")
        assert not plugin.enabled and plugin.disabled_by == "api"
        assert plugin.switched == {"enabled": False, "by": "api", "at": clock.now - 60, "reason": None}
        await process(engine, "buy EURUSD volume=0.1 price=1.1 id=d0")
        assert engine.store.get("count", "n") is None
        saved = await engine.load(tmp_path / "scripts" / "count.lua")   # a save does not enable it
        assert not saved.enabled and saved.disabled_by == "api"
        engine.set_enabled("count", True, by="telegram:4242")
    async with running(tmp_path, scripts, clock=clock) as engine:
        plugin = engine.plugins.get("count")
        assert plugin.enabled and plugin.switched["by"] == "telegram:4242" and plugin.switched["enabled"]


async def test_a_disable_from_telegram_is_kept_with_the_user_who_sent_it(tmp_path):
    async with running(tmp_path, {"count": COUNT}) as engine:
        engine.set_enabled("count", False, by="telegram:4242")
    async with running(tmp_path, {"count": COUNT}) as engine:
        plugin = engine.plugins.get("count")
        assert not plugin.enabled and plugin.to_plain()["switched"]["by"] == "telegram:4242"
        assert plugin.to_plain()["disabled_by"] == "telegram:4242"


async def test_moonhook_status_says_who_paused_and_who_switched_a_plugin_off(tmp_path, capsys):
    clock = Clock()
    async with running(tmp_path, {"count": COUNT}, clock=clock) as engine:
        engine.pause(by="telegram:4242", reason="holiday")
        engine.set_enabled("count", False, by="api")
    async with running(tmp_path, {"count": COUNT}, clock=clock) as engine, serving(engine) as client:
        port = int(str(client.base_url).rsplit(":", 1)[1].strip("/"))
        code = await _status(Settings(server=replace(SERVER, port=port)))
    out = capsys.readouterr().out
    assert code == 1 and "status=degraded" in out
    assert "paused by telegram:4242 at 2023-11-14 22:13:20 UTC: holiday" in out
    assert any(line.startswith("count") and "disabled" in line for line in out.splitlines())
    assert "count: switched off by api at 2023-11-14 22:13:20 UTC" in out


async def test_pause_by_default_is_the_apis_and_repeats_do_not_rewrite_the_record(tmp_path):
    clock = Clock()
    async with running(tmp_path, clock=clock) as engine:
        engine.pause()
        clock.now += 5
        engine.pause(by="telegram:1")                           # already paused: the first pause stands
        assert engine.switchboard.pause == {"paused": True, "by": "api", "at": clock.now - 5, "reason": None}
        await engine.resume(by="telegram:1")
        assert engine.switchboard.pause == {"paused": False, "by": "telegram:1", "at": clock.now, "reason": None}
        assert (await submit(engine, "buy EURUSD volume=0.1 price=1.1")).id


async def test_telegram_switches_are_kept_with_the_admin_who_sent_them(tmp_path):
    clock = Clock(now=__import__("time").time())             # Telegram dates are wall time
    async with running(tmp_path, {"count": COUNT}, clock=clock) as engine:
        commands = Commands(Operations(engine), [ADMIN, 5151], command_chats=[GROUP], clock=clock)
        assert "disabled" in (await ask(commands, Chat(clock, GROUP, user_id=5151).say("/disable count"))).text
        assert "Paused" in (await ask(commands, Chat(clock).say("/pause"))).text
    async with running(tmp_path, {"count": COUNT}, clock=clock) as engine:
        assert engine.paused and engine.switchboard.pause["by"] == f"telegram:{ADMIN}"
        assert engine.plugins.get("count").switched["by"] == "telegram:5151"
        commands = Commands(Operations(engine), [ADMIN], clock=clock)
        assert "Resumed" in (await ask(commands, Chat(clock).say("/resume"))).text
        assert engine.switchboard.pause == {"paused": False, "by": f"telegram:{ADMIN}", "at": clock.now,
                                            "reason": None}


async def test_a_close_sent_as_the_engine_resumes_follows_the_entry_missed_during_the_pause(tmp_path):
    # The resume used to switch the pause off and then queue the missed alerts one journal write
    # at a time: a close arriving meanwhile ran before the older entry (and found nothing to
    # close), or, journaled as paused just after the resume read the missed ones, never ran.
    # Each round lets the two meet in another order; every order must end flat.
    async with running(tmp_path, dedup_window=0) as engine:
        for round_ in range(20):
            engine.pause()
            entry = await submit(engine, "buy EURUSD volume=0.1 price=1.1")
            async with trio.open_nursery() as nursery:
                if round_ % 2:
                    nursery.start_soon(engine.resume, True)
                    for _ in range(round_ // 4):
                        await trio.sleep(0)
                    nursery.start_soon(submit, engine, "close EURUSD price=1.1")
                else:
                    nursery.start_soon(submit, engine, "close EURUSD price=1.1")
                    for _ in range(round_ // 4):
                        await trio.sleep(0)
                    nursery.start_soon(engine.resume, True)
            await engine.drain()
            close = engine.journal.recent(1)[0]
            assert engine.journal.get(entry.id)["status"] == "done"
            assert close["status"] == "done", (round_, close)
            assert await engine.broker.positions() == [], f"round {round_}: the close ran before the entry"


async def test_two_resumes_at_once_queue_the_missed_alerts_once(tmp_path):
    broker = FakeBroker()
    async with running(tmp_path, {"count": COUNT}, use_broker=broker) as engine:
        engine.pause()
        for symbol in ("EURUSD", "GBPUSD", "USDJPY"):
            await submit(engine, f"buy {symbol} volume=0.1 price=1.1")
        queued: list[int] = []

        async def resume() -> None:
            queued.append(await engine.resume(execute_missed=True))

        async with trio.open_nursery() as nursery:   # an administrator on Telegram, another on the dashboard
            nursery.start_soon(resume)
            nursery.start_soon(resume)
        await engine.drain()
        assert sorted(queued) == [0, 3]
        assert engine.store.get("count", "n") == 3    # each alert through the plugins once
