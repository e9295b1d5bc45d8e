"""A close by symbol ("close EURUSD", several positions) one of whose positions its sl closed between the
look at the positions and its close's send (the stand-in holds the first send while the price moves): the
trader's intent, nothing of the symbol left open, is met. Done, saying what closed that position; never a
failure that says what it did not close stays open. Paper, whose look and closes are one step, answers
the same: done, closing the positions left."""

from __future__ import annotations

import trio

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage import Database
from engine.domain.orders import OrderRequest

from support.mt5_support import mt5, until


def entry(n: int, **stops) -> OrderRequest:
    return OrderRequest("market", f"a{n}-trend-open", symbol="EURUSD", side="buy", volume=0.1, plugin="trend",
                        alert_id=n, **stops)


CLOSE = OrderRequest("close", "a9-trend-1", symbol="EURUSD", plugin="trend", alert_id=9)


async def test_a_close_by_symbol_whose_other_position_its_sl_closed_meanwhile_is_done_saying_so(tmp_path):
    async with mt5(tmp_path) as broker:
        first = (await broker.execute(entry(1))).ticket
        second = (await broker.execute(entry(2, sl=1.07))).ticket
        broker.terminal.script("order_send", "hang")   # the first close held: the sl is hit meanwhile
        results = []

        async def close() -> None:
            results.append(await broker.execute(CLOSE))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(close)
            await until(lambda: broker.terminal.hung("order_send") == 1)
            broker.terminal.set_price("EURUSD", 1.0695, 1.0696)
            broker.terminal.release("order_send")
        (done,) = results
        (deal,) = [d for d in broker.terminal.deals() if d["position_id"] == second and d["entry"] == 1]
        assert (done.ok, done.closed, done.error, done.unknown) == (True, [first], None, False), done
        assert done.note == f"position {second} was closed before it, by its sl (deal {deal['ticket']} at 1.0695)"
        again = await broker.execute(CLOSE)   # its answer kept, as the journal and a repeat read it
        assert (again.ok, again.closed, again.note, again.duplicate) == (True, [first], done.note, True), again
        assert broker.terminal.positions() == [] and broker.terminal.sent() == 3   # two entries, one close


async def test_paper_closes_the_positions_left_when_an_sl_closed_one_before_the_close(tmp_path):
    database = Database(tmp_path / "moonhook.db")
    broker = PaperBroker(database)
    try:
        await broker.quote("EURUSD", 1.08, 0)
        first = (await broker.execute(entry(1))).ticket
        await broker.execute(entry(2, sl=1.07))
        await broker.quote("EURUSD", 1.0695, 0)   # the sl hit
        done = await broker.execute(CLOSE)
        assert (done.ok, done.closed, done.error) == (True, [first], None), done
        assert await broker.positions() == []
    finally:
        database.close()
