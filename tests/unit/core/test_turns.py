"""A closeall takes its turn in the journal's order against every symbol's alerts (turns.py):
the alerts of other symbols around it run in their own lanes, and without the turn they could
run inside its window. A real engine on a paper broker whose reads and sends are held at the
point where the race would be, until the other alert either did its part or was seen waiting
for its turn (the engine's "waits for" line): each outcome is decided, not timed."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import trio

from engine.adapters.brokers import PaperBroker
from engine.adapters.storage import Database
from engine.domain.config.paper import PaperConfig

from support.engine_support import process, relay, running, submit
from support.waits import HANG


class _Seen(logging.Handler):
    """Sets ``event`` when the engine logs that alert ``waiting`` waits for its turn."""

    def __init__(self, waiting: int, event: trio.Event):
        super().__init__(logging.DEBUG)
        self.waiting, self.event = waiting, event

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith(f"alert {self.waiting} waits for alert "):
            self.event.set()


class HeldPaper(PaperBroker):
    """A paper broker that holds one read of every position (``hold_read``) or one market
    order (``hold_send``) until its event is set; ``sent`` is set by each market order made."""

    def __init__(self, folder: Path):
        super().__init__(Database(folder / "paper.db"), PaperConfig(), time.time)
        self.hold_read: trio.Event | None = None
        self.hold_send: trio.Event | None = None
        self.sent = trio.Event()
        self.read = trio.Event()

    async def positions(self, symbol: str | None = None):
        if symbol is None and self.hold_read is not None:
            hold, self.hold_read = self.hold_read, None
            with trio.fail_after(HANG):   # bounds a hang: the event is set either way
                await hold.wait()
        found = await super().positions(symbol)
        if symbol is None:
            self.read.set()
        return found

    async def execute(self, request):
        if request.kind == "market" and self.hold_send is not None:
            hold, self.hold_send = self.hold_send, None
            with trio.fail_after(HANG):
                await hold.wait()
        result = await super().execute(request)
        if request.kind == "market":
            self.sent.set()
        return result


def _watching(waiting: int, event: trio.Event) -> _Seen:
    seen = _Seen(waiting, event)
    logger = logging.getLogger("moonhook.engine")
    logger.addHandler(seen)
    logger.setLevel(logging.DEBUG)
    return seen


async def _two(engine, held: trio.Event, done: trio.Event, first: str, second: str):
    """Submits ``first`` then ``second`` and waits for both; ``held`` (what the broker holds)
    is released once ``done`` is set or the engine says ``second`` waits for its turn."""
    async with trio.open_nursery() as nursery:
        nursery.start_soon(relay, held, done)
        a = await submit(engine, first)
        seen = _watching(a.id + 1, held)
        try:
            b = await submit(engine, second)
            await engine.drain()
        finally:
            logging.getLogger("moonhook.engine").removeHandler(seen)
    assert b.id == a.id + 1
    return a, b


async def test_an_entry_sent_just_after_a_closeall_is_not_closed_by_it(tmp_path):
    broker = HeldPaper(tmp_path)
    async with running(tmp_path, use_broker=broker) as engine:
        await process(engine, "sell GBPUSD volume=0.1 price=1.27 id=old")
        # The closeall's read of the positions is held until the entry has been sent, or is seen
        # waiting for the closeall.
        broker.hold_read, broker.sent = trio.Event(), trio.Event()
        flat, _ = await _two(engine, broker.hold_read, broker.sent, "closeall id=flat",
                             "buy EURUSD volume=0.1 price=1.1 id=new")
        closed = engine.journal.get(flat.id)["outcome"]["orders"]
        assert [o["client_id"] for o in closed] == [f"a{flat.id}-engine-close-GBPUSD"]
        assert [(p["symbol"], p["side"]) for p in await engine.broker.positions()] == [("EURUSD", "buy")]


async def test_a_closeall_sent_just_after_an_entry_closes_it_too(tmp_path):
    broker = HeldPaper(tmp_path)
    async with running(tmp_path, use_broker=broker) as engine:
        # The entry's send is held until the closeall has read the positions, or is seen
        # waiting for the entry.
        broker.hold_send, broker.read = trio.Event(), trio.Event()
        _, flat = await _two(engine, broker.hold_send, broker.read, "buy EURUSD volume=0.1 price=1.1 id=new",
                             "closeall id=flat")
        assert engine.journal.get(flat.id)["outcome"]["orders"][0]["closed"]
        assert await engine.broker.positions() == []
