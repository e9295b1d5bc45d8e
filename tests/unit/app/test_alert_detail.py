"""An alert's timings in words (engine/app/alert_detail.py), for each state an alert's timings can be in."""

from __future__ import annotations

from engine.app.alert_detail import words
from engine.domain.words import millis

AT = 1_780_000_000.0   # 2026-05-28 20:26:40 UTC


def test_a_finished_alert_with_an_order_says_each_moment_and_span_with_its_unit():
    said = words({"received_at": AT, "finished_at": AT + 0.0335, "to_broker_ms": 31.567, "total_ms": 33.5,
                  "orders": [{"client_id": "a7-engine-1", "to_broker_ms": 31.567, "answered_at": AT + 0.033},
                             {"client_id": "a7-engine-2", "to_broker_ms": 2_500.0, "answered_at": None}]})
    assert said == [["Received", "2026-05-28 20:26:40 UTC"], ["Finished", "2026-05-28 20:26:40 UTC"],
                    ["Receipt to the broker", "31.6 ms"], ["Receipt to finish", "33.5 ms"],
                    ["Order a7-engine-1", "31.6 ms after receipt, answered 2026-05-28 20:26:40 UTC"],
                    ["Order a7-engine-2", "2.50 s after receipt, no answer yet"]]


def test_an_alert_in_progress_or_without_orders_says_what_is_not_there_yet():
    said = dict(words({"received_at": AT, "finished_at": None, "to_broker_ms": None, "total_ms": None,
                       "orders": []}))
    assert said == {"Received": "2026-05-28 20:26:40 UTC", "Finished": "not yet",
                    "Receipt to the broker": "no order sent", "Receipt to finish": "not finished yet"}


def test_spans_keep_a_few_figures_in_their_unit():
    assert [millis(ms) for ms in (0.84, 9.999, 31.567, 999.96, 1_240, 59_999, 125_000)] == [
        "0.84 ms", "10.0 ms", "31.6 ms", "1.00 s", "1.24 s", "1m 0s", "2m 5s"]
