"""What a hook's answer means, read once for the hook chains and for `moonhook check`."""

from __future__ import annotations

import pytest

from engine.core.answers import CHANGE, INVALID, PASS, REJECT, alert_answer, order_answer

ALERT = {"symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.1, "sl": 1.09, "alert_id": 7, "side": "buy"}


@pytest.mark.parametrize("values", [[], [None], [True], [None, "ignored"]])
def test_nil_or_true_passes(values):
    assert alert_answer(values, ALERT).kind == PASS
    assert order_answer(values, {"volume": 1}).kind == PASS


def test_false_rejects_with_the_reason_or_says_none_was_given():
    assert (alert_answer([False, "too late"], ALERT).kind, alert_answer([False, "too late"], ALERT).reason) == \
        (REJECT, "too late")
    assert alert_answer([False], ALERT).reason == "no reason given"
    assert order_answer([False, 42], {}).reason == "42"
    assert len(alert_answer([False, "x" * 2000], ALERT).reason) == 500


def test_a_table_changes_the_alert_and_false_removes_a_field():
    answer = alert_answer([{"volume": 0.2, "sl": False, "handled": True}], ALERT)
    assert answer.kind == CHANGE and answer.handled
    assert answer.changes == {"volume": 0.2, "sl": False}
    assert answer.data["volume"] == 0.2 and "sl" not in answer.data and answer.data["alert_id"] == 7
    assert ALERT["sl"] == 1.09  # the alert given is not changed in place


def test_changes_are_checked_as_an_alert_is_and_refused_with_the_reason():
    answer = alert_answer([{"volume": -1}], ALERT)
    assert answer.kind == INVALID and answer.problem.startswith("changes refused:") and "volume" in answer.problem
    assert alert_answer([{"symbol": "EUR USD"}], ALERT).kind == INVALID


@pytest.mark.parametrize("value", [1, "yes", [1, 2][0:0] or 0.5])
def test_anything_else_is_invalid(value):
    answer = alert_answer([value], ALERT)
    assert answer.kind == INVALID and "expected nil, a table or false" in answer.problem


@pytest.mark.parametrize("change, problem", [
    ({"symbol": "GBPUSD"}, "cannot change 'symbol'"),
    ({"volume": 0}, "volume must be a positive number"),
    ({"volume": float("nan")}, "volume must be a positive number"),
    ({"price": float("inf")}, "price must be a positive number"),
    ({"sl": float("nan")}, "sl must be a price"),
    ({"sl": -1}, "sl must be a price"),
    ({"tp": True}, "tp must be a price"),
    ({"comment": "x" * 65}, "comment must be a string of at most 64 characters"),
])
def test_on_order_changes_only_what_is_allowed(change, problem):
    answer = order_answer([change], {"volume": 1.0})
    assert answer.kind == INVALID and problem in answer.problem


def test_on_order_change_applies_and_zero_stop_is_allowed():
    answer = order_answer([{"volume": 0.5, "sl": 0, "comment": "halved"}], {"volume": 1.0, "sl": 1.09})
    assert answer.kind == CHANGE and answer.data == {"volume": 0.5, "sl": 0, "comment": "halved"}


def test_a_changed_alert_is_the_one_its_check_reads():
    answer = alert_answer([{"action": "short", "volume": "0.2", "sl": False}], {**ALERT, "raw_symbol": "OANDA:EURUSD"})
    assert answer.kind == CHANGE and answer.changes == {"action": "short", "volume": "0.2", "sl": False}
    assert answer.data == {"symbol": "EURUSD", "raw_symbol": "OANDA:EURUSD", "action": "sell", "side": "sell",
                           "volume": 0.2, "price": 1.1, "alert_id": 7, "source": "json"}, answer.data


def test_the_whole_alert_given_back_changes_what_differs_and_side_follows_the_action():
    whole = {**ALERT, "action": "sell", "sl": 1.11}   # Lua: a.action = "sell"; a.sl = 1.11; return a
    answer = alert_answer([whole], ALERT)
    assert answer.kind == CHANGE and (answer.data["action"], answer.data["side"]) == ("sell", "sell")
    answer = alert_answer([{"side": "sell"}], ALERT)
    assert answer.kind == INVALID and answer.problem == "cannot change side to 'sell': it follows the action (buy)"


@pytest.mark.parametrize("change", [
    {"note": "n" * 70_000},
    {"notes": {f"k{i}": "x" * 9000 for i in range(8)}},
    {"list": ["y" * 100] * 700},
])
def test_changes_larger_than_an_alert_are_refused(change):
    # They are kept in the alert's journal row: a plugin returned a megabyte of fields an alert.
    answer = alert_answer([change], ALERT)
    assert answer.kind == INVALID and answer.problem.startswith("changes refused: they take ")
    assert "at most 65536" in answer.problem


def test_changes_up_to_an_alerts_size_are_taken():
    assert alert_answer([{"note": "n" * 60_000, "volume": 0.2}], ALERT).kind == CHANGE
    assert alert_answer([{"levels": {"a": [1, 2, 3]}, "comment": "c" * 200}], ALERT).kind == CHANGE
