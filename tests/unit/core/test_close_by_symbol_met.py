"""An alert's close by symbol on MetaTrader 5 one of whose positions its sl closed between the look and the
send: nothing of the symbol is left open, as the trader asked. The alert is done, its order and the ledger
say which position the close closed and what closed the other; the trades chat tells each position's close
(by the close, by the sl), never "order refused ... What it did not close of EURUSD stays open"."""

from __future__ import annotations

import trio

from support.engine_support import process, running, told
from support.mt5_standin import Terminal
from support.mt5_support import config as mt5_config, until
from support.waits import HANG


async def test_a_close_by_symbol_whose_other_position_its_sl_closed_meanwhile_is_done_and_told_so(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        assert (await process(engine, "buy EURUSD volume=0.1 id=open-1"))["status"] == "done"
        assert (await process(engine, "buy EURUSD volume=0.1 sl=1.07 id=open-2"))["status"] == "done"
        first, second = [p["ticket"] for p in terminal.positions()]
        terminal.script("order_send", "hang")   # the first close held: the sl is hit meanwhile
        rows = []

        async def close() -> None:
            rows.append(await process(engine, "close EURUSD id=close"))
        async with trio.open_nursery() as nursery:
            nursery.start_soon(close)
            await until(lambda: terminal.hung("order_send") == 1)
            terminal.set_price("EURUSD", 1.0695, 1.0696)
            terminal.release("order_send")
        (row,) = rows
        (deal,) = [d for d in terminal.deals() if d["position_id"] == second and d["entry"] == 1]
        said = f"position {second} was closed before it, by its sl (deal {deal['ticket']} at 1.0695)"
        (order,) = row["outcome"]["orders"]
        assert row["status"] == "done" and (order["ok"], order["closed"], order["note"]) == (True, [first], said), row
        assert "error" not in order, order
        (ledger,) = engine.ledger.for_alert(row["id"])
        assert ledger["status"] == "done" and ledger["result"]["note"] == said, ledger

        def closes(texts: list[str]) -> list[str]:
            return [t for t in texts if t.startswith("position ") and " closed by " in t]
        with trio.fail_after(HANG):
            while len(closes(texts := [t for _, t in await told(engine)])) < 2:
                await trio.sleep(0.02)
        assert not [t for t in texts if t.startswith("order refused")], texts
        assert sorted(" closed by sl " in t for t in closes(texts)) == [False, True], texts
    assert terminal.positions() == [] and terminal.sent() == 3   # two entries, one close
