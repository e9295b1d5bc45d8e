"""A cancel never closes a position. The engine removes a pending order by its ticket, and the
order's fill opens a position under that same ticket (at MetaTrader as on paper): a removal sent
just after the market reached the order's price found the position and closed it. A real engine
on a paper broker whose market reaches the order between the cancel's plan and its send."""

from __future__ import annotations

import time
from pathlib import Path

from engine.adapters.brokers import PaperBroker
from engine.adapters.storage import Database
from engine.domain.config.paper import PaperConfig

from support.engine_support import process, running


class FillsFirst(PaperBroker):
    """A paper broker whose market reaches ``price`` on ``symbol`` just before the next removal
    by ticket is executed: after the engine read the pending orders, before its send."""

    def __init__(self, folder: Path):
        super().__init__(Database(folder / "paper.db"), PaperConfig(), time.time)
        self.move: tuple[str, float] | None = None

    async def execute(self, request):
        if request.kind == "close" and request.ticket is not None and self.move is not None:
            (symbol, price), self.move = self.move, None
            await self.quote(symbol, price, time.time())
        return await super().execute(request)


async def test_a_cancel_that_meets_its_order_filled_leaves_the_position_open_and_says_so(tmp_path):
    broker = FillsFirst(tmp_path)
    async with running(tmp_path, use_broker=broker) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.1000 id=quote")       # the market, and a long
        placed = await process(engine, "buylimit EURUSD volume=0.2 price=1.0950 id=limit")
        ticket = placed["outcome"]["orders"][0]["ticket"]
        broker.move = ("EURUSD", 1.0940)
        cancel = await process(engine, "cancel EURUSD id=cancel")
        assert cancel["status"] == "failed"
        assert cancel["outcome"]["orders"][0]["error"] == (f"ticket {ticket}: the pending order was filled before it "
                                                          f"could be removed: position {ticket} is open")
        assert sorted(p["volume"] for p in await engine.broker.positions()) == [0.1, 0.2]
