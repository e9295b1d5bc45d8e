"""The terminal logged in by hand to another account (another server) while moonhook runs: the
deals told at the old account are not this one's. Another server numbers its deals as it likes, the
same tickets as the old one's among them: a deal here whose ticket was told there within the last
minute (``History``'s mark of the deals told) was taken for told, and never reached ``on_fill``."""

from __future__ import annotations

import json

from engine.adapters.brokers.mt5.history import TOLD, WATERMARK
from engine.domain.orders import Fill, OrderRequest, StopOut

from support.mt5_standin import Terminal
from support.mt5_support import log_in_by_hand, mt5, until


def market(cid: str, alert: int) -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side="buy", volume=0.1, plugin="trend", alert_id=alert)


def fills(broker, cid: str) -> list[Fill]:
    return [e for e in broker.events if isinstance(e, Fill) and e.client_id == cid]


async def test_a_deal_at_the_new_account_numbered_as_one_told_at_the_old_a_moment_ago_is_told(tmp_path):
    Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo")
    Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    async with mt5(tmp_path) as broker:
        assert (await broker.execute(market("a7-trend-1", 7))).ok
        (demo,) = fills(broker, "a7-trend-1")
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await until(lambda: broker.account_key == "222@Standin-Live" and broker.book.get_state(WATERMARK))
        assert str(demo.deal) not in json.loads(broker.book.get_state(TOLD))   # the marks kept: this account's
        assert (await broker.execute(market("a9-trend-1", 9))).ok
        (live,) = fills(broker, "a9-trend-1")   # told by the poll that follows an order
        assert live.deal == demo.deal   # numbered as the other server numbered the deal told a moment ago


async def test_a_stop_out_at_the_new_account_is_its_own_not_more_of_the_old_accounts(tmp_path):
    # A stop-out within 10 s of the last one read is more of it, told once: kept across the login to another account,
    # the new account's stop-out was joined to the old one's, and its admins never heard of it.
    Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo")
    Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    async with mt5(tmp_path) as broker:
        assert (await broker.execute(market("a7-trend-1", 7))).ok
        (position,) = broker.terminal.positions()
        broker.terminal.stop_out(position["ticket"])
        await until(lambda: [e for e in broker.events if isinstance(e, StopOut)])
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await until(lambda: broker.account_key == "222@Standin-Live" and broker.book.get_state(WATERMARK))
        assert (await broker.execute(market("a9-trend-1", 9))).ok
        (position,) = broker.terminal.positions()   # the terminal's file is the live account's now
        broker.terminal.stop_out(position["ticket"])
        await until(lambda: len([e for e in broker.events if isinstance(e, StopOut)]) == 2)
        assert [bool(e.more) for e in broker.events if isinstance(e, StopOut)] == [False, False]
