"""An entry whose answer was lost at the demo account, and the folder then moved to the live one
(``accounts.py``): that send was made at another account. It is not looked for at the live one,
where another moonhook project may have an order of the same tag and number, nor does it hold a
place in ``engine.max_open_positions`` there for the hour it would at the demo."""

from __future__ import annotations

import trio

from engine.adapters.brokers.mt5.orders import tag_for
from engine.core.limits import Limits
from engine.domain.orders import OrderRequest

from support.mt5_standin import Terminal
from support.mt5_support import mt5, until


def market(cid: str, alert: int) -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side="buy", volume=0.1, plugin="trend", alert_id=alert)


async def _lost_at_the_demo(tmp_path) -> dict:
    """The demo's entry of alert 7 sent, no answer, and the engine gone: its send, not known."""
    Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo")
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.script("order_send", "late")
        async with trio.open_nursery() as nursery:
            nursery.start_soon(broker.execute, market("a7-trend-1", 7))
            await until(lambda: broker.terminal.hung("order_send") == 1)
            nursery.cancel_scope.cancel()
        (sent,) = broker.book.unresolved()
    return sent


def _live(tmp_path):
    """The broker at the live account, on the demo's moonhook.db."""
    return mt5(tmp_path, path=str(tmp_path / "live.db"))


async def test_a_demo_entry_whose_answer_was_lost_is_not_found_at_the_live_account(tmp_path):
    live = Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    sent = await _lost_at_the_demo(tmp_path)
    # Another moonhook project at the live account: its alert 7's entry, numbered as the demo numbered this one's
    theirs = live.open_external("EURUSD", "buy", 0.5, magic=sent["request"]["magic"], comment=tag_for("a7-trend-1", 7))
    async with _live(tmp_path) as broker:
        assert (await broker.execute(market("a9-trend-1", 9))).ok
        found = await broker.first_result("a7-trend-1")
        assert found is None or found.ticket != theirs           # not taken for the other project's position


async def test_a_demo_entry_whose_answer_was_lost_holds_no_place_at_the_live_account(tmp_path):
    Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    await _lost_at_the_demo(tmp_path)
    async with _live(tmp_path) as broker:
        assert (await broker.execute(market("a9-trend-1", 9))).ok
        assert broker.book.in_doubt() == []
        assert await Limits(max_positions=2).breach(market("a10-trend-1", 10), broker) is None
