"""A trader on MetaTrader 5 told in Telegram "order not known" (the stand-in terminal, tests/support/
mt5_standin.py, loses order_send's answer; Telegram's servers are the Bot API stand-in) is told how it
ended once MetaTrader shows it: a pending order placed late, an entry the trade server refused. Told
once, in the chat that said "not known", and not again after a restart; nothing is sent twice."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from support.botapi_thread import telegram_table, threaded_bot_api
from support.e2e_support import losing_mt5_user, until
from support.mt5_standin import Terminal
from support.telegram_support import notices

TOKEN = "5150:walk-bot-SECRET-part"
ADMIN = 4242


@contextmanager
def _told(user, tmp_path) -> Iterator[tuple[Callable[[], list[str]], Terminal, Any]]:
    """The stand-in terminal, a config on it with a short answer's timeout and the Bot API stand-in's
    bot, and what the admin's chat was shown (``said()``, each notice apart, as text)."""
    with threaded_bot_api({TOKEN: "moonhook_bot"}) as api:
        def said() -> list[str]:
            return notices(api.texts(TOKEN, ADMIN, shown=True))

        telegram = telegram_table(api.url, TOKEN, ADMIN)
        terminal, config = losing_mt5_user(user, tmp_path, telegram)
        yield said, terminal, config


def _lost(run, terminal, said, alert: str, kind: str, gone: bool = False) -> dict:
    """``alert`` sent, its order_send's answer lost (its worker dying mid-send; or, ``gone``, held in
    the terminal, which goes meanwhile: given up on, its worker killed, looked for once it is back), the
    alert's order not known, and the trader told so ("order not known: KIND EURUSD"). The alert."""
    terminal.script("order_send", "late" if gone else "crash_late")
    sent = run.webhook(alert)
    if gone:
        until(lambda: terminal.hung("order_send"), lambda n: n == 1, "the send reaching the terminal")
        terminal.disconnect()
        run.kill_mt5_worker()   # given up on now, not at mt5.timeout (test_walk_mt5_lost's first waits it out)
    lost = run.settled(sent["id"])
    assert lost["orders"][0]["status"] == "unknown", lost["outcome"]
    until(said, lambda texts: any(f"order not known: {kind} EURUSD" in t for t in texts), "not known, told")
    return lost


def test_a_pending_order_whose_answer_was_lost_is_told_once_placed_late(user, tmp_path):
    with _told(user, tmp_path) as (said, terminal, config):
        run = user.start("run", config=config, cwd="bot")
        lost = _lost(run, terminal, said, "buylimit EURUSD volume=0.1 price=1.05 sl=1.04 id=walk-lost-pending",
                     "pending")
        assert terminal.deliver_late() == [10008] and len(terminal.orders()) == 1   # placed after all
        (ticket,) = [o["ticket"] for o in terminal.orders()]
        until(said, lambda texts: any("placed after all" in t for t in texts), "the placing told")
        late = [t for t in said() if "placed after all" in t]
        assert len(late) == 1 and f"ticket {ticket}" in late[0] and "pending buy limit 0.1 EURUSD" in late[0], late
        assert run.get(f"/api/alerts/{lost['id']}")["orders"][0]["status"] == "done"
        assert run.interrupt() == 0

        again = user.start("run", config=config, cwd="bot")   # a restart tells it not again
        opened = again.settled(again.webhook("buy EURUSD volume=0.1 sl=1.07 id=walk-after")["id"])
        assert opened["status"] == "done", opened["outcome"]
        texts = until(said, lambda texts: any("opened buy 0.1 EURUSD" in t for t in texts), "the next trade told")
        assert len([t for t in texts if "placed after all" in t]) == 1, texts
        assert terminal.sent() == 2 and len(terminal.orders()) == 1   # the pending order once, the entry
        assert again.interrupt() == 0


def test_an_entry_whose_answer_was_lost_that_the_trade_server_refused_is_told_refused(user, tmp_path):
    with _told(user, tmp_path) as (said, terminal, config):
        run = user.start("run", config=config, cwd="bot")
        lost = _lost(run, terminal, said, "buy EURUSD volume=0.1 sl=1.07 id=walk-lost-refused", "market", gone=True)
        (rejected,) = terminal.reject_late()   # the trade server had it, and rejected it
        terminal.reconnect()
        until(said, lambda texts: any("refused at the broker after all" in t for t in texts), "the refusal told")
        told = [t for t in said() if "refused at the broker after all" in t]
        assert len(told) == 1 and f"order {rejected}" in told[0] and "market EURUSD" in told[0], told
        alert = run.get(f"/api/alerts/{lost['id']}")
        assert alert["orders"][0]["status"] == "refused", alert
        assert terminal.positions() == [] and terminal.sent() == 0   # nothing opened, nothing sent again
        assert run.interrupt() == 0
        assert "Traceback" not in run.text()


