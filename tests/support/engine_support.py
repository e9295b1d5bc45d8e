"""Helpers for engine tests: an engine on a temporary data folder with given scripts."""

from __future__ import annotations

import textwrap
import time
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path
from typing import AsyncIterator, Callable

from engine.adapters.brokers.base import Broker
from engine.domain.alerts import parse_body
from engine.domain.config import EngineConfig
from engine.core import Engine, open_engine


def write_scripts(folder: Path, scripts: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in scripts.items():
        (folder / f"{name}.lua").write_text(textwrap.dedent(source), encoding="utf-8")
    return folder


@asynccontextmanager
async def running(tmp: Path, scripts: dict[str, str] | None = None, *, clock: Callable[[], float] = time.time,
                  use_broker: Broker | None = None, **settings) -> AsyncIterator[Engine]:
    """An engine on ``tmp``/data with ``scripts`` written to ``tmp``/scripts, on ``use_broker``
    (``support.fakes.FakeBroker`` where only the orders sent matter; by default the paper broker)."""
    folder = write_scripts(tmp / "scripts", scripts or {})
    config = replace(EngineConfig(scripts=folder, data=tmp / "data", workers=1), **settings)
    async with open_engine(config, clock=clock, broker=use_broker) as engine:
        yield engine


async def submit(engine: Engine, body: str):
    return await engine.submit(parse_body(body, engine.symbols))


async def process(engine: Engine, body: str) -> dict:
    """Submits ``body``, waits until it is processed, and returns its journal row."""
    recorded = await submit(engine, body)
    await engine.drain()
    return engine.journal.get(recorded.id)
