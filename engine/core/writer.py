"""The journal writer: alert entries and status changes, committed together.

One task owns the journal's writes. An alert that arrives alone is committed at once; what
arrives while a commit's fsync runs goes into the next commit, so a burst costs an fsync per
batch instead of one per write. Each write has its own savepoint: a write that fails fails
alone. A commit that fails fails its whole batch, and nothing of it is kept.

Only a batch holding a durable write (a new alert, a switch, a script's store) is fsynced, in a
thread. Statuses and notifications are committed on the loop without an fsync (WAL,
synchronous=NORMAL): the next durable commit makes them durable with it, and a power cut
before that only makes the restart process their alerts again, which finds the orders already
sent by their client ids (engine/adapters/storage/database.py). This saves two fsyncs and two
thread hand-offs an alert.
"""

from __future__ import annotations

import logging
import math
import sqlite3
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable

import outcome
import trio

from engine.domain.alerts import Alert
from engine.adapters.storage import AlertJournal, JournalError, Recorded

log = logging.getLogger("moonhook.journal")

# Durable commits between two checkpoints of the WAL. An alert writes about ten pages, so this
# is about SQLite's own threshold (1,000 pages); its size cannot tell, since a WAL file keeps
# its size once grown.
CHECKPOINT_EVERY = 100


@dataclass(eq=False)
class _Write:
    alert: Alert | None = None        # a new entry, or
    alert_id: int | None = None       # a status change, or
    call: Callable[[Any], Any] | None = None  # another write in the journal's file (the outbox)
    status: str = "received"
    now: float = 0.0
    outcome: dict[str, Any] | None = None
    written: Callable[[Recorded], None] | None = None  # told before the commit
    then: Callable[[BaseException | None], None] | None = None  # told once durable, or failed
    durable: bool = True  # fsynced before it counts as written (see the module's docstring)
    recorded: Recorded | None = None
    error: BaseException | None = None
    done: trio.Event = field(default_factory=trio.Event)


