"""Notifications: the throttle that folds repeats of one event, and the engine's own events
(a rejected alert, a slow alert, memory, the broker's connection) reaching the outbox."""

import trio

from engine.domain.orders import Connection
from engine.domain.config import MonitorConfig
from engine.adapters.notify import Notifier
from engine.adapters.notify.throttle import Throttle
from engine.adapters.storage import Database, Outbox

from support.engine_support import process, running


def test_the_throttle_sends_the_first_folds_the_rest_and_tells_how_many():
    t = Throttle(60)
    assert t.admit(("errors", "boom 1", "hook:x"), 0.0)
    assert t.admit(("errors", "other", "hook:y"), 1.0) and t.admit(("trades", "no key", None), 2.0)
    assert not t.admit(("errors", "boom 2", "hook:x"), 10.0) and not t.admit(("errors", "boom 3", "hook:x"), 20.0)
    assert t.due(59.0) == [] and t.next_deadline() == 60.0
    assert t.due(60.0) == [("errors", "boom 3\n(2 more like this in the last 60 s)", "hook:x")]
    assert t.due(61.0) == []                     # hook:y had no repeats: closed silently
    assert not t.admit(("errors", "boom 4", "hook:x"), 70.0)  # a new window opened with the summary
    assert t.due(120.0) == [("errors", "boom 4\n(1 more like this in the last 60 s)", "hook:x")]
    assert t.due(180.0) == [] and t.next_deadline() is None and t.admit(("errors", "boom 5", "hook:x"), 181.0)
    assert Throttle(0).admit(("errors", "a", "k"), 0) and Throttle(0).admit(("errors", "a", "k"), 0)


async def test_the_notifier_writes_each_first_and_a_summary_when_the_window_ends(tmp_path):
    database = Database(tmp_path / "db.sqlite")
    notifier = Notifier(Outbox(database), throttle_seconds=0.3)
    written = []
    notifier.written = lambda: written.append(1)

    def texts():
        return [r[0] for r in database.db.execute("SELECT text FROM outbox ORDER BY id")]

    async with trio.open_nursery() as nursery:
        nursery.start_soon(notifier.run)
        for n in range(5):
            notifier.send("errors", f"plugin x: on_alert skipped: boom {n}", key="hook:x:on_alert")
        notifier.send("trades", "opened buy 0.1 EURUSD")
        notifier.send("trades", "opened buy 0.1 EURUSD")  # no key: every one counts
        with trio.fail_after(10):  # bounds a hang
            while len(texts()) < 4:
                await trio.sleep(0.02)
        assert texts() == ["plugin x: on_alert skipped: boom 0", "opened buy 0.1 EURUSD", "opened buy 0.1 EURUSD",
                           "plugin x: on_alert skipped: boom 4\n(4 more like this in the last 0.3 s)"]
        # The summary opened the next window, which ends 0.3 s after it at the latest: once it
        # has, a message sent goes out with whatever that window had to tell, or after it.
        await trio.sleep(0.3)
        notifier.send("admin", "a later message")
        with trio.fail_after(10):  # bounds a hang
            while len(texts()) < 5:
                await trio.sleep(0.02)
        assert texts()[4:] == ["a later message"] and written  # no repeats in the next window: nothing more
        await notifier.aclose()
    database.close()


def outbox(engine) -> list[str]:
    return [r["text"] for r in engine.database.db.query("SELECT text FROM outbox ORDER BY id")]


async def eventually(check, timeout: float = 5.0) -> None:
    with trio.fail_after(timeout):
        while not check():
            await trio.sleep(0.02)


async def test_an_alert_rejected_by_a_plugin_is_told_with_its_reason(tmp_path):
    guard = 'plugin = {name = "guard"}\nfunction on_alert(a) return false, "spread too wide" end'
    async with running(tmp_path, {"guard": guard}, dedup_window=0) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert row["status"] == "rejected"
        await eventually(lambda: any(t == f"alert {row['id']} (buy EURUSD) rejected by guard: spread too wide"
                                     for t in outbox(engine)))


async def test_a_slow_alert_memory_and_the_broker_connection_are_told(tmp_path):
    monitor = MonitorConfig(latency_alert_ms=0.001, memory_alert_mb=1, interval_seconds=0.05)
    async with running(tmp_path, monitor=monitor) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await eventually(lambda: any(t.startswith(f"alert {row['id']} took ") and "monitor.latency_alert_ms is 0.001"
                                     in t for t in outbox(engine)))
        await eventually(lambda: any(t.startswith("memory: ") and "over monitor.memory_alert_mb (1 MB)" in t
                                     for t in outbox(engine)))
        assert engine.monitor.memory_bytes() > 20 * 1024 * 1024  # the engine and its worker, really measured
        engine.broker._emit(Connection(False, "no route to the trade server"))
        engine.broker._emit(Connection(True))
        await eventually(lambda: "broker connected again" in outbox(engine))
        assert ("broker disconnected: no route to the trade server; orders are refused until it is back"
                in outbox(engine))
        assert sum(t.startswith("memory: ") for t in outbox(engine)) == 1  # told once, not every sample
        kinds = {kind for kind, text in engine.database.db.execute("SELECT kind, text FROM outbox")
                 if text.startswith(("memory", "broker", f"alert {row['id']} took"))}
        assert kinds == {"admin"}  # the monitoring plan's notifications go to the administrators


async def test_nothing_is_told_under_the_thresholds(tmp_path):
    async with running(tmp_path, monitor=MonitorConfig(interval_seconds=0.05)) as engine:
        measure, samples = engine.monitor.memory_bytes, []

        def counted() -> int:
            samples.append(1)
            return measure()

        engine.monitor.memory_bytes = counted
        await process(engine, "buy EURUSD volume=0.1 price=1.1")  # its latency is looked at as it is sent
        since = len(samples)
        await eventually(lambda: len(samples) >= since + 2)  # a whole memory sample, and what it told, since
        # The notifier writes in order: what was told before this is in the outbox with it.
        engine.notifier.send("admin", "the test's last message")
        await eventually(lambda: "the test's last message" in outbox(engine))
        assert not any(t.startswith(("memory", "alert")) for t in outbox(engine))
