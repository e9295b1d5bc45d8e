"""The journal writer: a burst shares commits, a bad write fails alone, and nothing it
acknowledges is missing from the file."""

import pytest
import trio

from engine.alerts import parse_body
from engine.pipeline.writer import JournalError
from engine.storage import AlertJournal, Database

from engine_support import running


async def test_a_burst_of_alerts_shares_commits_and_every_one_is_journaled(tmp_path):
    async with running(tmp_path) as engine:
        ids = {}

        async def one(n):
            ids[n] = (await engine.submit(parse_body(f"buy EURUSD volume=0.1 price=1.1 id=b{n}"))).id

        async with trio.open_nursery() as nursery:
            for n in range(60):
                nursery.start_soon(one, n)
        await engine.drain()
        writer = engine.writer
        assert writer.commits < writer.writes  # entries and statuses batched together
        assert len(set(ids.values())) == 60
    # read back through a fresh connection: all acknowledged alerts are there, all processed
    journal = AlertJournal(Database(tmp_path / "data" / "moonhook.db"))
    rows = journal.recent(100)
    assert sorted(r["id"] for r in rows) == sorted(ids.values())
    assert {r["status"] for r in rows} == {"done"}


async def test_drain_returns_once_every_status_is_durable(tmp_path):
    # A lane goes on to its next alert without waiting for the last one's status commit; the
    # alert stays pending until that commit, so drain still means "written".
    async with running(tmp_path) as engine:
        ids = [(await engine.submit(parse_body(f"buy EURUSD volume=0.1 price=1.1 id=d{n}"))).id for n in range(20)]
        await engine.drain()
        fresh = AlertJournal(Database(tmp_path / "data" / "moonhook.db"))  # sees only what committed
        assert [fresh.get(i)["status"] for i in ids] == ["done"] * 20


async def test_a_bad_write_fails_alone_in_its_batch(tmp_path):
    async with running(tmp_path) as engine:
        results = {}

        async def alert(n):
            results[n] = await engine.submit(parse_body(f"buy EURUSD volume=0.1 price=1.1 id=c{n}"))

        async def bogus():
            with pytest.raises(JournalError, match="unknown alert status 'bogus'"):
                await engine.writer.set_status(1, "bogus")
            results["bogus"] = "refused"

        async with trio.open_nursery() as nursery:
            nursery.start_soon(alert, 0)
            nursery.start_soon(bogus)
            nursery.start_soon(alert, 1)
        await engine.drain()
        assert results["bogus"] == "refused"
        assert [engine.journal.get(results[n].id)["status"] for n in (0, 1)] == ["done", "done"]


async def test_writes_after_the_writer_stopped_fail_at_once(tmp_path):
    from engine.pipeline.writer import JournalWriter

    journal = AlertJournal(Database(tmp_path / "j.db", shared_lock=False))
    writer = JournalWriter(journal)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        assert (await writer.record(parse_body("buy EURUSD volume=0.1"), 1.0)).id == 1
        nursery.cancel_scope.cancel()
    with trio.fail_after(1), pytest.raises(JournalError, match="has stopped"):
        await writer.record(parse_body("buy EURUSD volume=0.2"), 2.0)
    assert [r["id"] for r in journal.recent()] == [1]


async def test_a_write_waiting_for_the_turn_waits_out_one_commit_at_most(tmp_path):
    """Under a stream of journal commits, the engine's own writes (a lane's order, the ledger)
    wait for the commit under way, then go before the writer's next one: without that, a
    lane lost the race about half the time and waited out several commits in a row."""
    async with running(tmp_path) as engine:
        writer = engine.writer
        waited = []

        async def stream(stop: trio.Event) -> None:
            while not stop.is_set():  # always a write queued behind the commit under way
                writer.set_status_soon(0, "done", None, lambda error: None)  # no alert 0: a no-op
                await trio.sleep(0.0002)

        stop = trio.Event()
        async with trio.open_nursery() as nursery:
            nursery.start_soon(stream, stop)
            await trio.sleep(0.05)
            for _ in range(60):
                before = writer.commits
                await engine.database.writable()
                waited.append(writer.commits - before)
                await trio.sleep(0.003)
            stop.set()
    assert max(waited) <= 1, waited
    assert waited.count(1) >= 5, waited  # the writer was busy: these did wait
