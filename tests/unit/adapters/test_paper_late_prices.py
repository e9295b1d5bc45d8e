"""Which prices the paper market takes as late (``Prices.late``): those whose alert TradingView fired
(its timenow) more than a second before the last such alert of the symbol. A price whose alert
says nothing of when it fired is kept at its receipt, which TradingView's delivery puts seconds
after it fired: an alert fired after it, delivered a moment later, was found late against it."""

from __future__ import annotations

import sqlite3

from engine.adapters.brokers.paper.prices import LATE, Prices

T0 = 1_796_000_000.0


def prices(tmp_path) -> Prices:
    db = sqlite3.connect(tmp_path / "paper.db")
    db.execute("CREATE TABLE paper_prices (symbol TEXT PRIMARY KEY, bid REAL, ask REAL, time REAL, fired REAL)")
    return Prices(db)


def test_a_price_fired_before_the_last_fired_one_is_late_and_one_fired_after_it_is_not(tmp_path):
    p = prices(tmp_path)
    assert not p.late("EURUSD", T0)   # no price yet
    p.record("EURUSD", 1.1, 1.1, T0 + 2, fired=T0)
    assert p.late("EURUSD", T0 - LATE - 1) and not p.late("EURUSD", T0 - LATE) and not p.late("EURUSD", T0 + 5)
    assert not p.late("EURUSD", None) and not p.late("GBPUSD", T0 - 60)
    assert p.get("EURUSD") == (1.1, 1.1, T0)   # as of when its alert fired


def test_a_price_whose_alert_says_not_when_it_fired_makes_none_late(tmp_path):
    p = prices(tmp_path)
    p.record("EURUSD", 1.1, 1.1, T0 + 4)   # received at T0 + 4, fired before: TradingView's delivery
    assert not p.late("EURUSD", T0 + 1)   # fired after it, very likely
    p.record("EURUSD", 1.2, 1.2, T0 + 6, fired=T0 + 1)
    p.record("EURUSD", 1.3, 1.3, T0 + 7)
    assert p.late("EURUSD", T0 - 2) and not p.late("EURUSD", T0 + 2)


def test_when_the_last_price_was_fired_is_saved_and_read_back(tmp_path):
    p = prices(tmp_path)
    p.record("EURUSD", 1.1, 1.1, T0 + 2, fired=T0)
    p.record("GBPUSD", 1.3, 1.3, T0 + 2)   # not said
    with sqlite3.connect(tmp_path / "paper.db") as db:   # committed at the end of the block
        p.save(db)
    again = Prices(sqlite3.connect(tmp_path / "paper.db"))
    assert again.late("EURUSD", T0 - LATE - 1) and not again.late("EURUSD", T0)
    assert not again.late("GBPUSD", T0 - 60) and again.get("GBPUSD") == (1.3, 1.3, T0 + 2)


def test_a_price_whose_alert_says_it_fired_in_the_future_counts_from_its_receipt(tmp_path):
    # A timenow a year ahead (a hand-written template, a clock set wrong) was kept as when the last
    # price fired: every alert after it, fired at its true time, was late until then, and the paper
    # market stood still at that price, its stops and pending orders untouched, across restarts too.
    p = prices(tmp_path)
    p.record("EURUSD", 1.1, 1.1, T0, fired=T0 + 365 * 86_400)
    assert not p.late("EURUSD", T0 + 1) and p.late("EURUSD", T0 - LATE - 1)
    assert p.get("EURUSD") == (1.1, 1.1, T0)
