"""A resume that comes as the engine starts paused, before it has recovered what the last run left:
Telegram's hub is up first (a /resume queued while moonhook was down is read at once, and a button
may be pressed while the plugins load). The resume waits for the recovery: an alert the stop left
unfinished is held and counted first, so it is neither run behind a "skipped" answer nor, with the
held alerts run, queued twice (once by the resume, once by the recovery)."""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import trio
import trio.testing

from engine.adapters.storage import AlertJournal, Database
from engine.app import Operations, open_engine
from engine.domain.alerts import parse_body
from engine.domain.config import EngineConfig
from engine.interfaces.telegram.commands import Commands

from support.engine_support import running, submit
from support.fakes import FakeBroker
from support.telegram_support import ADMIN, Chat, ask


class AtStart:
    """An interface that acts (``act(ops)``) as soon as it is started; the engine's recovery comes
    only once the act is over or waits for it: a command read at the start, before the recovery,
    made certain rather than left to the scheduler."""

    def __init__(self, act: Callable[[Operations], Awaitable[Any]]):
        self._act, self.done = act, trio.Event()
        self.answer: Any = None

    async def run(self, ops: Operations, http: Any, task_status=trio.TASK_STATUS_IGNORED) -> None:
        recover, waiting = ops.engine.recover, ops.engine.switchboard.recovered.statistics

        async def after_the_act() -> int:   # the start's recovery, once the act is over or waits for it
            while not (self.done.is_set() or waiting().tasks_waiting):
                await trio.testing.wait_all_tasks_blocked()
            return await recover()
        ops.engine.recover = after_the_act
        task_status.started()
        self.answer = await self._act(ops)
        self.done.set()

    async def stop(self) -> None:
        pass


async def _paused(tmp_path) -> None:
    async with running(tmp_path) as engine:
        engine.pause(by="telegram:4242")


def _config(tmp_path) -> EngineConfig:
    return EngineConfig(scripts=tmp_path / "scripts", data=tmp_path / "data", workers=1)


async def test_a_resume_from_telegram_at_the_start_counts_an_alert_the_stop_left_and_asks(tmp_path):
    await _paused(tmp_path)
    db = Database(tmp_path / "data" / "moonhook.db")   # what a crash leaves: an alert never processed
    alert_id = AlertJournal(db).record(parse_body("buy EURUSD volume=0.1 price=1.1")).id
    db.close()
    broker = FakeBroker()
    telegram = AtStart(lambda ops: ask(Commands(ops, (ADMIN,), clock=ops.clock), Chat(ops.clock).say("/resume")))
    async with open_engine(_config(tmp_path), broker=broker, services=[telegram]) as engine:
        await telegram.done.wait()
        await engine.drain()
        assert telegram.answer.text.startswith("<b>Resume the engine?</b> The alert received while paused"), \
            telegram.answer.text
        assert engine.paused and engine.journal.get(alert_id)["status"] == "paused"
        assert broker.requests == []


class Waiting(FakeBroker):
    """A broker whose orders wait for ``release``: an alert queued stays in flight meanwhile."""

    def __init__(self) -> None:
        super().__init__()
        self.release = trio.Event()

    async def execute(self, request):
        await self.release.wait()
        return await super().execute(request)


async def test_the_held_alerts_run_by_a_resume_at_the_start_are_run_once(tmp_path):
    await _paused(tmp_path)
    async with running(tmp_path) as engine:
        held = await submit(engine, "buy EURUSD volume=0.1 price=1.1")
    broker = Waiting()
    telegram = AtStart(lambda ops: ops.resume(True, by="telegram:4242", shown=[held.id]))   # "Resume and run them"
    async with open_engine(_config(tmp_path), broker=broker, services=[telegram]) as engine:
        await telegram.done.wait()
        broker.release.set()
        await engine.drain()
        assert telegram.answer == 1
        assert engine.journal.get(held.id)["status"] == "done"
        assert [r.client_id for r in broker.requests] == [f"a{held.id}-engine-open"]   # not again by the recovery