def test_a_cancel_judged_not_executed_after_its_answer_was_lost_that_removed_the_order_late_is_moonhooks(user,
                                                                                                        tmp_path):
    # Its order still there when it was looked for: "not executed" (the order unchanged); then the far side
    # of the bridge removed it. Not a drop moonhook did not ask for: its cancel, done after all.
    with _told(user, tmp_path) as (said, terminal, config):
        run = user.start("run", config=config, cwd="bot")
        placed = run.settled(run.webhook("buylimit EURUSD volume=0.1 price=1.05 sl=1.04 id=walk-limit")["id"])
        assert placed["status"] == "done", placed["outcome"]
        (ticket,) = [o["ticket"] for o in terminal.orders()]
        terminal.script("order_send", "crash_late")
        lost = run.settled(run.webhook("cancel EURUSD id=walk-lost-cancel")["id"])
        assert lost["orders"][0]["status"] == "refused" and "unchanged" in lost["outcome"]["orders"][0]["error"], lost
        until(said, lambda texts: any(f"Pending order {ticket} on EURUSD stays" in t for t in texts), "refused, told")
        assert terminal.deliver_late() == [10009] and terminal.orders() == []   # removed after all
        until(said, lambda texts: any("done after all" in t for t in texts), "the cancel told done")
        (done,) = [t for t in said() if "done after all" in t]
        assert f"pending order {ticket} removed" in done, done
        alert = until(lambda: run.get(f"/api/alerts/{lost['id']}"), lambda row: row["orders"][0]["status"] == "done",
                      "the cancel's record made right")
        assert alert["status"] == "done", alert
        assert not [t for t in said() if t.startswith(f"pending order {ticket}")]   # no drop it did not ask for
        assert terminal.sent() == 2 and run.interrupt() == 0
        assert "Traceback" not in run.text()


def test_an_entry_whose_answer_was_lost_that_the_trade_server_refused_later_is_told_without_a_reconnection(user,
                                                                                                          tmp_path):
    # Not found within resolve_seconds ("not known"), the terminal linked all along; then the trade server
    # rejects it. The poll finds it ended in the order history: refused, told once, never sent again.
    with _told(user, tmp_path) as (said, terminal, config):
        run = user.start("run", config=config, cwd="bot")
        lost = _lost(run, terminal, said, "buy EURUSD volume=0.1 sl=1.07 id=walk-lost-rejected", "market")
        (rejected,) = terminal.reject_late()   # the trade server had it, and rejected it
        until(said, lambda texts: any("refused at the broker after all" in t for t in texts), "the refusal told")
        alert = run.once(lost["id"], lambda row: not row["outcome"]["orders"][0].get("unknown"),
                         "the lost entry settled")
        assert alert["orders"][0]["status"] == "refused", alert
        assert f"order {rejected}" in alert["outcome"]["orders"][0]["error"], alert
        opened = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=walk-after-rejected")["id"])
        assert opened["status"] == "done", opened["outcome"]   # a real order is not refused by it
        texts = until(said, lambda texts: any("opened buy 0.1 EURUSD" in t for t in texts), "the next trade told")
        told = [t for t in texts if "refused at the broker after all" in t]
        assert len(told) == 1 and f"order {rejected}" in told[0] and "market EURUSD" in told[0], told
        assert len(terminal.positions()) == 1 and terminal.sent() == 1   # the later entry alone
        assert run.interrupt() == 0
        assert "Traceback" not in run.text()


def test_a_cancel_answered_unknown_that_the_reconnection_finds_not_executed_is_told_refused(user, tmp_path):
    # The terminal gone with the removal's answer: "not known". Back, its order is still there: not executed
    # (the order unchanged). The ledger kept it unknown, and the trader was never told how it ended.
    with _told(user, tmp_path) as (said, terminal, config):
        run = user.start("run", config=config, cwd="bot")
        placed = run.settled(run.webhook("buylimit EURUSD volume=0.1 price=1.05 sl=1.04 id=walk-limit")["id"])
        assert placed["status"] == "done", placed["outcome"]
        (ticket,) = [o["ticket"] for o in terminal.orders()]
        lost = _lost(run, terminal, said, "cancel EURUSD id=walk-lost-cancel", "close", gone=True)
        terminal.reconnect()
        alert = run.once(lost["id"], lambda row: not row["outcome"]["orders"][0].get("unknown"), "the removal settled")
        (order,) = alert["outcome"]["orders"]
        assert alert["orders"][0]["status"] == "refused" and "unchanged" in order["error"], alert
        until(said, lambda texts: any("refused at the broker after all" in t for t in texts), "the refusal told")
        opened = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=walk-after-cancel")["id"])
        assert opened["status"] == "done", opened["outcome"]
        texts = until(said, lambda texts: any("opened buy 0.1 EURUSD" in t for t in texts), "the next trade told")
        told = [t for t in texts if "refused at the broker after all" in t]
        assert len(told) == 1 and f"Pending order {ticket} on EURUSD stays" in told[0], told
        assert [o["ticket"] for o in terminal.orders()] == [ticket] and terminal.sent() == 2   # not sent again
        assert run.interrupt() == 0
        assert "Traceback" not in run.text()


