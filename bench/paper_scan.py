"""The paper broker's market order against the number of positions left open (the margin check
reads the account's exposure, kept by triggers: one row a symbol and side, whatever the count).

    python -m bench.paper_scan [ORDERS]

Sends ORDERS (default 6,000) market orders of 0.01 lot on one paper account, buys and sells in
turn, none closed, and prints the milliseconds an order took by the thousand. Not part of
``make bench``: bench/NOTES.md quotes it where the exposure was introduced."""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import trio

from engine.adapters.brokers.paper import PaperBroker
from engine.adapters.storage import Database
from engine.domain.orders import OrderRequest

from .engine_bench import BENCH_PAPER


async def scan(orders: int) -> list[float]:
    """Milliseconds an order, by the thousand."""
    with tempfile.TemporaryDirectory() as tmp:
        database = Database(Path(tmp) / "moonhook.db")
        broker = PaperBroker(database, BENCH_PAPER)
        out, t0 = [], time.perf_counter()
        for n in range(1, orders + 1):
            side = "buy" if n % 2 else "sell"
            result = await broker.execute(OrderRequest("market", f"c{n}", symbol="EURUSD", side=side,
                                                       volume=0.01, price=1.1, plugin="bench"))
            assert result.ok, result.error
            if n % 1000 == 0:
                t1 = time.perf_counter()
                out.append(round((t1 - t0) / 1000 * 1000, 3))
                t0 = t1
        database.close()
    return out


if __name__ == "__main__":
    for thousand, ms in enumerate(trio.run(scan, int(sys.argv[1]) if len(sys.argv) > 1 else 6000), start=1):
        print(f"{thousand * 1000} open positions: {ms} ms an order")
