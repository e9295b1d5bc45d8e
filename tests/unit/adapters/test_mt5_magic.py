"""Magic numbers: a plugin's is given at its first order, above ``magic_base``, skipping those
another engine or an expert advisor uses at the account, whose orders would otherwise be taken
for the plugin's own (closed by a `close`, told to its hooks)."""

from __future__ import annotations

import math
import shutil
import time

import trio

from engine.adapters.brokers.mt5.orders import tag_for
from engine.adapters.storage import backup
from engine.domain.orders import Connection, Fill, OrderRequest

from support.mt5_standin import Terminal
from support.mt5_support import log_in_by_hand, mt5, until
from support.waits import HANG

BASE = 7_770_000


def market(cid: str, plugin: str, alert_id: int = 1) -> OrderRequest:
    return OrderRequest("market", cid, symbol="EURUSD", side="buy", volume=0.1, plugin=plugin, alert_id=alert_id)


async def test_a_number_an_expert_uses_at_the_account_is_skipped(tmp_path):
    async with mt5(tmp_path) as broker:
        broker.terminal.open_external("EURUSD", "buy", 0.3, magic=BASE + 1)   # an expert's open position
        (theirs,) = broker.terminal.positions()
        assert (await broker.execute(market("a1-trend-1", "trend"))).ok
        assert (await broker.execute(market("a1-engine-open", "engine"))).ok
        mine = {p["magic"] for p in broker.terminal.positions() if p["ticket"] != theirs["ticket"]}
        assert mine == {BASE + 2, BASE + 3}
        (external,) = [p for p in await broker.positions() if p["external"]]
        assert external["ticket"] == theirs["ticket"]
        closed = await broker.execute(OrderRequest("close", "a2-engine-close", symbol="EURUSD", plugin="engine"))
        assert closed.ok and theirs["ticket"] not in closed.closed and len(closed.closed) == 2


async def test_a_number_seen_only_in_the_deal_history_is_skipped_and_a_given_one_is_kept(tmp_path):
    async with mt5(tmp_path) as broker:   # an expert traded before moonhook connects: only its deals are left
        ticket = broker.terminal.open_external("EURUSD", "buy", 0.3, magic=BASE + 1)
        assert (await broker.execute(OrderRequest("close", "a0-hand-1", ticket=ticket, plugin="hand"))).ok
        assert broker.terminal.positions() == []
    async with mt5(tmp_path) as broker:   # the history is read at connection
        assert (await broker.execute(market("a1-trend-1", "trend"))).ok
        (position,) = broker.terminal.positions()
        assert position["magic"] == broker.book.magic("trend") != BASE + 1
    async with mt5(tmp_path) as again:    # the same number after a restart
        assert again.book.magic("trend") == position["magic"]


async def test_another_engines_order_under_the_same_tag_is_not_taken_for_a_lost_send(tmp_path):
    """Two engines' alert 13 tag their orders alike. This one's send is lost before it reached
    the terminal: the other's position, under the same tag, is not it (a missed entry believed
    made), because its magic number is not this plugin's."""
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        broker.book.magic("trend")
        broker.terminal.open_external("EURUSD", "buy", 0.3, magic=BASE + 50, comment=tag_for("a13-trend-1", 13))
        broker.terminal.script("order_send", "crash_before_send")
        assert not (await broker.execute(market("a13-trend-1", "trend", alert_id=13))).ok
        await until(lambda: broker.connected and not broker.book.unresolved())
        final = await broker.execute(market("a13-trend-1", "trend", alert_id=13))
        assert not final.ok and final.unknown and "showed no trace of the order" in final.error, final
        assert broker.terminal.sent() == 0


async def test_after_a_restore_an_old_alerts_position_under_the_same_tag_is_not_taken_for_a_lost_send(tmp_path):
    """Restored from a backup as docs/operations.md says, the journal numbers its alerts again from
    the backup's: the new alert 2 (a GBPUSD buy) tags its send as the lost alert 2 (a EURUSD buy,
    ten minutes before) did, with the same plugin's number. Its send lost, the old position is not
    it: the entry is not known, never believed made on another symbol."""
    async with mt5(tmp_path) as broker:
        assert (await broker.execute(market("a1-engine-open", "engine"))).ok
        backup(tmp_path / "moonhook.db", tmp_path / "monday.db")
        broker.terminal.set_time(time.time() - 600)
        old = await broker.execute(market("a2-engine-open", "engine", alert_id=2))   # after the backup
        broker.terminal.set_time(None)
    for leftover in tmp_path.glob("moonhook.db*"):
        leftover.unlink()
    shutil.copy(tmp_path / "monday.db", tmp_path / "moonhook.db")
    async with mt5(tmp_path) as broker:
        broker.terminal.script("order_send", "crash_before_send")
        entry = OrderRequest("market", "a2-engine-open", symbol="GBPUSD", side="buy", volume=0.1, plugin="engine",
                             alert_id=2)
        assert not (await broker.execute(entry)).ok
        await until(lambda: broker.connected and not broker.book.unresolved())
        final = await broker.execute(entry)
        assert not final.ok and final.unknown and final.ticket != old.ticket, final
        assert [p["symbol"] for p in broker.terminal.positions()] == ["EURUSD", "EURUSD"]


async def test_a_lost_send_is_found_with_the_trade_servers_clock_a_few_seconds_behind(tmp_path):
    """The send is looked for among what was made since it was written down, on this machine's
    clock; the trade server's runs a few seconds behind it (drift the two clocks commonly have).
    Its position, made, is found: not an entry left "not known" and its alert failed while it
    is open at the broker, which a trader re-sending the alert doubles."""
    async with mt5(tmp_path) as broker:
        await broker.symbol("EURUSD")
        broker.terminal.set_time(time.time() - 3)
        broker.terminal.script("order_send", "crash_after_send")   # executed; its answer lost with the worker
        found = await broker.execute(market("a6-trend-1", "trend", alert_id=6))
        assert found.ok and found.ticket == broker.terminal.positions()[0]["ticket"], found
        assert broker.terminal.sent() == 1


