"""Notifications: the throttle that folds repeats of one event, and the notifier that writes them
to the outbox (a real SQLite file). The engine's own events reaching it: core/test_notices.py."""

import logging

import trio

from engine.adapters.notify import Notifier
from engine.adapters.notify.throttle import Throttle
from engine.adapters.storage import Database, Outbox
from engine.adapters.storage.outbox import MAX_TEXT

from support.waits import HANG


def outbox_texts(database: Database) -> list[str]:
    """The messages in the outbox, oldest first."""
    return [r[0] for r in database.db.execute("SELECT text FROM outbox ORDER BY id")]


def test_the_throttle_sends_the_first_folds_the_rest_and_tells_how_many():
    t = Throttle(60)
    assert t.admit(("errors", "boom 1", "hook:x"), 0.0)
    assert t.admit(("errors", "other", "hook:y"), 1.0) and t.admit(("trades", "no key", None), 2.0)
    assert not t.admit(("errors", "boom 2", "hook:x"), 10.0) and not t.admit(("errors", "boom 3", "hook:x"), 20.0)
    assert t.due(59.0) == [] and t.next_deadline() == 60.0
    assert t.due(60.0) == [("errors", "boom 3\n(2 more like this in the last 60 s)", "hook:x")]
    assert t.due(61.0) == []                     # hook:y had no repeats: closed silently
    assert not t.admit(("errors", "boom 4", "hook:x"), 70.0)  # a new window opened with the summary
    assert t.due(120.0) == [("errors", "boom 4\n(1 more like this in the last 60 s)", "hook:x")]
    assert t.due(180.0) == [] and t.next_deadline() is None and t.admit(("errors", "boom 5", "hook:x"), 181.0)
    assert Throttle(0).admit(("errors", "a", "k"), 0) and Throttle(0).admit(("errors", "a", "k"), 0)


async def test_the_repeats_folded_are_written_when_the_notifier_closes_not_dropped(tmp_path):
    database = Database(tmp_path / "db.sqlite")
    notifier = Notifier(Outbox(database), throttle_seconds=3600)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(notifier.run)
        for n in range(3):
            notifier.send("errors", f"plugin x: on_alert skipped: boom {n}", key="hook:x:on_alert")
        notifier.send("errors", "plugin y: on_alert skipped: once", key="hook:y:on_alert")
        await notifier.aclose()   # the engine stops long before the window ends
    assert outbox_texts(database) == [
        "plugin x: on_alert skipped: boom 0", "plugin y: on_alert skipped: once",
        "plugin x: on_alert skipped: boom 2\n(2 more like this in the last 3600 s)"]
    database.close()


async def test_the_notifier_writes_each_first_and_a_summary_when_the_window_ends(tmp_path):
    database = Database(tmp_path / "db.sqlite")
    notifier = Notifier(Outbox(database), throttle_seconds=0.3)
    written = []
    notifier.attach(lambda: written.append(1))

    async with trio.open_nursery() as nursery:
        nursery.start_soon(notifier.run)
        for n in range(5):
            notifier.send("errors", f"plugin x: on_alert skipped: boom {n}", key="hook:x:on_alert")
        notifier.send("trades", "opened buy 0.1 EURUSD")
        notifier.send("trades", "opened buy 0.1 EURUSD")  # no key: every one counts
        with trio.fail_after(HANG):  # bounds a hang
            while len(outbox_texts(database)) < 4:
                await trio.sleep(0.02)
        assert outbox_texts(database) == [
            "plugin x: on_alert skipped: boom 0", "opened buy 0.1 EURUSD", "opened buy 0.1 EURUSD",
            "plugin x: on_alert skipped: boom 4\n(4 more like this in the last 0.3 s)"]
        # The summary opened the next window, which ends 0.3 s after it at the latest: once it
        # has, a message sent goes out with whatever that window had to tell, or after it.
        await trio.sleep(0.3)
        notifier.send("admin", "a later message")
        with trio.fail_after(HANG):  # bounds a hang
            while len(outbox_texts(database)) < 5:
                await trio.sleep(0.02)
        # no repeats in the next window: nothing more
        assert outbox_texts(database)[4:] == ["a later message"] and written
        await notifier.aclose()
    database.close()


async def test_a_settled_key_drops_the_repeats_its_window_folded(tmp_path):
    """Refused saves of moonhook.toml, then one that reads: the refusal folded meanwhile, told
    after the save's message, read as its refusal. Settled, its window closes untold."""
    database = Database(tmp_path / "db.sqlite")
    notifier = Notifier(Outbox(database), throttle_seconds=60)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(notifier.run)
        notifier.send("errors", "refused 1", key="settings")
        notifier.send("errors", "refused 2", key="settings")   # folded
        notifier.settle("settings")
        notifier.send("admin", "saved")
        notifier.send("errors", "refused 3", key="settings")   # a window of its own: told at once
        with trio.fail_after(HANG):  # bounds a hang
            while len(outbox_texts(database)) < 3:
                await trio.sleep(0.02)
        await notifier.aclose()
    assert outbox_texts(database) == ["refused 1", "saved", "refused 3"]
    database.close()


async def test_written_returns_once_what_was_sent_before_it_is_in_the_outbox(tmp_path):
    """The engine waits on it before the broker forgets a fill it told: a message still on the
    queue would be lost at a kill, and nothing left to tell it again. A repeat the throttle folds
    does not hold it up (told when its window ends)."""
    database = Database(tmp_path / "db.sqlite")
    notifier = Notifier(Outbox(database), throttle_seconds=60)

    async with trio.open_nursery() as nursery:
        nursery.start_soon(notifier.run)
        notifier.send("errors", "boom 1", key="hook:x")
        notifier.send("errors", "boom 2", key="hook:x")   # folded
        notifier.send("trades", "opened buy 0.1 EURUSD")
        with trio.fail_after(HANG):  # bounds a hang
            await notifier.written()
        assert outbox_texts(database) == ["boom 1", "opened buy 0.1 EURUSD"]
        await notifier.aclose()
        await notifier.written()   # closed: returns at once
    database.close()


async def test_a_megabyte_message_is_logged_as_the_outbox_keeps_it_cut(tmp_path, caplog):
    # A script's notify.send of 1 MB (20 a minute are allowed) went to the log whole: 20 MB a minute.
    caplog.set_level(logging.INFO, logger="moonhook.notify")
    database = Database(tmp_path / "db.sqlite")
    notifier = Notifier(Outbox(database))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(notifier.run)
        notifier.send("plugin", "gate: " + "x" * 1_000_000, key="plugin:gate")
        await notifier.aclose()
    (kept,) = outbox_texts(database)
    assert len(kept) == MAX_TEXT and kept.endswith("…")
    assert [len(r.getMessage()) for r in caplog.records if "gate:" in r.getMessage()] == [len(f"[plugin] {kept}")]
    database.close()
