"""The MT5 broker on the stand-in terminal (support/mt5_standin.py), started for a test."""

from __future__ import annotations

import os
import signal
import sqlite3
from contextlib import asynccontextmanager
from dataclasses import replace

import trio

from engine.adapters.brokers.mt5 import MT5Broker
from engine.adapters.storage import Database
from engine.domain.config.mt5 import MT5Config
from engine.domain.orders import OrderRequest, OrderResult

from support.mt5_standin import Terminal
from support.waits import until


def config(tmp_path, **changes) -> MT5Config:
    return replace(MT5Config(module="support.mt5_standin", path=str(tmp_path / "terminal.db"), timeout=10.0,
                             init_timeout=10.0, poll_seconds=0.05, resolve_seconds=0.5), **changes)


# The stand-in's trade server clock (Terminal's default), given in the config.
STANDIN_CLOCK = "GMT+0"


def short(timeout: float) -> dict:
    """The ``config`` changes for a broker whose calls give up within ``timeout`` seconds (a test that
    must see a wait expire): the server's clock given, not found at the first connection from some 6,500
    hourly bars, a read that a loaded machine made miss a 1 s timeout (the test began with MetaTrader lost)."""
    return {"timeout": timeout, "server_clock": STANDIN_CLOCK}


# ``short``'s timeout for a test whose MetaTrader is gone, after a lost answer, past the broker's wait for
# it (mt5.timeout): that wait must expire, not the default's 10 s. Room for the calls answered meanwhile (a
# worker's restart and login: up to 0.7 s seen on two loaded cores), and under the 3 s at which the
# reconnection's third try comes (1 s, then 2 s after a failed one), which finds MetaTrader back at once.
GONE_PAST = 2.5


@asynccontextmanager
async def mt5(tmp_path, tell: bool = True, **changes):
    """A started MT5 broker on a fresh terminal (kept across uses in one test) and a database.
    Without ``tell``, the broker of a run that dies before the engine tells what it hears: its
    events are heard (``broker.events``), never confirmed told."""
    terminal = Terminal(tmp_path / "terminal.db")
    database = Database(tmp_path / "moonhook.db")
    broker = MT5Broker(database, config(tmp_path, **changes))
    events: list = []
    broker.listen(lambda event: (events.append(event), tell and broker.told(event)))  # told at once, as the engine
    try:
        await broker.start()
        async with trio.open_nursery() as nursery:
            await nursery.start(broker.run)
            broker.events, broker.terminal = events, terminal
            yield broker
            nursery.cancel_scope.cancel()
    finally:
        with trio.CancelScope(shield=True):
            await broker.stop()
        database.close()


def log_in_by_hand(terminal, other) -> None:
    """The terminal at ``terminal`` logged in to ``other``'s account, its link to moonhook unbroken:
    from the next call on, each answers with that account (the stand-in's state copied over). A
    terminal not there yet (down) comes up so."""
    source, target = sqlite3.connect(other), sqlite3.connect(terminal)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


async def lost_answer(broker, request: OrderRequest, meanwhile=lambda: None) -> OrderResult:
    """``broker.execute(request)`` whose order_send answer is lost: the send, which the test has
    scripted to hang ("hang": it never reaches the server; "hang_after": done), is counted there,
    ``meanwhile()`` happens, then its worker is killed, as the send's deadline would kill it. Not
    by that deadline: one short enough to wait out in a test is one a busy machine makes any call
    miss (a clock read at the start killed, and the test failed on a lost terminal)."""
    before = broker.terminal.hung("order_send")
    results = []

    async def send() -> None:
        results.append(await broker.execute(request))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(send)
        await until(lambda: broker.terminal.hung("order_send") > before)
        meanwhile()
        (worker,) = broker.helper_pids()
        os.kill(worker, signal.SIGKILL)
    return results[0]


async def cancelled_mid_call(broker, fn: str = "positions_get", meanwhile=lambda: None) -> None:
    """A call of ``fn`` held in the terminal, then cancelled by moonhook mid-way (as its stop does),
    ``meanwhile`` done just before: its worker killed, the session made again by the broker's run loop."""
    broker.terminal.script(fn, "hang")
    with trio.CancelScope() as scope:
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.query, fn)
            await until(lambda: broker.terminal.hung(fn) == 1)
            meanwhile()
            scope.cancel()
