"""How a count is said (engine/domain/words.py): the CLI, replay and the status lines share it."""

from __future__ import annotations

from engine.domain.words import counted


def test_one_is_singular_and_every_other_count_plural():
    assert [counted(n, "alert") for n in (0, 1, 2)] == ["0 alerts", "1 alert", "2 alerts"]
    assert counted(1204, "alert") == "1,204 alerts"
    assert counted(2, "entry", "entries") == "2 entries" and counted(1, "entry", "entries") == "1 entry"
