"""A resume acts on the held alerts its question showed, by their ids (engine/core/switchboard.py):
a count compared matched when one shown left the held set (run by another admin's resume, or
skipped at an account change) and another came in its place, and the resume skipped, or ran, an
alert the trader never saw. Any other set held now is refused, naming what changed, still paused."""

from __future__ import annotations

import pytest

from engine.core import HeldChanged
from engine.domain.id_ranges import IdRuns, parse_ranges, ranges

from support.engine_support import process, running, submit
from support.mt5_standin import Terminal
from support.mt5_support import config as mt5_config, log_in_by_hand, until

LIVE = "mt5 222@Standin-Live"


async def test_an_alert_held_in_place_of_the_one_shown_is_not_skipped_unshown(tmp_path):
    """Shown "the alert received while paused will be skipped"; meanwhile another admin resumed with it and
    paused again, and a new alert was held: one held, as shown, but not the one shown."""
    async with running(tmp_path) as engine:
        engine.pause()
        shown = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=shown")
        question = engine.journal.ids_with_status("paused")   # what the question showed
        assert await engine.resume(execute_missed=True, by="telegram:2") == 1   # the other admin's
        await engine.drain()
        engine.pause("telegram:2")
        unshown = await process(engine, "buy EURUSD volume=0.1 price=1.1 id=unshown")
        with pytest.raises(HeldChanged) as refused:
            await engine.switchboard.resume_engine(False, "api", question)
        assert str(refused.value) == (f"the alerts held from the pause changed since they were shown: alert "
                                      f"{unshown['id']} held since, alert {shown['id']} no longer held; 1 held now: "
                                      "asked again")
        assert refused.value.held == (unshown["id"],)
        assert engine.paused and engine.journal.get(unshown["id"])["status"] == "paused"
        assert await engine.switchboard.resume_engine(True, "api", refused.value.held) == 1   # asked again: runs
        await engine.drain()
        assert engine.journal.get(unshown["id"])["status"] == "done" and not engine.paused


async def test_fewer_held_than_shown_is_refused_too_and_the_same_set_in_any_order_resumes(tmp_path):
    async with running(tmp_path) as engine:
        engine.pause()
        ids = [(await process(engine, f"buy EURUSD volume=0.1 price=1.1 id=h{n}"))["id"] for n in range(3)]
        with pytest.raises(HeldChanged, match=f"alerts {ids[2] + 1}-{ids[2] + 3} no longer held; 3 held now"):
            await engine.switchboard.resume_engine(False, "api", [*ids, ids[2] + 1, ids[2] + 2, ids[2] + 3])
        with pytest.raises(HeldChanged, match=f"alert {ids[2]} held since; 3 held now"):
            await engine.switchboard.resume_engine(False, "api", ids[:2])
        assert engine.paused
        assert await engine.switchboard.resume_engine(False, "api", frozenset(reversed(ids))) == 0
        assert not engine.paused and [engine.journal.get(i)["status"] for i in ids] == ["skipped"] * 3


async def test_the_alert_shown_skipped_at_an_account_change_and_one_held_since_is_not_bought_unshown(tmp_path):
    """Paused on the demo with an alert held, the trader is asked; the terminal is logged in to the live
    account by hand, the demo's alert is skipped (not for this account) and a live alert is held: the
    count still said 1, and "Resume and run them" bought the live alert the trader never saw."""
    Terminal(tmp_path / "live.db", login=222, server="Standin-Live")
    terminal = Terminal(tmp_path / "terminal.db", login=111, server="Standin-Demo")
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path), max_alert_age=0) as engine:
        engine.pause()
        demo = await submit(engine, "buy EURUSD volume=0.1 sl=1.0 id=demo")
        await engine.drain()
        question = engine.journal.ids_with_status("paused")
        assert question == [demo.id]
        log_in_by_hand(tmp_path / "terminal.db", tmp_path / "live.db")
        await until(lambda: engine.broker.trading_on == LIVE and engine.journal.get(demo.id)["status"] == "skipped")
        with pytest.raises(HeldChanged, match=f"alert {demo.id} no longer held; 0 held now"):
            await engine.resume(True, "api", question)
        live = await submit(engine, "buy EURUSD volume=0.1 sl=1.0 id=live")
        await engine.drain()
        with pytest.raises(HeldChanged, match=f"alert {live.id} held since, alert {demo.id} no longer held"):
            await engine.resume(True, "api", question)
        assert engine.paused and engine.journal.get(live.id)["status"] == "paused"
        assert terminal.sent() == 0
        assert await engine.resume(True, "api", [live.id]) == 1   # shown, it runs
        await engine.drain()
        assert engine.journal.get(live.id)["status"] == "done"


def test_held_ids_are_written_as_runs_and_read_back_exactly():
    assert ranges([15, 3, 8, 7, 9, 8]) == "3,7-9,15" and ranges([]) == ""
    assert parse_ranges("3,7-9,15") == {3, 7, 8, 9, 15} and parse_ranges("") == frozenset()
    assert parse_ranges(" 9-9, 1") == {1, 9}
    for bad in ("x", "3,", "-3", "0", "9-7", "1-2-3", "3 4", "1.5", "²"):
        with pytest.raises(ValueError):
            parse_ranges(bad)


def test_runs_are_compared_counted_and_cut_without_listing_their_ids():
    wide = parse_ranges("5-9999999999,2")   # read as two runs, not ten billion ids
    assert wide.runs == ((2, 2), (5, 9_999_999_999)) and len(wide) == 9_999_999_996
    assert 2 in wide and 3 not in wide and 9_999_999_999 in wide and 10**10 not in wide and "2" not in wide
    assert parse_ranges("7-9,3,10") == IdRuns.of([3, 7, 8, 9, 10]) == [10, 9, 8, 7, 3] and wide != {2, 5}
    assert str(wide.without([1, 2, 5, 7, 10**10])) == "6,8-9999999999" and str(IdRuns().without([1])) == ""
