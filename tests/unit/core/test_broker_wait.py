"""An alert that finds the broker disconnected waits for it (engine/core/broker_wait.py), also on
a broker that cannot say the moment it is back (the base ``wait_connected`` looks every half
second): a real engine, its sandbox workers and SQLite file, a broker that loses its connection."""

from __future__ import annotations

import logging
import re

import trio

from engine.domain.orders import BrokerError, OrderRequest

from support.engine_support import running, submit
from support.fakes import FakeBroker
from support.waits import HANG


class Flaky(FakeBroker):
    """Disconnected while ``up`` is False: every order raises, as a lost terminal's does."""

    def __init__(self):
        super().__init__()
        self.up, self.tries = True, 0

    @property
    def connected(self) -> bool:
        return self.up

    async def execute(self, request: OrderRequest):
        self.tries += 1
        if not self.up:
            raise BrokerError("not connected (lost: the test)")
        return await super().execute(request)


async def test_an_alert_waits_for_a_broker_that_only_says_whether_it_is_connected(tmp_path, caplog):
    broker = Flaky()
    async with running(tmp_path, use_broker=broker) as engine:
        broker.up = False
        caplog.set_level(logging.WARNING, logger="moonhook")
        row = await submit(engine, "buy EURUSD volume=0.1 price=1.1 id=waits")
        with trio.fail_after(HANG):
            while not any(f"alert {row.id} waits for the broker" in r.getMessage() for r in caplog.records):
                await trio.sleep(0.02)
        await trio.sleep(1.2)            # two looks and more at the connection
        assert broker.tries <= 4, broker.tries   # it looked, it did not send again and again
        broker.up = True
        await engine.drain()
        assert engine.journal.get(row.id)["status"] == "done" and len(broker.executed) == 1


async def test_an_alert_expiring_while_it_waits_says_it_was_not_executed_not_that_its_order_may_be_live(tmp_path):
    # The broker sent nothing (it raised), yet the ledger kept the order "unknown": the expired
    # alert said "sent before: ...: unknown" and the order was looked for at the broker for minutes.
    broker = Flaky()
    async with running(tmp_path, use_broker=broker) as engine:
        broker.up = False
        row = await submit(engine, "buy EURUSD volume=0.1 price=1.1 ttl=1")
        with trio.fail_after(HANG):
            while engine.journal.get(row.id)["status"] != "expired":
                await trio.sleep(0.02)
        outcome = engine.journal.get(row.id)["outcome"]
        # Its age as found (1 s, or more on a machine that woke the lane late), over its ttl, while it waited.
        assert re.match(r"not executed: received \d+ s ago, over ttl \(1 s\), waiting for the broker", outcome["reason"])
        assert "orders" not in outcome and engine.ledger.for_alert(row.id) == []
        assert broker.tries == 1 and broker.executed == []


async def test_an_order_sent_before_the_wait_that_the_alert_run_again_does_not_place_again_stays_in_its_outcome(
        tmp_path, caplog):
    """``once`` places its entry on the alert's first run only (a flag in its store); the broker is lost
    at ``later``'s order, and the alert is run again from the start once it is back."""
    scripts = {"once": """
        plugin = {priority = 10}
        function on_alert(a)
          if store.get("entered") == nil then
            store.set("entered", true)
            orders.market{symbol = a.symbol, side = "buy", volume = 0.1}
          end
        end""", "later": """
        plugin = {priority = 20}
        function on_alert(a)
          orders.market{symbol = "GBPUSD", side = "buy", volume = 0.1}
          return {handled = true}
        end"""}
    broker = Flaky()
    async with running(tmp_path, scripts, use_broker=broker) as engine:
        caplog.set_level(logging.WARNING, logger="moonhook")
        broker.answer = lambda request: (setattr(broker, "up", request.plugin != "once"), broker.filled(request))[1]
        row = await submit(engine, "buy EURUSD volume=0.1 price=1.1")
        with trio.fail_after(HANG):
            while not any(f"alert {row.id} waits for the broker" in r.getMessage() for r in caplog.records):
                await trio.sleep(0.02)
        broker.up = True
        await engine.drain()
        outcome = engine.journal.get(row.id)["outcome"]
    assert [(o["client_id"], o["ok"], o.get("earlier_run")) for o in outcome["orders"]] == [
        (f"a{row.id}-once-1", True, True), (f"a{row.id}-later-1", True, None)], outcome
    assert [r.client_id for r in broker.executed] == [f"a{row.id}-once-1", f"a{row.id}-later-1"]