def test_a_close_of_part_whose_answer_was_lost_that_the_trade_server_rejected_while_stopped_is_told_once(user,
                                                                                                       tmp_path):
    # Not found within resolve_seconds ("not known": part of a position, not safe to send again), then moonhook
    # stopped, and the trade server rejected it. Only a repeat of that close looked for it again: its record, its
    # alert and the trades chat said "not known" for good. The next start's poll finds it ended: refused, told once.
    with _told(user, tmp_path) as (said, terminal, config):
        run = user.start("run", config=config, cwd="bot")
        opened = run.settled(run.webhook("buy EURUSD volume=0.2 sl=1.07 id=walk-open")["id"])
        assert opened["status"] == "done", opened["outcome"]
        lost = _lost(run, terminal, said, "closelong EURUSD volume=0.1 id=walk-lost-close", "close")
        assert run.interrupt() == 0
        (rejected,) = terminal.reject_late()   # the trade server had it, and rejected it

        again = user.start("run", config=config, cwd="bot")
        until(said, lambda texts: any("refused at the broker after all" in t for t in texts), "the refusal told")
        alert = again.once(lost["id"], lambda row: not row["outcome"]["orders"][0].get("unknown"), "the close settled")
        assert alert["orders"][0]["status"] == "refused", alert
        assert f"order {rejected}" in alert["outcome"]["orders"][0]["error"], alert
        assert again.interrupt() == 0

        last = user.start("run", config=config, cwd="bot")   # a restart tells it not again
        closed = last.settled(last.webhook("closelong EURUSD id=walk-close-all")["id"])
        assert closed["status"] == "done", closed["outcome"]
        texts = until(said, lambda texts: any("closed by close" in t for t in texts), "the next close told")
        told = [t for t in texts if "refused at the broker after all" in t]
        assert len(told) == 1 and f"order {rejected}" in told[0] and "close EURUSD" in told[0], told
        assert terminal.positions() == [] and terminal.sent() == 2   # the entry, the last close: none sent again
        assert last.interrupt() == 0
        assert "Traceback" not in last.text()


def test_a_stop_change_judged_not_executed_after_its_answer_was_lost_that_the_server_applied_late_is_done(user,
                                                                                                          tmp_path):
    # The position's stops unchanged when looked for: "not executed" for good; then the far side of the bridge
    # applied it. The ledger, the alert and the chat said refused while the position's sl was the one asked.
    with _told(user, tmp_path) as (said, terminal, config):
        run = user.start("run", config=config, cwd="bot")
        opened = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=walk-open")["id"])
        assert opened["status"] == "done", opened["outcome"]
        (ticket,) = [p["ticket"] for p in terminal.positions()]
        terminal.script("order_send", "crash_late")
        lost = run.settled(run.webhook("newsltp EURUSD sl=1.071 id=walk-lost-sl")["id"])
        assert lost["orders"][0]["status"] == "refused" and "unchanged" in lost["outcome"]["orders"][0]["error"], lost
        assert terminal.deliver_late() == [10009] and [p["sl"] for p in terminal.positions()] == [1.071]
        until(said, lambda texts: any("done after all" in t for t in texts), "the change told done")
        alert = until(lambda: run.get(f"/api/alerts/{lost['id']}"), lambda row: row["orders"][0]["status"] == "done",
                      "the change's record made right")
        assert alert["status"] == "done", alert
        assert run.interrupt() == 0

        again = user.start("run", config=config, cwd="bot")   # a restart tells it not again
        closed = again.settled(again.webhook("closelong EURUSD id=walk-close-all")["id"])
        assert closed["status"] == "done", closed["outcome"]
        texts = until(said, lambda texts: any("closed by close" in t for t in texts), "the next close told")
        (done,) = [t for t in texts if "done after all" in t]
        assert f"ticket {ticket} changed as asked" in done, done
        assert terminal.sent() == 3 and again.interrupt() == 0   # the entry, the change once, the close
        assert "Traceback" not in again.text()
