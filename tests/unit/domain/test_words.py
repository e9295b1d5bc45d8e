"""How a count is said (engine/domain/words.py): the CLI, replay and the status lines share it."""

from __future__ import annotations

from engine.domain.words import amount, counted


def test_one_is_singular_and_every_other_count_plural():
    assert [counted(n, "alert") for n in (0, 1, 2)] == ["0 alerts", "1 alert", "2 alerts"]
    assert counted(1204, "alert") == "1,204 alerts"
    assert counted(2, "entry", "entries") == "2 entries" and counted(1, "entry", "entries") == "1 entry"


def test_an_amount_is_said_with_its_cents_and_in_three_figures_from_1e15():
    assert [amount(x) for x in (0.0, 1234.5, -0.004, 999_999_999_999_999.9)] == [
        "0.00", "1,234.50", "-0.00", "999,999,999,999,999.88"]
    assert [amount(x) for x in (1e15, -1.2345e20, 1.1e304)] == ["1e+15", "-1.23e+20", "1.1e+304"]
    assert [amount(x) for x in (float("inf"), float("-inf"), float("nan"))] == [
        "more than 1.8e+308", "less than -1.8e+308", "nan"]
    assert [amount(x, sign=True) for x in (12_000.0, -0.5, 2e20)] == ["+12,000.00", "-0.50", "+2e+20"]
