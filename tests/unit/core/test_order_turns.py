"""Orders on one symbol from different places take turns, from ``on_order`` to the broker's
answer (engine/core/order_turns.py): a plugin's order placed from another symbol's alert, a
timer or a fill is judged by the guards on what an alert's order in flight there did. A real
engine on a paper broker whose send of one order is held until the other order has gone, or
is seen waiting for its turn (the engine's "waits for the order in flight" line): each outcome
is decided, not timed."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import trio

from engine.adapters.brokers import PaperBroker
from engine.adapters.storage import Database
from engine.app import Operations
from engine.domain.config.paper import PaperConfig

from support.engine_support import process, relay, running, submit, told
from support.fakes import FakeBroker
from support.paths import ROOT
from support.waits import HANG

ONE_POSITION = (ROOT / "examples/strategies/one_position.lua").read_text(encoding="utf-8")
# On every EURUSD alert, a GBPUSD entry of its own (a basket, a correlated pair).
ALSO_GBPUSD = """
plugin = {symbols = {"EURUSD"}}
function on_alert(a)
  local r = orders.market{symbol = "GBPUSD", side = "buy", volume = 0.1}
  store.set("answer", r.ok and "placed" or r.error)
end
"""
# On every EURUSD alert, GBPUSD flattened (a basket's exit).
FLATTENS_GBPUSD = """
plugin = {symbols = {"EURUSD"}}
function on_alert(a)
  local r = orders.close{symbol = "GBPUSD"}
  store.set("answer", r.ok and "closed" or r.error)
end
"""
# Adds a stop order of its own, on the same symbol, to each engine entry it is asked about.
STOP_BESIDE = """
function on_order(o)
  if o.plugin == "engine" and o.kind == "market" then
    local r = orders.pending{symbol = o.symbol, side = "sell", type = "stop", price = 1.2, volume = 0.1}
    store.set("answer", r.ok and "placed" or r.error)
  end
