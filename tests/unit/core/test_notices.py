"""The engine's own events reaching the outbox: a rejected alert, a slow alert, memory, the
broker's connection (core/monitor.py), and nothing under the thresholds. A real engine."""


from engine.domain.config import MonitorConfig
from engine.domain.orders import Connection

from support.engine_support import process, running
from support.waits import HANG, until


def outbox(engine) -> list[str]:
    return [r["text"] for r in engine.database.db.query("SELECT text FROM outbox ORDER BY id")]


async def test_an_alert_rejected_by_a_plugin_is_told_with_its_reason(tmp_path):
    guard = 'plugin = {name = "guard"}\nfunction on_alert(a) return false, "spread too wide" end'
    async with running(tmp_path, {"guard": guard}, dedup_window=0) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        assert row["status"] == "rejected"
        await until(lambda: any(t == f"alert {row['id']} (buy EURUSD) rejected by guard: spread too wide"
                                for t in outbox(engine)))


async def test_an_alert_that_failed_before_any_order_is_told_with_why(tmp_path):
    """A close the engine could not plan (its size in a field moonhook does not read) left the
    position open, said only in the journal: the trader, thinking half of it closed, never knew."""
    async with running(tmp_path, dedup_window=0) as engine:
        assert (await process(engine, "buy EURUSD volume=1 price=1.1"))["status"] == "done"
        row = await process(engine, '{"symbol": "EURUSD", "action": "close", "qty": 0.5, "price": 1.1}')
        assert row["status"] == "failed"
        await until(lambda: f"alert {row['id']} (close EURUSD) not executed: qty=0.5 is not read as the size "
                            "to close: give volume= (lots) or units=, or neither to close the whole position"
                            in outbox(engine))


async def test_a_slow_alert_memory_and_the_broker_connection_are_told(tmp_path):
    monitor = MonitorConfig(latency_alert_ms=0.001, memory_alert_mb=1, interval_seconds=0.05)
    async with running(tmp_path, monitor=monitor) as engine:
        row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
        await until(lambda: any(t.startswith(f"alert {row['id']} took ") and "monitor.latency_alert_ms is 0.001"
                                in t for t in outbox(engine)))
        await until(lambda: any(t.startswith("memory: ") and "over monitor.memory_alert_mb (1 MB)" in t
                                for t in outbox(engine)))
        assert engine.monitor.memory_bytes() > 20 * 1024 * 1024  # the engine and its worker, really measured
        engine.broker._emit(Connection(False, "no route to the trade server"))
        engine.broker._emit(Connection(True))
        await until(lambda: "broker connected again" in outbox(engine))
        assert ("broker disconnected: no route to the trade server; alerts wait for it until they expire "
                "(engine.max_alert_age), plugins' and admins' orders are refused until it is back"
                in outbox(engine))
        assert sum(t.startswith("memory: ") for t in outbox(engine)) == 1  # told once, not every sample
        kinds = {kind for kind, text in engine.database.db.execute("SELECT kind, text FROM outbox")
                 if text.startswith(("memory", "broker", f"alert {row['id']} took"))}
        assert kinds == {"admin"}  # the monitoring plan's notifications go to the administrators


async def test_nothing_is_told_under_the_thresholds(tmp_path):
    # Under the latency threshold however loaded the machine (an alert past the default 1 s is told, rightly).
    async with running(tmp_path, monitor=MonitorConfig(interval_seconds=0.05, latency_alert_ms=HANG * 1000)) as engine:
        measure, samples = engine.monitor.memory_bytes, []

        def counted() -> int:
            samples.append(1)
            return measure()

        engine.monitor.memory_bytes = counted
        await process(engine, "buy EURUSD volume=0.1 price=1.1")  # its latency is looked at as it is sent
        since = len(samples)
        await until(lambda: len(samples) >= since + 2)  # a whole memory sample, and what it told, since
        # The notifier writes in order: what was told before this is in the outbox with it.
        engine.notifier.send("admin", "the test's last message")
        await until(lambda: "the test's last message" in outbox(engine))
        assert not any(t.startswith(("memory", "alert")) for t in outbox(engine))