class JournalWriter:
    """Use ``run`` in a nursery; ``record`` and ``set_status`` return once durable."""

    def __init__(self, journal: AlertJournal):
        self._journal = journal
        self._send, self._receive = trio.open_memory_channel[_Write](math.inf)
        self.commits = 0  # batches committed, for the metrics
        self.writes = 0   # writes in them
        self._since_checkpoint = 0  # durable commits since the WAL's last checkpoint
        self.trouble: str | None = None  # why the journal cannot write (a full disk ...), while it cannot
        self.on_trouble: Callable[[str | None], None] = lambda trouble: None  # told when ``trouble`` changes

    async def record(self, alert: Alert, now: float, status: str = "received",
                     written: Callable[[Recorded], None] | None = None) -> Recorded:
        """Journals ``alert``; ``written`` is given its entry (not a duplicate's) once it has
        its id, before the commit makes it durable, so that work on it can start meanwhile."""
        w = await self._put(_Write(alert=alert, status=status, now=now, written=written))
        return w.recorded

    async def set_status(self, alert_id: int, status: str, outcome: dict[str, Any] | None = None) -> None:
        await self._put(_Write(alert_id=alert_id, status=status, outcome=outcome))

    def set_status_soon(self, alert_id: int, status: str, outcome: dict[str, Any] | None,
                        then: Callable[[BaseException | None], None]) -> None:
        """Queues a status change without waiting for it: ``then(error)`` is called once it
        is durable (error None) or has failed. Writes commit in the order they are queued."""
        try:
            self._send.send_nowait(_Write(alert_id=alert_id, status=status, outcome=outcome, then=then,
                                          durable=False))
        except trio.BrokenResourceError:
            then(JournalError("the journal writer has stopped (the engine is stopping)"))

    async def write(self, call: Callable[[Any], Any], durable: bool = True) -> None:
        """Runs ``call(db)`` in the next batch's transaction: another table of the journal's
        file written with it (the outbox), so that two connections never contend. Returns once
        durable; with ``durable=False``, once committed (durable with the next fsync)."""
        await self._put(_Write(call=call, durable=durable))

    async def _put(self, w: _Write) -> _Write:
        try:
            self._send.send_nowait(w)
        except trio.BrokenResourceError:
            raise JournalError("the journal writer has stopped (the engine is stopping)") from None
        with trio.CancelScope(shield=True):  # once queued it is written: wait for the outcome
            await w.done.wait()
        if w.error is not None:
            raise JournalError(f"the journal could not write: {w.error}") from w.error
        return w

    async def run(self) -> None:
        try:
            async for first in self._receive:
                batch = [first]
                while True:
                    try:
                        batch.append(self._receive.receive_nowait())
                    except trio.WouldBlock:
                        break
                await self._write(batch)
        finally:
            # Stopped: what is queued fails, and so does any later write, at once.
            stopped = JournalError("the journal writer has stopped (the engine is stopping)")
            while True:
                try:
                    _finish([self._receive.receive_nowait()], stopped)
                except (trio.WouldBlock, trio.EndOfChannel):
                    break
            self._receive.close()

    async def _write(self, batch: list[_Write]) -> None:
        journal = self._journal
        await journal.turn.take()  # the engine's writes wait for this commit without blocking the loop
        try:
            if not journal.lock.acquire(blocking=False):
                await trio.to_thread.run_sync(journal.lock.acquire)  # a reader holds it
            await self._commit(batch)
        finally:
            journal.turn.give()

    async def _commit(self, batch: list[_Write]) -> None:
        journal = self._journal
        durable = any(w.durable for w in batch)
        transaction = journal.transaction(locked=True, fsync=durable)
        try:
            db = transaction.__enter__()
        except BaseException as e:
            self._troubled(e)
            return _finish(batch, e)
        try:
            for n, w in enumerate(batch):
                self._one(db, n, w)
        except BaseException as e:  # SQLite rolled the whole transaction back (a full disk ...)
            transaction.__exit__(type(e), e, e.__traceback__)
            self._troubled(e)
            return _finish(batch, e)
        for w in batch:
            if w.error is None and w.written is not None and not w.recorded.duplicate:
                w.written(w.recorded)
        try:
            if durable:
                self._since_checkpoint += 1
                checkpoint = self._since_checkpoint >= CHECKPOINT_EVERY
                if checkpoint:
                    self._since_checkpoint = 0
                await _in_thread(partial(_commit_and_checkpoint, journal, transaction, checkpoint))
            else:  # no fsync: a commit to the operating system's cache, quicker than a hand-off
                transaction.__exit__(None, None, None)
        except BaseException as e:
            self._troubled(e)
            return _finish(batch, e)
        self._troubled(next((w.error for w in batch if isinstance(w.error, sqlite3.OperationalError)), None))
        self.commits += 1
        self.writes += len(batch)
        _finish(batch, None)

    def _one(self, db: Any, n: int, w: _Write) -> None:
        """One write in its savepoint: if it fails it fails alone, unless SQLite has ended the
        whole transaction (SQLITE_FULL, SQLITE_IOERR can), which is raised."""
        journal = self._journal
        db.execute(f"SAVEPOINT w{n}")
        try:
            if w.alert is not None:
                w.recorded = journal.insert(db, w.alert, w.now, w.status)
            elif w.call is not None:
                w.call(db)
            else:
                journal.update(db, w.alert_id, w.status, w.outcome)
            db.execute(f"RELEASE w{n}")
        except Exception as e:
            if not db.conn.in_transaction:
                raise
            db.execute(f"ROLLBACK TO w{n}")
            db.execute(f"RELEASE w{n}")
            w.error = e

    def _troubled(self, error: BaseException | None) -> None:
        """Keeps ``trouble`` as the last commit found it (None: it wrote) and tells of changes."""
        trouble = None if error is None else f"{type(error).__name__}: {error}"
        if (trouble is None) != (self.trouble is None):
            self.trouble = trouble
            self.on_trouble(trouble)


def _commit_and_checkpoint(journal: AlertJournal, transaction: Any, checkpoint: bool) -> None:
    """Commits (an fsync), then, with ``checkpoint``, copies the WAL back in the same thread:
    the engine's connections never checkpoint on the event loop. A checkpoint that fails
    fails no write: the next one is tried ``CHECKPOINT_EVERY`` commits later."""
    transaction.__exit__(None, None, None)
    if not checkpoint:
        return
    try:
        journal.checkpoint()
    except sqlite3.Error as e:
        log.warning("could not checkpoint the journal's WAL: %s", e)


def _finish(batch: list[_Write], error: BaseException | None) -> None:
    for w in batch:
        if error is not None:
            w.error, w.recorded = error, None
        w.done.set()
        if w.then is not None:
            w.then(None if w.error is None else JournalError(f"the journal could not write: {w.error}"))


async def _in_thread(fn: Callable[[], None]) -> None:
    """Runs ``fn`` (a commit) in a thread started before this task yields, and waits for it;
    not cancellable: an open transaction would hold the journal.

    ``trio.to_thread.run_sync`` has a schedule point before it starts its thread; a lane run
    there could block the event loop on SQLite's busy wait, behind this very transaction."""
    token = trio.lowlevel.current_trio_token()
    done = trio.Event()
    result: list[outcome.Outcome] = []

    def deliver(out: outcome.Outcome) -> None:
        result.append(out)
        token.run_sync_soon(done.set)

    trio.lowlevel.start_thread_soon(fn, deliver, name="moonhook journal commit")
    with trio.CancelScope(shield=True):
        await done.wait()
    result[0].unwrap()
