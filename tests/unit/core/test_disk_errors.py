"""An alert answered 200 whose later writes fail (a full disk: SQLITE_FULL on the engine's
connection, or its status write on the journal's) is neither failed nor left for a restart: it
runs again, in its lane's order, once the disk writes, and its order is sent once."""

from __future__ import annotations

import sqlite3

import trio

import engine.core.disk as disk_module
from engine.core.disk import disk_error

from support.engine_support import running, submit
from support.waits import HANG


def disk_full() -> sqlite3.OperationalError:
    """SQLite's own error for a full disk, as its module raises it (with its code)."""
    error = sqlite3.OperationalError("database or disk is full")
    error.sqlite_errorcode, error.sqlite_errorname = 13, "SQLITE_FULL"
    return error


class FullFor:
    """The engine's connection, on a disk full for ``statement`` while ``full`` is set: that
    write fails as SQLite fails it; everything else goes to the real connection."""

    def __init__(self, conn: sqlite3.Connection, statement: str):
        self._conn, self._statement = conn, statement
        self.full = True
        self.failed = 0
        self.failing = trio.Event()  # set at the first failure

    def execute(self, sql: str, *args):
        if self.full and self._statement in sql:
            self.failed += 1
            self.failing.set()
            raise disk_full()
        return self._conn.execute(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def fill(engine, statement: str) -> FullFor:
    full = FullFor(engine.database.db.conn, statement)
    engine.database.db.conn = full
    return full


async def test_an_order_whose_ledger_row_cannot_be_written_is_sent_once_the_disk_writes(tmp_path, monkeypatch):
    """Before, the alert was journaled "failed" for good (an internal error): answered 200, never traded."""
    monkeypatch.setattr(disk_module, "FIRST_RETRY", 0.01)
    async with running(tmp_path) as engine:
        full = fill(engine, "INSERT INTO orders")
        recorded = await submit(engine, "buy EURUSD volume=0.1 price=1.1 id=x1")
        with trio.fail_after(HANG):  # bounds a hang only
            await full.failing.wait()
            while full.failed < 3:  # it waits, runs again, and fails again while the disk is full
                await trio.sleep(0.01)
            sent_meanwhile = await engine.broker.positions()
            full.full = False
            await engine.drain()
        row = engine.journal.get(recorded.id)
        orders = engine.ledger.for_alert(recorded.id)
        positions = await engine.broker.positions()
    assert sent_meanwhile == []  # no order went while its record could not be written
    assert row["status"] == "done", row
    assert [(o["client_id"], o["status"]) for o in orders] == [(f"a{recorded.id}-engine-open", "done")]
    assert len(positions) == 1


async def test_a_later_alert_of_the_symbol_waits_behind_the_one_the_disk_held(tmp_path, monkeypatch):
    """A close accepted while its entry waits for the disk closes that entry, in order."""
    monkeypatch.setattr(disk_module, "FIRST_RETRY", 0.01)
    async with running(tmp_path) as engine:
        full = fill(engine, "INSERT INTO orders")
        entry = await submit(engine, "buy EURUSD volume=0.1 price=1.1 id=x1")
        with trio.fail_after(HANG):  # bounds a hang only
            await full.failing.wait()
            close = await submit(engine, "close EURUSD price=1.2 id=x2")
            full.full = False
            await engine.drain()
        entry_row, close_row = engine.journal.get(entry.id), engine.journal.get(close.id)
        positions = await engine.broker.positions()
    assert entry_row["status"] == "done" and close_row["status"] == "done"
    assert [(o["kind"], o["ok"]) for o in close_row["outcome"]["orders"]] == [("close", True)]
    assert positions == []  # the entry ran first, and the close closed it


async def test_a_status_the_journal_could_not_write_is_written_once_it_writes_again(tmp_path, monkeypatch, caplog):
    """Before, the alert stayed "received" until a restart, which ran it again (or expired it)."""
    async with running(tmp_path) as engine:
        update, refused = engine.journal.update, trio.Event()

        def full_update(db, alert_id, status, outcome=None):
            if not refused.is_set():
                refused.set()
                raise disk_full()
            update(db, alert_id, status, outcome)

        monkeypatch.setattr(engine.journal, "update", full_update)
        first = await submit(engine, "buy EURUSD volume=0.1 price=1.1 id=x1")
        with trio.fail_after(HANG):  # bounds a hang only
            await refused.wait()
            second = await submit(engine, "buy GBPUSD volume=0.1 price=1.3 id=x2")  # the journal writes again
            await engine.drain()
        rows = [engine.journal.get(first.id), engine.journal.get(second.id)]
        orders = engine.ledger.recent(10)
    # Said as it was found: any write since (the slow-alert notice of a loaded machine's) may have ended it already.
    assert "the journal cannot write (OperationalError: database or disk is full)" in caplog.text
    assert [r["status"] for r in rows] == ["done", "done"]
    assert sorted(o["client_id"] for o in orders) == [f"a{first.id}-engine-open", f"a{second.id}-engine-open"]


def test_only_the_disks_errors_are_waited_out():
    assert disk_error(disk_full())
    bad = sqlite3.connect(":memory:")
    try:
        bad.execute("SELECT * FROM nowhere")
    except sqlite3.Error as e:
        assert not disk_error(e)  # a bad statement fails the same way every time: not run again
    assert not disk_error(ValueError("database or disk is full"))
