"""Helpers for engine tests: an engine on a temporary data folder with given scripts."""

from __future__ import annotations

import textwrap
import time
import weakref
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import AsyncIterator, Callable

import trio

from engine.adapters.brokers.base import Broker
from engine.domain.alerts import parse_body
from engine.domain.config import EngineConfig
from engine.app import open_engine
from engine.core import Engine
from engine.interfaces.telegram import TelegramHub

from support.waits import HANG


def write_scripts(folder: Path, scripts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in scripts.items():
        (folder / f"{name}.lua").write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


# The Telegram hub of each running engine that has one, as `moonhook run` makes it.
HUBS: "weakref.WeakKeyDictionary[Engine, TelegramHub]" = weakref.WeakKeyDictionary()


@asynccontextmanager
async def running(tmp: Path, scripts: dict[str, str] | None = None, *, clock: Callable[[], float] | None = None,
                  use_broker: Broker | None = None, **settings) -> AsyncIterator[Engine]:
    """An engine on ``tmp``/data with ``scripts`` written to ``tmp``/scripts, on ``use_broker``
    (``support.fakes.FakeBroker`` where only the orders sent matter; by default the paper broker),
    with its Telegram hub when ``telegram=`` lists bots, as `moonhook run` makes it. ``clock``: the
    engine's wall clock, by default ``time.time`` as it is now (support/clock_shift.py may move it)."""
    folder = write_scripts(tmp / "scripts", scripts or {})
    config = replace(EngineConfig(scripts=folder, data=tmp / "data", workers=1), **settings)
    hub = TelegramHub(config.telegram) if config.telegram.enabled else None
    services = [hub] if hub else []
    async with open_engine(config, clock=clock or time.time, broker=use_broker, services=services) as engine:
        if hub is not None:
            HUBS[engine] = hub
        yield engine


async def submit(engine: Engine, body: str):
    return await engine.submit(parse_body(body, engine.symbols))


async def process(engine: Engine, body: str) -> dict:
    """Submits ``body``, waits until it is processed, and returns its journal row."""
    recorded = await submit(engine, body)
    await engine.drain()
    return engine.journal.get(recorded.id)


LAST = "the test's last message"
# The monitor's slow-alert notice says how loaded the machine was (an alert over monitor.latency_alert_ms, 1 s,
# from its receipt to the broker), not what a test did: told() leaves it out (core/test_notices.py reads it).
SLOW_ALERT = " ms from receipt to the broker (monitor.latency_alert_ms is "


def _outbox(engine) -> list[tuple[str, str]]:
    return [(r["kind"], r["text"]) for r in engine.database.db.query("SELECT kind, text FROM outbox ORDER BY id")]


async def told(engine) -> list[tuple[str, str]]:
    """Everything told so far (less SLOW_ALERT's notices): the notifier writes in order, so once a
    message sent now is in the outbox, so is everything sent before it."""
    engine.notifier.send("admin", LAST)
    with trio.fail_after(HANG):  # bounds a hang
        while ("admin", LAST) not in _outbox(engine):
            await trio.sleep(0.01)
    return [m for m in _outbox(engine) if m != ("admin", LAST) and SLOW_ALERT not in m[1]]


async def first(sub, kind: str, bound: float = 30) -> dict:
    """The first event of ``kind`` the subscription ``sub`` (``engine.events.subscribe()``) hears;
    ``bound`` (seconds) only turns a hang into a failure."""
    with trio.fail_after(bound):
        async for event in sub:
            if event["kind"] == kind:
                return event
    raise AssertionError(f"no {kind} event")


async def relay(out: trio.Event, *events: trio.Event) -> None:
    """Sets ``out`` once any of ``events`` is set (a held broker released by whichever comes first)."""
    async with trio.open_nursery() as nursery:
        async def one(event: trio.Event) -> None:
            await event.wait()
            out.set()
            nursery.cancel_scope.cancel()

        for event in events:
            nursery.start_soon(one, event)


# Opens an entry from each of its own fills: a loop that engine.max_plugin_entries_per_minute stops.
CHAIN = """
function on_fill(f)
  if f.entry == 'in' then
    local ok, r = pcall(orders.market, {symbol = f.symbol, side = 'buy', volume = 0.01})
    if not ok then store.set('stopped', r) end
  end
end"""
