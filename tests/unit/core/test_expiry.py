"""Old alerts are not executed as if they were new (issue 18, section 4): an alert older than
``engine.max_alert_age`` (or its own ``ttl``) when its turn comes, at recovery or at a resume
with the missed alerts, is journaled ``expired``, told to the administrators, not executed."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from engine.domain.alerts import AlertError, parse_body
from engine.app.scaffold import render_config
from engine.app.settings import SettingsError, load_settings
from engine.adapters.storage import AlertJournal, Database

from support.engine_support import SLOW_ALERT, process, running, submit
from support.fakes import FakeBroker
from support.waits import until
from support.web_support import AUTH, SECRET, serving

T0 = 1_700_000_000.0
HOURS = 3600.0
COUNT = "function on_alert(a) store.set('n', (store.get('n') or 0) + 1) end"


class Clock:
    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def admin_messages(engine) -> list[str]:
    return [r["text"] for r in engine.database.db.query("SELECT text FROM outbox WHERE kind = 'admin' ORDER BY id")
            if SLOW_ALERT not in r["text"]]


def journal_unfinished(tmp_path, body: str, received_at: float) -> int:
    """What a crash leaves: an alert journaled at ``received_at``, never processed."""
    db = Database(tmp_path / "data" / "moonhook.db")
    try:
        return AlertJournal(db).record(parse_body(body), now=received_at).id
    finally:
        db.close()


# -- the engine ----------------------------------------------------------------------------------

async def test_an_alert_left_unfinished_three_hours_ago_is_expired_at_start_not_executed(tmp_path):
    old = journal_unfinished(tmp_path, "buy EURUSD volume=0.1 price=1.1 id=old", T0 - 3 * HOURS)
    recent = journal_unfinished(tmp_path, "buy GBPUSD volume=0.1 price=1.3 id=new", T0 - 30)
    broker = FakeBroker()
    async with running(tmp_path, {"count": COUNT}, clock=Clock(), use_broker=broker) as engine:
        await engine.drain()
        expired, done = engine.journal.get(old), engine.journal.get(recent)
        assert expired["status"] == "expired" and done["status"] == "done"
        assert [r.client_id for r in broker.requests] == [f"a{recent}-engine-open"]   # none for the old one
        assert engine.store.get("count", "n") == 1             # no plugin saw the expired one
        outcome = expired["outcome"]
        assert outcome["age_s"] == 3 * HOURS and outcome["max_age_s"] == 120 and outcome["limit"] == "engine.max_alert_age"
        assert "not executed" in outcome["reason"]
        await until(lambda: any(f"alert {old} (buy EURUSD) expired" in t for t in admin_messages(engine)))
        assert not any(f"alert {recent} " in t for t in admin_messages(engine))


async def test_resume_with_the_missed_alerts_after_a_long_pause_expires_the_old_ones_over_http(tmp_path):
    clock = Clock()
    async with running(tmp_path, clock=clock) as engine, serving(engine) as client:
        assert (await client.post("/api/pause", headers=AUTH)).status_code == 200
        first = (await client.post(f"/webhook/{SECRET}", content="buy EURUSD volume=0.1 price=1.1 id=m1")).json()
    clock.now += 3 * HOURS                                      # moonhook restarted hours later
    async with running(tmp_path, clock=clock) as engine, serving(engine) as client:
        second = (await client.post(f"/webhook/{SECRET}", content="buy GBPUSD volume=0.1 price=1.3 id=m2")).json()
        resumed = await client.post("/api/resume", headers=AUTH, json={"execute_missed": True})
        assert resumed.json()["queued"] == 2
        await engine.drain()
        rows = [(await client.get(f"/api/alerts/{a['id']}", headers=AUTH)).json() for a in (first, second)]
        assert [r["status"] for r in rows] == ["expired", "done"]
        assert [p["symbol"] for p in (await client.get("/api/positions", headers=AUTH)).json()["positions"]] == ["GBPUSD"]


LEFT = {"close": "The positions it would have closed on EURUSD stay open: /close in Telegram closes them",
        "closelong": "The positions it would have closed on EURUSD stay open: /close in Telegram closes them",
        "closeall": "The positions it would have closed on every symbol stay open: /close in Telegram closes them",
        "newsltp": "The stops on EURUSD stay as they were",
        "cancel": "The pending orders it would have cancelled on EURUSD stay: /cancel in Telegram cancels them",
        "cancelall": "The pending orders it would have cancelled on every symbol stay: /cancel in Telegram cancels "
                     "them"}


@pytest.mark.parametrize("body", ["close EURUSD", "closelong EURUSD", "closeall", "newsltp EURUSD sl=1.0",
                                  "cancel EURUSD", "cancelall"])
async def test_old_closes_stop_changes_and_cancels_expire_unless_expire_closes_is_off(tmp_path, body):
    cancel = body.startswith("cancel")
    for expire_closes, expected in ((True, "expired"), (False, "done")):
        clock = Clock()
        async with running(tmp_path / str(expire_closes), clock=clock, expire_closes=expire_closes) as engine:
            await process(engine, "buylimit EURUSD volume=0.1 price=1.0" if cancel else "buy EURUSD volume=0.1 price=1.1")
            engine.pause()
            alert_id = (await submit(engine, body)).id
            clock.now += 121
            await engine.resume(execute_missed=True)
            await engine.drain()
            row = engine.journal.get(alert_id)
            left = await (engine.broker.orders() if cancel else engine.broker.positions())
            if expected == "expired":   # what it leaves is said: the trader may count on it having run
                await until(lambda: any(f"alert {alert_id} (" in t for t in admin_messages(engine)))
                told = next(t for t in admin_messages(engine) if f"alert {alert_id} (" in t)
                assert told.endswith(LEFT[body.split()[0]]), told
        assert row["status"] == expected, (expire_closes, row)
        if expected == "expired" or body.startswith("newsltp"):
            assert len(left) == 1
        else:
            assert left == []
        if body.startswith("newsltp") and expected == "expired":
            assert left[0]["sl"] is None


async def test_an_alerts_own_ttl_shortens_the_limit_and_applies_even_without_one(tmp_path):
    clock = Clock()
    async with running(tmp_path, clock=clock, max_alert_age=0) as engine:  # 0: no engine-wide limit
        engine.pause()
        short = (await submit(engine, "buy EURUSD volume=0.1 price=1.1 ttl=30")).id
        long_ = (await submit(engine, '{"action": "buy", "symbol": "GBPUSD", "volume": 0.1, "price": 1.3, "ttl": "300"}')).id
        ageless = (await submit(engine, "buy USDJPY volume=0.1 price=150 id=ageless")).id
        clock.now += 10 * HOURS / 100                           # 360 s
        await engine.resume(execute_missed=True)
        await engine.drain()
        statuses = [engine.journal.get(i)["status"] for i in (short, long_, ageless)]
        outcome = engine.journal.get(short)["outcome"]
    assert statuses == ["expired", "expired", "done"]
    assert outcome["limit"] == "ttl" and outcome["max_age_s"] == 30


async def test_an_alert_tradingview_fired_long_before_it_came_expires_on_arrival(tmp_path):
    """TradingView's queue can hold an alert for minutes in a busy market: with its timenow, the
    age counts from when it fired, not from its delivery."""
    clock = Clock()

    def fired(seconds_ago: float) -> str:
        return datetime.fromtimestamp(T0 - seconds_ago, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")

    async with running(tmp_path, {"count": COUNT}, clock=clock) as engine:
        late = await process(engine, f"buy EURUSD volume=0.1 price=1.1 timenow={fired(300)}")
        ontime = await process(engine, f'{{"action": "buy", "symbol": "GBPUSD", "volume": 0.1, "price": 1.3, '
                                       f'"timenow": "{fired(3)}"}}')
        ahead = await process(engine, f"buy USDJPY volume=0.1 price=150 timenow={fired(-30)}")  # a clock ahead of ours
        positions = sorted(p["symbol"] for p in await engine.broker.positions())
        told = admin_messages(engine)
        ran = engine.store.get("count", "n")
    assert (late["status"], ontime["status"], ahead["status"]) == ("expired", "done", "done")
    assert late["outcome"]["reason"] == ("not executed: fired 5 min ago by TradingView's timenow (received 0 s "
                                         "ago), over engine.max_alert_age (120 s)")
    assert late["alert"]["timenow"] == T0 - 300
    assert positions == ["GBPUSD", "USDJPY"] and ran == 2   # nothing ran for the late one, not even on_alert
    assert any(f"alert {late['id']} (buy EURUSD) expired: not executed: fired 5 min ago" in t for t in told), told


@pytest.mark.parametrize("late, rule", [("ttl=30", "ttl, 30 s"), (f"timenow={int(T0 - 100)}", "engine.max_alert_age, 120 s")])
async def test_an_entry_waiting_for_a_wide_spread_is_not_sent_once_its_alert_has_expired(tmp_path, caplog, late, rule):
    """``max_spread_wait`` is at most ``max_alert_age``, but the wait begins at the alert's turn:
    one with a short ttl, or fired 100 s before TradingView delivered it, would be sent long past
    its limit once the spread narrowed. The wait ends when the alert expires."""
    clock = Clock()
    broker = FakeBroker(prices={"EURUSD": {"bid": 1.085, "ask": 1.0862}})   # 12 pips: the rollover's
    async with running(tmp_path, clock=clock, use_broker=broker, max_spread_pips={"*": 3.0},
                       max_spread_wait=100.0) as engine:
        alert_id = (await submit(engine, f"buy EURUSD volume=0.1 price=1.085 {late}")).id
        await until(lambda: "the entry waits up to" in caplog.text)
        clock.now += 31   # past either limit; the spread narrows only then
        broker.prices["EURUSD"] = {"bid": 1.085, "ask": 1.0851}
        await engine.drain()
        (order,) = engine.journal.get(alert_id)["outcome"]["orders"]
    assert broker.executed == []
    assert order["error"] == ("over engine.max_spread_pips: EURUSD's spread is 12.0 pips (bid 1.085, ask 1.0862), "
                              f"at most 3, after waiting for it to narrow until its alert expired ({rule})")


async def test_a_spread_found_narrow_by_a_read_its_alert_expired_during_is_not_entered(tmp_path, caplog):
    """The wait for a spread ends between reads, never cutting one short (MetaTrader's worker would be
    killed): a read that began before the alert expired and found the spread narrow after it sends nothing."""
    clock = Clock()

    class ExpiresAsItReads(FakeBroker):
        async def price(self, symbol: str):
            if "the entry waits up to" in caplog.text:   # the wait's read: the alert's ttl passes meanwhile
                clock.now += 31
                self.prices["EURUSD"] = {"bid": 1.085, "ask": 1.0851}
            return await super().price(symbol)
    broker = ExpiresAsItReads(prices={"EURUSD": {"bid": 1.085, "ask": 1.0862}})   # 12 pips: the rollover's
    async with running(tmp_path, clock=clock, use_broker=broker, max_spread_pips={"*": 3.0},
                       max_spread_wait=100.0) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.085 ttl=30")
    assert broker.executed == []
    assert row["outcome"]["orders"][0]["error"] == (
        "over engine.max_spread_pips: EURUSD's spread is 12.0 pips (bid 1.085, ask 1.0862), at most 3, after "
        "waiting for it to narrow until its alert expired (ttl, 30 s)")


async def test_a_ttl_longer_than_max_alert_age_does_not_lengthen_it(tmp_path):
    clock = Clock()
    async with running(tmp_path, clock=clock, max_alert_age=60) as engine:
        engine.pause()
        alert_id = (await submit(engine, "buy EURUSD volume=0.1 price=1.1 ttl=600")).id
        clock.now += 61
        await engine.resume(execute_missed=True)
        await engine.drain()
        row = engine.journal.get(alert_id)
    assert row["status"] == "expired" and row["outcome"]["limit"] == "engine.max_alert_age"


async def test_a_ttl_expires_a_close_even_with_expire_closes_off(tmp_path):
    clock = Clock()
    async with running(tmp_path, clock=clock, expire_closes=False) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1")
        engine.pause()
        alert_id = (await submit(engine, "close EURUSD ttl=5")).id
        clock.now += 6
        await engine.resume(execute_missed=True)
        await engine.drain()
        assert engine.journal.get(alert_id)["status"] == "expired"
        assert len(await engine.broker.positions()) == 1


async def test_an_old_trend_still_sets_the_trend_and_a_fresh_alert_is_executed(tmp_path):
    clock = Clock()
    async with running(tmp_path, clock=clock) as engine:
        engine.pause()
        trend = (await submit(engine, "trend EURUSD H1 up")).id
        clock.now += HOURS
        await engine.resume(execute_missed=True)
        await engine.drain()
        assert engine.journal.get(trend)["status"] == "done" and engine.trend.get("EURUSD", "H1") == "up"
        assert (await process(engine, "buy EURUSD volume=0.1 price=1.1"))["status"] == "done"


# -- the alert field and the settings ------------------------------------------------------------

def test_ttl_is_a_positive_number_of_seconds_in_either_form():
    assert parse_body("buy EURUSD volume=1 ttl=30").ttl == 30.0
    assert parse_body('{"action": "buy", "symbol": "EURUSD", "volume": 1, "ttl": "45.5"}').ttl == 45.5
    assert parse_body("buy EURUSD volume=1 ttl=30").to_plain()["ttl"] == 30.0   # plugins see it
    for body in ("buy EURUSD volume=1 ttl=0", "buy EURUSD volume=1 ttl=-5", "buy EURUSD volume=1 ttl=soon",
                 '{"action": "buy", "symbol": "EURUSD", "ttl": true}'):
        with pytest.raises(AlertError) as e:
            parse_body(body)
        assert e.value.field == "ttl", body


def test_max_alert_age_and_expire_closes_are_settings_with_safe_defaults(tmp_path):
    engine = load_settings(None, {}).engine
    assert engine.max_alert_age == 120 and engine.expire_closes is True
    path = tmp_path / "moonhook.toml"
    path.write_text("[engine]\nmax_alert_age = 0\nexpire_closes = false\n")
    engine = load_settings(path, {}).engine
    assert engine.max_alert_age == 0 and engine.expire_closes is False
    for line, key in (("max_alert_age = -1", "engine.max_alert_age"), ('max_alert_age = "2m"', "engine.max_alert_age"),
                      ('expire_closes = "yes"', "engine.expire_closes")):
        path.write_text(f"[engine]\n{line}\n")
        with pytest.raises(SettingsError) as e:
            load_settings(path, {})
        assert key in str(e.value), line


def test_init_writes_both_settings_commented_with_their_defaults(tmp_path):
    text = render_config("secret-0123456789ab", "token-0123456789abc")
    assert "max_alert_age = 120" in text and "expire_closes = true" in text
    path = tmp_path / "moonhook.toml"
    path.write_text(text)
    engine = load_settings(path, {}).engine
    assert engine.max_alert_age == 120 and engine.expire_closes is True


def crashed_after_sending(tmp_path, alert_id: int) -> None:
    """What a crash between the broker's answer and its writing leaves: the alert still to run,
    its order in the ledger as written before the send, 'unknown' (the broker has executed it)."""
    db = Database(tmp_path / "data" / "moonhook.db")
    with db.transaction() as t:
        t.execute("UPDATE alerts SET status = 'received', outcome = NULL WHERE id = ?", [alert_id])
        t.execute("UPDATE orders SET status = 'unknown', result = NULL, done_at = NULL WHERE alert_id = ?", [alert_id])
    db.close()


async def test_an_alert_whose_order_went_before_a_crash_expires_saying_the_order_stands(tmp_path):
    clock = Clock(T0 - 3 * HOURS)
    async with running(tmp_path, clock=clock) as engine:
        first = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=sent")
    ticket = first["outcome"]["orders"][0]["ticket"]
    crashed_after_sending(tmp_path, first["id"])
    clock.now = T0                                           # the new version started three hours later
    async with running(tmp_path, clock=clock) as engine:
        await engine.drain()
        expired = engine.journal.get(first["id"])
        assert expired["status"] == "expired"
        assert [(o["client_id"], o["ok"], o["ticket"], o["earlier_run"]) for o in expired["outcome"]["orders"]] == [
            (f"a{first['id']}-engine-open", True, ticket, True)]   # what it did before the stop, not 'not executed'
        assert expired["outcome"]["reason"].startswith("nothing more executed: received 3.0 h ago")
        assert [o["status"] for o in engine.ledger.for_alert(first["id"])] == ["done"]   # settled at the broker
        assert [p["ticket"] for p in await engine.broker.positions()] == [ticket]
        await until(lambda: any(f"alert {first['id']} (buy EURUSD) expired: nothing more executed" in t
                                and f"a{first['id']}-engine-open: done" in t for t in admin_messages(engine)))
