"""A user on MetaTrader 5 (the stand-in terminal) whose broker raises EURUSD's ``volume_step`` (and
``volume_min``) to 0.1 under an open 0.15-lot position of moonhook's: no close of 0.15 or 0.05 lots is a volume
the trade server takes. moonhook closes what it can (0.1), never sends a volume the symbol refuses, and tells
the trader plainly, once, in the alert's outcome and the trades chat, what is left open and why."""

from __future__ import annotations

from support.e2e_support import mt5_user
from support.mt5_standin import Terminal


def trades_chat(run) -> list[str]:
    """What the trades chat was told by this run (the log carries each message)."""
    return [line.split("[trades] ", 1)[1] for line in run.text().splitlines() if "[trades] " in line]


LEFT = ("0.05 lots of position {t} stay open: EURUSD's volume_step is 0.1 and its volume_min 0.1 now, "
        "and no close of 0.05 lots meets them")


def test_a_volume_step_raised_under_a_position_closes_what_it_can_and_says_what_is_left(user, tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    run = user.start("run", config=config, cwd="bot")
    opened = run.settled(run.webhook("buy EURUSD volume=0.15 sl=1.07 id=step-open")["id"])
    assert opened["status"] == "done", opened
    ticket = opened["outcome"]["orders"][0]["ticket"]
    assert run.interrupt() == 0
    terminal.set_symbol("EURUSD", volume_step=0.1, volume_min=0.1)   # the broker's new rules, read at the start
    sent = terminal.sent()

    again = user.start("run", config=config, cwd="bot")
    row = again.settled(again.webhook("close EURUSD id=step-close")["id"])
    (order,) = row["outcome"]["orders"]
    assert [p["volume"] for p in terminal.positions()] == [0.05]
    assert terminal.sent() == sent + 1                      # the 0.1 closed; nothing the symbol refuses was sent
    assert terminal.calls("order_send") == sent + 1, "a volume the trade server refuses was sent"
    assert order["ok"] is False and "closed 0.1 of 0.15 lots" in order["error"], order
    assert LEFT.format(t=ticket) in order["error"], order
    told = [t for t in trades_chat(again) if t.startswith("order refused")]
    assert len(told) == 1 and LEFT.format(t=ticket) in told[0], told
    assert "send it once the broker takes it" not in told[0] and "ask the broker" in told[0], told

    later = again.settled(again.webhook("close EURUSD id=step-close-again")["id"])   # refused, nothing sent
    assert LEFT.format(t=ticket) in later["outcome"]["orders"][0]["error"], later
    assert terminal.calls("order_send") == sent + 1 and [p["volume"] for p in terminal.positions()] == [0.05]
    assert again.interrupt() == 0
