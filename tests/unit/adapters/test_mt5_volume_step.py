"""A broker raising a symbol's ``volume_step`` (and ``volume_min``) under an open position of moonhook's: a
0.15-lot EURUSD position, the step now 0.1. Its close sends what the symbol takes (0.1), never a volume the trade
server refuses (10014), and says what is left open and why; run again after a crash mid-close, it sends nothing
more (the walk through ``moonhook run``: tests/e2e/test_walk_mt5_volume_step.py)."""

from __future__ import annotations

import trio

from engine.domain.orders import OrderRequest

from support.mt5_standin import Terminal
from support.mt5_support import mt5, until

LEFT = ("closed 0.1 of 0.15 lots; 0.05 lots of position {t} stay open: EURUSD's volume_step is 0.1 and its "
        "volume_min 0.1 now, and no close of 0.05 lots meets them")


def close(cid: str, ticket: int, volume: float | None = None) -> OrderRequest:
    return OrderRequest("close", cid, ticket=ticket, volume=volume, plugin="trend", alert_id=9)


async def _stepped(broker) -> int:
    """A 0.15-lot EURUSD long, then EURUSD's step and minimum raised to 0.1, the spec read again."""
    opened = await broker.execute(OrderRequest("market", "a8-trend-open", symbol="EURUSD", side="buy", volume=0.15,
                                               plugin="trend", alert_id=8))
    assert opened.ok, opened
    broker.terminal.set_symbol("EURUSD", volume_step=0.1, volume_min=0.1)
    broker._infos.clear()                                     # the spec read again, as a minute later
    return opened.ticket


async def test_a_close_of_a_position_off_the_raised_step_closes_what_it_can_and_says_what_is_left(tmp_path):
    async with mt5(tmp_path) as broker:
        ticket = await _stepped(broker)
        result = await broker.execute(close("a9-trend-close", ticket))
        assert (result.ok, result.volume, result.error) == (False, 0.1, LEFT.format(t=ticket)), result
        assert [p["volume"] for p in broker.terminal.positions()] == [0.05]
        assert broker.terminal.calls("order_send") == broker.terminal.sent() == 2   # nothing refused was sent
        again = await broker.execute(close("a10-trend-close", ticket, volume=0.05))   # the rest: refused unsent
        assert not again.ok and "0.05 lots of position" in again.error and "no close of 0.05" in again.error, again
        assert broker.terminal.calls("order_send") == 2


async def test_a_restart_mid_close_of_a_position_off_the_raised_step_sends_nothing_again(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    async with mt5(tmp_path) as broker:
        ticket = await _stepped(broker)
        terminal.script("order_send", "hang_after")          # the 0.1 executes, its answer never comes
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, close("a9-trend-close", ticket))
            await until(lambda: terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()                      # the engine gone before the answer
    assert [p["volume"] for p in terminal.positions()] == [0.05]
    async with mt5(tmp_path) as broker:                        # the restart: the alert runs again
        result = await broker.execute(close("a9-trend-close", ticket))
        assert (result.ok, result.volume, result.error) == (False, 0.1, LEFT.format(t=ticket)), result
        assert [p["volume"] for p in terminal.positions()] == [0.05]
        assert terminal.sent() == 2 and terminal.calls("order_send") == 2
        assert (await broker.execute(close("a9-trend-close", ticket))).duplicate
