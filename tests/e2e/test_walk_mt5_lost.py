"""A user on MetaTrader 5 whose terminal loses order_send's answer (the stand-in, tests/support/
mt5_standin.py, delivers the request late, as the Windows side of a bridge goes on with a call its
Linux side gave up on): `moonhook run` says the entry is not known, never sends it again, and once
it arrives, the alert and its order say what it did."""

from __future__ import annotations

import pytest

from support.e2e_support import UNSETTLED, losing_mt5_user, until


def test_an_entry_whose_answer_was_lost_shows_done_once_it_arrives_without_a_restart(user, tmp_path):
    terminal, config = losing_mt5_user(user, tmp_path)
    run = user.start("run", config=config, cwd="bot")
    terminal.script("order_send", "late")   # held: mt5.timeout waited out, the worker killed (other walks: "crash_late")
    lost = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=walk-lost")["id"])
    assert lost["status"] == "failed" and lost["orders"][0]["status"] == "unknown", lost["outcome"]
    assert terminal.deliver_late() == [10009]                           # it arrives after all
    alert = run.once(lost["id"], lambda row: not row["outcome"]["orders"][0].get("unknown"), "the lost entry settled")
    (position,) = terminal.positions()
    (order,) = alert["outcome"]["orders"]
    assert alert["status"] == "done" and alert["orders"][0]["status"] == "done", alert
    assert (order["ok"], order["ticket"], "unknown" in order) == (True, position["ticket"], False), order
    assert run.get("/api/overview")["today"]["failed"] == 0 and terminal.sent() == 1
    assert run.interrupt() == 0
    assert "Traceback" not in run.text()



@pytest.mark.parametrize("back", ["at once", "late"])
def test_a_close_refused_as_not_executed_after_its_answer_was_lost_shows_done_once_it_arrives(user, tmp_path, back):
    # Lost, its position still open whole when it was looked for: "not executed" (a close may be sent
    # again, it cannot close twice); then the far side of the bridge executed it after all. MetaTrader back
    # later than mt5.timeout after the loss (its initialize held here; a busy machine's reconnection is
    # slow), the close is answered not known first, and refused once the poll looks for it.
    terminal, config = losing_mt5_user(user, tmp_path)
    run = user.start("run", config=config, cwd="bot")
    opened = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=walk-open")["id"])
    assert opened["status"] == "done", opened["outcome"]
    terminal.script("order_send", "crash_late")   # lost at once: the look afterwards is the walk
    if back == "late":
        terminal.script("initialize", "hang")
    sent = run.webhook("close EURUSD id=walk-lost-close")
    if back == "late":
        told = run.settled(sent["id"])
        assert told["status"] == "failed" and told["orders"][0]["status"] == "unknown", told["outcome"]
        terminal.release("initialize")
    lost = run.once(sent["id"], lambda row: row["status"] not in UNSETTLED
                    and not row["outcome"]["orders"][0].get("unknown"), "the close judged")
    assert lost["status"] == "failed" and lost["orders"][0]["status"] == "refused", lost["outcome"]
    assert "not executed: the answer was lost" in lost["outcome"]["orders"][0]["error"]
    assert terminal.deliver_late() == [10009] and terminal.positions() == []   # it arrives after all
    alert = run.once(lost["id"], lambda row: row["outcome"]["orders"][0].get("ok"), "the close's record made right")
    (order,) = alert["outcome"]["orders"]
    assert (alert["status"], alert["orders"][0]["status"]) == ("done", "done"), alert
    assert (order["ok"], order["closed"], "error" in order) == (True, [opened["orders"][0]["result"]["ticket"]],
                                                                False), order
    assert run.get("/api/overview")["today"]["failed"] == 0 and terminal.sent() == 2   # the entry, one close
    assert run.get("/api/trades")["closed"] == 1
    assert run.interrupt() == 0
    assert run.text().count("closed by close @") == 1 and "Traceback" not in run.text()


def test_a_close_by_symbol_with_a_part_not_known_is_not_shown_done_when_that_part_did_not_execute(user, tmp_path):
    # The first position closed; the second's close lost with the terminal gone. Back, the second is still open
    # whole: not executed. The order showed done, with the first position alone, as soon as the terminal was back.
    terminal, config = losing_mt5_user(user, tmp_path)
    run = user.start("run", config=config, cwd="bot")
    tickets = []
    for n in (1, 2):
        opened = run.settled(run.webhook(f"buy EURUSD volume=0.1 sl=1.07 id=walk-open-{n}")["id"])
        assert opened["status"] == "done", opened["outcome"]
        tickets.append(opened["orders"][0]["result"]["ticket"])
    terminal.script("order_send", "normal", "late")
    sent = run.webhook("close EURUSD id=walk-close-both")
    until(lambda: terminal.hung("order_send"), lambda n: n == 1, "the second close reaching the terminal")
    terminal.disconnect()
    run.kill_mt5_worker()   # given up on now, not at mt5.timeout
    lost = run.settled(sent["id"])
    (order,) = lost["outcome"]["orders"]
    assert lost["orders"][0]["status"] == "unknown" and order["closed"] == tickets[:1], lost
    terminal.reconnect()
    alert = run.once(lost["id"], lambda row: not row["outcome"]["orders"][0].get("unknown"), "the close settled")
    (order,) = alert["outcome"]["orders"]
    assert alert["orders"][0]["status"] == "refused" and order["closed"] == tickets[:1], alert
    assert f"position {tickets[1]} is still open" in order["error"], order
    assert [p["ticket"] for p in terminal.positions()] == tickets[1:] and terminal.sent() == 3   # none sent again
    assert run.interrupt() == 0
    assert "Traceback" not in run.text()
