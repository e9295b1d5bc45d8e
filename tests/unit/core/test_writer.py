"""The journal writer: a burst shares commits, a bad write fails alone, and nothing it
acknowledges is missing from the file."""

import importlib
import math
import sqlite3
import threading

import pytest
import trio
import trio.lowlevel
import trio.testing

from engine.domain.alerts import parse_body
from engine.core.writer import JournalError
from engine.adapters.storage import AlertJournal, Database

from support.engine_support import running
from support.waits import HANG


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


async def test_drain_returns_once_every_status_is_committed(tmp_path):
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
    from engine.core.writer import JournalWriter

    journal = AlertJournal(Database(tmp_path / "j.db", shared_lock=False))
    writer = JournalWriter(journal)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(writer.run)
        assert (await writer.record(parse_body("buy EURUSD volume=0.1"), 1.0)).id == 1
        nursery.cancel_scope.cancel()
    with trio.fail_after(HANG), pytest.raises(JournalError, match="has stopped"):  # not waiting for ever
        await writer.record(parse_body("buy EURUSD volume=0.2"), 2.0)
    assert [r["id"] for r in journal.recent()] == [1]


class _Gate:
    """Holds each journal commit in its thread until the test lets one go (or opens it)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._allowed = 0
        self._open = False

    def wait(self) -> None:
        with self._changed:
            self._changed.wait_for(lambda: self._open or self._allowed > 0)
            if not self._open:
                self._allowed -= 1

    def allow_one(self) -> None:
        with self._changed:
            self._allowed += 1
            self._changed.notify_all()

    def open(self) -> None:
        with self._changed:
            self._open = True
            self._changed.notify_all()


async def test_a_write_waiting_for_the_turn_waits_out_one_commit_at_most(tmp_path):
    """Under a stream of journal commits, the engine's own writes (a lane's order, the ledger)
    wait for the commit under way, then go before the writer's next one: without that, a
    lane lost the race about half the time and waited out several commits in a row.

    Each commit is held in its thread until the test lets it end, so every write finds one
    under way with the next batch queued behind it. (Writes timed by sleeps found the writer
    busy only as often as the disk's fsync was slow, and on a fast one too rarely.)"""
    async with running(tmp_path) as engine:
        writer, journal, gate = engine.writer, engine.journal, _Gate()
        token = trio.lowlevel.current_trio_token()
        begun_send, begun = trio.open_memory_channel[None](math.inf)
        transaction = journal.transaction

        class Held:
            def __init__(self, inner):
                self._inner = inner

            def __enter__(self):
                return self._inner.__enter__()

            def __exit__(self, *exc):  # the commit, in its thread, the write turn taken
                token.run_sync_soon(begun_send.send_nowait, None)
                gate.wait()
                return self._inner.__exit__(*exc)

        async def queue() -> None:  # a durable no-op write, queued before this returns
            nursery.start_soon(writer.write, lambda db: None)
            await trio.testing.wait_all_tasks_blocked()

        waited: list[int] = []

        async def engine_write() -> None:
            before = writer.commits
            await engine.database.writable()
            waited.append(writer.commits - before)

        # Only the fsynced commits run in a thread; the others commit on the loop, not held.
        journal.transaction = lambda locked=False, fsync=True: (Held if fsync else lambda t: t)(transaction(locked, fsync))
        try:
            async with trio.open_nursery() as nursery:
                await queue()
                await begun.receive()  # a commit under way
                for n in range(30):
                    await queue()  # the writer's next batch, ready behind it
                    nursery.start_soon(engine_write)
                    await trio.testing.wait_all_tasks_blocked()
                    assert len(waited) == n  # the write waits for the commit under way ...
                    gate.allow_one()
                    with trio.fail_after(HANG):
                        await begun.receive()  # ... which ended: the next one is under way
                    assert waited == [1] * (n + 1), waited  # the write went in between
                gate.open()  # the queued writes commit, and their tasks end
        finally:
            gate.open()
            del journal.transaction


async def test_only_new_alerts_are_fsynced_and_the_journal_is_left_durable(tmp_path):
    # Statuses and notifications are committed without an fsync (synchronous=NORMAL for
    # their transaction alone): the next alert's fsync makes them durable with it.
    async with running(tmp_path) as engine:
        conn = engine.journal._d.db.conn
        statements: list[str] = []
        conn.set_trace_callback(statements.append)
        for n in range(5):
            await engine.submit(parse_body(f"buy EURUSD volume=0.1 price=1.1 id=f{n}"))
            await engine.drain()
        conn.set_trace_callback(None)
        level, transactions, current = "FULL", [], None
        for s in statements:
            if s.startswith("PRAGMA synchronous="):
                level = s.split("=")[1]
            elif s == "BEGIN IMMEDIATE":
                current = (level, [])
                transactions.append(current)
            elif current is not None:
                current[1].append(s)
        inserts = [lvl for lvl, body in transactions if any(b.startswith("INSERT INTO alerts") for b in body)]
        statuses = [lvl for lvl, body in transactions
                    if not any(b.startswith("INSERT INTO alerts") for b in body)
                    and any(b.startswith("UPDATE alerts SET status") for b in body)]
        assert inserts == ["FULL"] * 5
        assert len(statuses) >= 1 and set(statuses) == {"NORMAL"}
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL again after each


async def test_the_wal_is_checkpointed_by_the_writers_thread_never_by_a_commit_on_the_loop(tmp_path, monkeypatch):
    # SQLite's automatic checkpoint runs inside whichever commit passes 1,000 pages, with its
    # fsyncs: a lane's commit on the event loop held it for 190 ms (make bench).
    writer_module = importlib.import_module("engine.core.writer")
    monkeypatch.setattr(writer_module, "CHECKPOINT_EVERY", 1)  # every durable commit checkpoints
    async with running(tmp_path) as engine:
        connections = {"journal": engine.journal._d.db.conn, "engine": engine.database.db.conn}
        assert {n: c.execute("PRAGMA wal_autocheckpoint").fetchone()[0] for n, c in connections.items()} == \
            {"journal": 0, "engine": 0}
        checkpoints = {name: [] for name in connections}
        threads = {name: set() for name in connections}
        for name, conn in connections.items():
            def trace(statement, name=name):
                if statement.startswith("PRAGMA wal_checkpoint"):
                    checkpoints[name].append(statement)
                    threads[name].add(threading.current_thread() is threading.main_thread())
            conn.set_trace_callback(trace)
        for n in range(3):
            await engine.submit(parse_body(f"buy EURUSD volume=0.1 price=1.1 id=k{n}"))
            await engine.drain()
        for conn in connections.values():
            conn.set_trace_callback(None)
    assert len(checkpoints["journal"]) >= 3 and checkpoints["engine"] == []
    assert threads["journal"] == {False}  # in the commit's thread, not on the loop


async def test_a_checkpoint_that_fails_fails_no_write(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(importlib.import_module("engine.core.writer"), "CHECKPOINT_EVERY", 1)
    async with running(tmp_path) as engine:
        def broken() -> None:
            raise sqlite3.OperationalError("disk I/O error")
        engine.journal.checkpoint = broken
        recorded = await engine.submit(parse_body("buy EURUSD volume=0.1 price=1.1 id=cp1"))
        await engine.drain()
        assert engine.journal.get(recorded.id)["status"] == "done"
    assert "could not checkpoint the journal's WAL: disk I/O error" in caplog.text