async def test_the_highest_alert_a_tag_at_the_broker_names_is_seen_at_each_connection(tmp_path):
    """What a journal restored from a backup numbers its alerts past (``Broker.alerts_seen``):
    the alerts of a position closed since (its deals), of a pending order cancelled (the history's
    orders) and of one still open, whatever the book, restored or new, knows of them."""
    async with mt5(tmp_path) as broker:
        opened = await broker.execute(market("a4-engine-open", "engine", alert_id=4))
        assert (await broker.execute(OrderRequest("close", "a5-engine-close", ticket=opened.ticket, plugin="engine",
                                                  alert_id=5))).ok
        cancelled, kept = [(await broker.execute(OrderRequest(
            "pending", f"a{n}-trend-1", symbol="EURUSD", side="buy", type="limit", price=1.07, volume=0.1,
            plugin="trend", alert_id=n))).ticket for n in (9, 6)]
        broker.terminal.end_order(cancelled)
        broker.terminal.open_external("EURUSD", "buy", 0.1, comment="mh:a")   # no alert in it
    for leftover in tmp_path.glob("moonhook.db*"):
        leftover.unlink()
    async with mt5(tmp_path) as broker:
        assert broker.alerts_seen == 9 and kept in [o["ticket"] for o in broker.terminal.orders()]


async def test_the_terminal_logged_in_to_another_account_while_moonhook_runs_gets_numbers_of_its_own(tmp_path):
    """The trader logs the terminal in to the live account by hand while moonhook runs: /health still
    said the demo's account, and the live account's orders went under the demo's magic numbers, the
    position of an expert there numbered alike taken for moonhook's. The next poll sees the account,
    the connection is made again there, and the book settles it as at a start on it."""
    live = Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    theirs = live.open_external("EURUSD", "buy", 0.3, magic=BASE + 1)
    async with mt5(tmp_path) as broker:
        assert (await broker.execute(market("a1-engine-open", "engine"))).ok   # the demo's: BASE + 1
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await until(lambda: broker.state.startswith("connected: account 222 on Standin-Live"))
        assert broker.book.get_state("account") == "222@Standin-Live"
        assert (await broker.execute(market("a2-engine-open", "engine", 2))).ok
        (external,) = [p for p in await broker.positions() if p["external"]]
        assert external["ticket"] == theirs
        assert sorted(p["magic"] for p in broker.terminal.positions()) == [BASE + 1, BASE + 2]  # the live account


async def test_the_account_is_known_as_soon_as_the_connection_is_up(tmp_path):
    """The terminal down at the start comes up at the live account: an alert that waited for the connection
    woke before the broker said which account it trades on (``trading_on``, compared by account_change.py),
    and ran there unchecked. The account is said in the same step as the connection is up."""
    Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    async with mt5(tmp_path, path=str(tmp_path / "later.db")) as broker:
        assert not broker.connected and broker.trading_on is None
        seen = []

        async def waiting() -> None:
            await broker.wait_connected(math.inf)
            seen.append(broker.trading_on)
        with trio.fail_after(HANG):  # bounds a hang
            async with trio.open_nursery() as nursery:
                nursery.start_soon(waiting)
                log_in_by_hand(tmp_path / "later.db", tmp_path / "live.db")
    assert seen == ["mt5 222@Standin-Live"]


async def test_a_connection_made_again_at_another_account_is_up_only_once_the_book_is_that_accounts(tmp_path):
    """The terminal logged in to the live account by hand while moonhook runs: the connection was made again
    there and counted as up (an alert waiting for it woke, the engine was told) while the book was still the
    demo's, settled only afterwards: an entry sent meanwhile went to the live account under the demo's magic
    number. The book is the live account's, its numbers forgotten, before the connection is told."""
    Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    async with mt5(tmp_path) as broker:
        assert (await broker.execute(market("a1-engine-open", "engine"))).ok   # the demo's: BASE + 1
        up: list[tuple[str | None, bool]] = []   # at each connection told: the book's account, the demo's number kept

        def listener(event) -> None:
            if isinstance(event, Connection) and event.connected:
                up.append((broker.book.get_state("account"), broker.book.has_magic("engine")))
            broker.told(event)
        broker.listen(listener)
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await until(lambda: bool(up))
    assert up[0] == ("222@Standin-Live", False), up


async def test_an_account_logged_in_to_by_hand_is_seen_before_its_deals_are_read_as_the_old_accounts(tmp_path):
    """The trader logs the terminal in to the live account by hand, where another moonhook project numbers its
    orders as the demo numbered the engine's: the next poll read the deal history before it looked at the
    account, and told that project's entry as the engine's fill (to the trades chat, to the plugins' on_fill).
    The account is looked at first: the connection is made again there, and its deals are known, not told."""
    live = Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    for _ in range(3):
        live.open_external("EURUSD", "buy", 0.1)   # the live account's tickets past the demo's
    async with mt5(tmp_path, poll_seconds=3600.0) as broker:   # the test polls: none is under way at the login
        assert (await broker.execute(market("a1-engine-open", "engine"))).ok   # the demo's: BASE + 1
        live.open_external("EURUSD", "buy", 0.5, magic=BASE + 1, comment="theirs")
        heard = len(broker.events)
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await broker._poll()   # what run does every poll_seconds
        await until(lambda: broker.state.startswith("connected: account 222 on Standin-Live"))
        fills = [e for e in broker.events[heard:] if isinstance(e, Fill)]
    assert fills == []