end
"""


class HeldSend(PaperBroker):
    """A paper broker that holds the send of ``held`` (a client id) until ``release`` is set;
    ``sending`` is set once it is held, ``executed[client_id]`` once each order is answered."""

    def __init__(self, folder: Path, held: str):
        super().__init__(Database(folder / "paper.db"), PaperConfig(), time.time)
        self.held, self.sending, self.release = held, trio.Event(), trio.Event()
        self.executed: dict[str, trio.Event] = {}

    def answered(self, client_id: str) -> trio.Event:
        return self.executed.setdefault(client_id, trio.Event())

    async def execute(self, request):
        if request.client_id == self.held:
            self.sending.set()
            with trio.fail_after(HANG):   # bounds a hang: the event is set either way
                await self.release.wait()
        result = await super().execute(request)
        self.answered(request.client_id).set()
        return result


class StaleRead(HeldSend):
    """Once ``stale`` is set, the next read of a symbol's positions answers what it read, after
    ``release``: a view read before the orders sent meanwhile (``read`` is set once it has read)."""

    def __init__(self, folder: Path, held: str):
        super().__init__(folder, held)
        self.stale, self.read = False, trio.Event()

    async def positions(self, symbol: str | None = None):
        found = await super().positions(symbol)
        if symbol is not None and self.stale:
            self.stale = False
            self.read.set()
            with trio.fail_after(HANG):
                await self.release.wait()
        return found


class _Waits(logging.Handler):
    """Sets ``event`` when the engine logs that an order waits for the one in flight on its symbol."""

    def __init__(self, event: trio.Event):
        super().__init__(logging.DEBUG)
        self.event = event

    def emit(self, record: logging.LogRecord) -> None:
        if " waits for the order in flight on " in record.getMessage():
            self.event.set()


async def test_a_plugins_entry_from_another_symbols_alert_meets_the_guard_after_the_entry_in_flight(tmp_path):
    """one_position.lua allows one GBPUSD position. The GBPUSD alert's entry passed its
    on_order and is at the broker when a EURUSD alert's plugin places a GBPUSD entry: judged
    before that send, it passed too, and the account held two GBPUSD positions."""
    broker = HeldSend(tmp_path, held="a1-engine-open")
    logger = logging.getLogger("moonhook.engine")
    waits, level = _Waits(trio.Event()), logger.level
    logger.addHandler(waits)
    logger.setLevel(logging.DEBUG)
    try:
        async with running(tmp_path, {"one_position": ONE_POSITION, "basket": ALSO_GBPUSD},
                           use_broker=broker) as engine:
            async with trio.open_nursery() as nursery:
                nursery.start_soon(relay, broker.release, broker.answered("a2-basket-1"), waits.event)
                assert (await submit(engine, "buy GBPUSD volume=0.1 price=1.27")).id == 1
                await broker.sending.wait()
                assert (await submit(engine, "buy EURUSD volume=0.1 price=1.1")).id == 2
                await engine.drain()
            assert engine.store.get("basket", "answer") == "vetoed by one_position: already a position open on GBPUSD"
            assert [p["plugin"] for p in await engine.broker.positions("GBPUSD")] == ["engine"]
            assert [engine.journal.get(n)["status"] for n in (1, 2)] == ["done", "done"]
    finally:
        logger.removeHandler(waits)
        logger.setLevel(level)


async def test_an_order_placed_from_on_order_on_the_same_symbol_goes_inside_its_turn(tmp_path):
    """The order in flight holds the symbol's turn; one a plugin places from its on_order is
    part of it, and does not wait for it (which would be for ever)."""
    async with running(tmp_path, {"beside": STOP_BESIDE}) as engine:
        with trio.fail_after(HANG):   # bounds a hang
            await submit(engine, "buy GBPUSD volume=0.1 price=1.27")
            await engine.drain()
        assert engine.store.get("beside", "answer") == "placed"
        assert [p["symbol"] for p in await engine.broker.positions()] == ["GBPUSD"]
        assert [(o["symbol"], o["type"]) for o in await engine.broker.orders()] == [("GBPUSD", "stop")]


async def test_a_close_does_not_wait_behind_an_entry_waiting_for_its_spread(tmp_path, caplog):
    """An entry waiting for a wide spread to narrow (engine.max_spread_wait) has not taken its
    symbol's turn: an administrator's close of that symbol goes meanwhile."""
    wide = {"bid": 1.27, "ask": 1.2720, "time": 0.0}   # 20 pips
    open_position = {"ticket": 7, "symbol": "GBPUSD", "side": "buy", "volume": 0.1, "price_open": 1.26, "sl": None,
                     "tp": None, "profit": 0.0, "plugin": "engine", "comment": None, "opened_at": 0.0}
    broker = FakeBroker(prices={"GBPUSD": wide}, positions=[open_position])
    async with running(tmp_path, use_broker=broker, max_spread_pips={"*": 3.0}, max_spread_wait=100.0) as engine:
        await submit(engine, "buy GBPUSD volume=0.1")
        with trio.fail_after(HANG):
            while not any("waits up to 100 s for it to narrow" in r.getMessage() for r in caplog.records):
                await trio.sleep(0.01)
            ((ticket, result),) = await Operations(engine).close_positions([7], plugin="api", origin="api:/close",
                                                                            comment="api close")
        assert ticket == 7 and result.ok
        assert [r.kind for r in broker.executed] == ["close"]
        broker.prices["GBPUSD"] = {**wide, "ask": 1.2701}
        await engine.drain()
        assert [r.kind for r in broker.executed] == ["close", "market"]


async def test_a_reversal_whose_short_a_plugin_closed_meanwhile_is_done_not_failed(tmp_path):
    """A strategy's reversal planned its close on the short it read; a plugin on a EURUSD alert
    closed GBPUSD before that close's turn. The close was sent all the same and refused ("no open
    sell position"): the alert failed and the trades chat was told of a refused order, while the
    account was just where the strategy wanted it (a trader re-sending the alert doubles the long)."""
    broker = StaleRead(tmp_path, held="")
    async with running(tmp_path, {"basket": FLATTENS_GBPUSD}, use_broker=broker) as engine:
        await process(engine, "sell GBPUSD volume=0.1 price=1.27")
        broker.stale = True
        reversal = await submit(engine, "buy GBPUSD volume=0.1 price=1.27 position=long")
        await broker.read.wait()
        await submit(engine, "buy EURUSD volume=0.1 price=1.1")
        await broker.answered(f"a{reversal.id + 1}-basket-1").wait()
        broker.release.set()
        await engine.drain()
        row = engine.journal.get(reversal.id)
        assert row["status"] == "done"
        assert row["outcome"]["note"] == "no sell position left on GBPUSD to close: closed by an order placed meanwhile"
        assert [o["client_id"] for o in row["outcome"]["orders"]] == [f"a{reversal.id}-engine-open"]
        assert [(p["symbol"], p["side"]) for p in await engine.broker.positions("GBPUSD")] == [("GBPUSD", "buy")]
        assert not [text for kind, text in await told(engine) if "refused" in text]


async def test_a_plugins_entry_on_a_wide_spread_is_refused_at_once_not_held_with_every_hook(tmp_path):
    """A plugin's entry is placed from inside its hook, holding the hook lock every plugin's hooks
    and every alert's chain need: waiting there for a spread to narrow (up to max_spread_wait)
    would stall every symbol's alerts, and let them expire. It is refused at once instead."""
    wide = {"bid": 1.27, "ask": 1.2720, "time": 0.0}   # 20 pips
    broker = FakeBroker(prices={"GBPUSD": wide})
    async with running(tmp_path, {"basket": ALSO_GBPUSD}, use_broker=broker, max_spread_pips={"*": 3.0},
                       max_spread_wait=100.0) as engine:
        with trio.fail_after(HANG):
            row = await process(engine, "buy EURUSD volume=0.1 price=1.1")
            other = await process(engine, "buy USDJPY volume=0.1 price=150")
        answer = engine.store.get("basket", "answer")
    # It never waited: the refusal does not say it did (the trader would look for a wait that never was).
    assert answer == ("over engine.max_spread_pips: GBPUSD's spread is 20.0 pips (bid 1.27, ask 1.272), at most 3; "
                      "a plugin's entry does not wait for it to narrow"), answer
    assert row["status"] == "done" and other["status"] == "done"
    assert [(r.symbol, r.kind) for r in broker.executed] == [("EURUSD", "market"), ("USDJPY", "market")]
