"""The file watcher (engine/pipeline/watch.py): saves reach ``changed`` as batches, through
inotify on Linux and through watchfiles where inotify cannot be had. Each test waits for the
batch itself (a generous bound only so that a broken watcher fails instead of hanging)."""

from __future__ import annotations

import errno
import os
import sys
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import pytest
import trio
import trio.testing

from engine.core import watch as watch_module
from engine.core.watch import Inotify, InotifyUnavailable, watch

from support.waits import HANG

linux = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="inotify is Linux's")


def lua(path: Path) -> bool:
    return path.suffix == ".lua"


@asynccontextmanager
async def watching(*folders: Path) -> AsyncIterator[trio.MemoryReceiveChannel]:
    """Watches ``folders`` for .lua files; yields the channel the batches arrive on."""
    send, receive = trio.open_memory_channel(100)
    stop = trio.Event()

    async def changed(paths: set[Path]) -> None:
        await send.send(paths)

    async with trio.open_nursery() as nursery:
        await nursery.start(watch, list(folders), lua, changed, stop)
        yield receive
        stop.set()  # ends the watch: the nursery closes without being cancelled


async def next_batch(batches: trio.MemoryReceiveChannel) -> set[Path]:
    with trio.fail_after(HANG):
        return await batches.receive()


def save(path: Path, text: str) -> None:
    """As editors do: a temporary file beside it, renamed over it."""
    temp = path.with_name(f".{path.name}.swp")
    temp.write_text(text)
    os.replace(temp, path)


async def test_a_save_a_write_and_a_delete_each_arrive(tmp_path):
    a = tmp_path / "a.lua"
    async with watching(tmp_path) as batches:
        save(a, "-- 1")
        assert await next_batch(batches) == {a}
        a.write_text("-- 2")
        assert await next_batch(batches) == {a}
        a.unlink()
        assert await next_batch(batches) == {a}


async def test_a_burst_is_one_batch_and_other_files_are_left_out(tmp_path):
    a, b = tmp_path / "a.lua", tmp_path / "b.lua"
    async with watching(tmp_path) as batches:
        # All written before the watcher runs again: its first read sees the whole burst.
        for n in range(5):
            save(a, f"-- {n}")
        (tmp_path / "notes.txt").write_text("not a script")
        b.write_text("-- b")
        assert await next_batch(batches) == {a, b}
        (tmp_path / "notes.txt").write_text("still not a script")  # no batch of its own
        save(b, "-- b2")
        assert await next_batch(batches) == {b}


@linux
async def test_a_batch_ends_after_a_quiet_step_or_the_debounce_at_most(tmp_path, mock_clock):
    # Trio's clock moves only when jumped; each write is read before the next jump (the
    # watcher is blocked again once it has read what the kernel queued). No fail_after here:
    # this clock would never reach it; nothing below waits for a time to pass.
    step, debounce = watch_module.STEP_MS / 1000, watch_module.DEBOUNCE_MS / 1000
    a, b = tmp_path / "a.lua", tmp_path / "b.lua"
    async with watching(tmp_path) as batches:
        a.write_text("-- a")
        await trio.testing.wait_all_tasks_blocked()
        mock_clock.jump(step * 0.75)
        b.write_text("-- b")                         # within the quiet step: same batch
        await trio.testing.wait_all_tasks_blocked()
        mock_clock.jump(step * 0.75)                 # a step after a, not after b
        await trio.testing.wait_all_tasks_blocked()
        with pytest.raises(trio.WouldBlock):
            batches.receive_nowait()
        mock_clock.jump(step * 0.5)                  # a quiet step after b
        await trio.testing.wait_all_tasks_blocked()
        assert batches.receive_nowait() == {a, b}

        # Saves that never pause for a step: handed over at the debounce bound.
        start = trio.current_time()
        while trio.current_time() - start < 2 * debounce:
            a.write_text(f"-- {trio.current_time()}")
            await trio.testing.wait_all_tasks_blocked()
            try:
                assert batches.receive_nowait() == {a}
                break
            except trio.WouldBlock:
                mock_clock.jump(step / 2)
        assert debounce <= trio.current_time() - start < debounce + step


@linux
async def test_a_link_to_a_file_elsewhere_arrives_when_that_file_is_saved_where_it_is(tmp_path):
    scripts, shared, later = tmp_path / "scripts", tmp_path / "shared", tmp_path / "later"
    for folder in (scripts, shared, later):
        folder.mkdir()
    save(shared / "a.lua", "-- 1")
    (scripts / "a.lua").symlink_to(shared / "a.lua")
    async with watching(scripts) as batches:
        with (shared / "a.lua").open("w") as f:   # in place
            f.write("-- 2")
        assert await next_batch(batches) == {scripts / "a.lua"}
        save(shared / "a.lua", "-- 3")              # renamed over it
        assert await next_batch(batches) == {scripts / "a.lua"}
        save(later / "b.lua", "-- 1")
        (scripts / "b.lua").symlink_to(later / "b.lua")   # a link made while watching
        assert await next_batch(batches) == {scripts / "b.lua"}
        save(later / "b.lua", "-- 2")
        assert await next_batch(batches) == {scripts / "b.lua"}


async def test_two_folders_and_not_their_subfolders(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    (one / "sub").mkdir(parents=True)
    two.mkdir()
    async with watching(one, two) as batches:
        (one / "sub" / "deep.lua").write_text("-- not watched")
        (two / "b.lua").write_text("-- b")
        assert await next_batch(batches) == {two / "b.lua"}
        (one / "a.lua").write_text("-- a")
        assert await next_batch(batches) == {one / "a.lua"}


async def test_stop_ends_the_watch_at_once(tmp_path):
    stop = trio.Event()

    async def changed(paths: set[Path]) -> None:
        raise AssertionError("nothing was saved")

    with trio.fail_after(HANG):
        async with trio.open_nursery() as nursery:
            await nursery.start(watch, [tmp_path], lua, changed, stop)
            stop.set()
    # and a watch started after its stop was set returns at once too
    with trio.fail_after(HANG):
        await watch([tmp_path], lua, changed, stop)


async def test_a_batch_being_handled_is_finished_when_stop_is_set(tmp_path):
    stop, handled = trio.Event(), []

    async def changed(paths: set[Path]) -> None:
        stop.set()
        await trio.lowlevel.checkpoint()  # stop is seen meanwhile: not cancelled
        handled.append(paths)

    with trio.fail_after(HANG):
        async with trio.open_nursery() as nursery:
            await nursery.start(watch, [tmp_path], lua, changed, stop)
            (tmp_path / "a.lua").write_text("-- a")
    assert handled == [{tmp_path / "a.lua"}]


async def test_a_folder_that_does_not_exist_is_an_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        await watch([tmp_path / "missing"], lua, None, trio.Event())


async def test_without_inotify_watchfiles_does_it(tmp_path, monkeypatch):
    def unavailable(folders):
        raise InotifyUnavailable("test")

    monkeypatch.setattr(watch_module, "Inotify", unavailable)
    a = tmp_path / "a.lua"
    async with watching(tmp_path) as batches:
        save(a, "-- 1")
        assert await next_batch(batches) == {a}


@linux
async def test_a_file_written_in_place_arrives_once_its_writer_closes_it(tmp_path):
    # A file rewritten in two steps, its writer holding it open between them: its first part
    # is no batch. A later save of another file is the next batch, alone; the close, the one after.
    a, b, c = tmp_path / "a.lua", tmp_path / "b.lua", tmp_path / "c.lua"
    a.write_text("-- whole")
    async with watching(tmp_path) as batches:
        with open(a, "w") as f:                 # truncated, then the first part
            f.write("-- first part")
            f.flush()
            os.fsync(f.fileno())
            save(b, "-- b")
            assert await next_batch(batches) == {b}
            f.write("\n-- the rest")
            f.flush()
        assert await next_batch(batches) == {a}
        os.link(a, c)                           # a link to a file already whole: seen at once
        assert await next_batch(batches) == {c}


@linux
@pytest.mark.parametrize("refused", ["init", "add_watch"])
async def test_inotify_used_up_falls_back_to_watchfiles(tmp_path, monkeypatch, caplog, refused):
    caplog.set_level("DEBUG", logger="moonhook.watch")

    class UsedUp(watch_module.INotify):
        def __init__(self, **kwargs):
            if refused == "init":
                raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))
            super().__init__(**kwargs)

        def add_watch(self, path, mask):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(watch_module, "INotify", UsedUp)
    a = tmp_path / "a.lua"
    async with watching(tmp_path) as batches:
        save(a, "-- 1")
        assert await next_batch(batches) == {a}
    assert any("watching with watchfiles" in r.getMessage() for r in caplog.records)


@linux
async def test_a_folder_deleted_is_told_and_the_others_still_watched(tmp_path, caplog):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    two.mkdir()
    async with watching(one, two) as batches:
        one.rmdir()
        # The folder itself is named (a move tells none of its files: the shadow unloads them).
        assert await next_batch(batches) == {one}
        (two / "b.lua").write_text("-- b")
        assert await next_batch(batches) == {two / "b.lua"}
    told = [r.getMessage() for r in caplog.records if "not seen until it is back" in r.getMessage()]
    assert len(told) == 1 and str(one) in told[0]  # once, though the kernel says it twice


@linux
async def test_a_folder_moved_away_and_back_is_handed_over_with_its_files_and_watched_again(tmp_path, caplog):
    folder, away = tmp_path / "scripts", tmp_path / "scripts-old"
    folder.mkdir()
    async with watching(folder) as batches:
        folder.rename(away)
        assert await next_batch(batches) == {folder}
        (away / "a.lua").write_text("-- a")          # saved while away: not seen then
        away.rename(folder)
        # Back: itself and every file in it (the caller looks at each; one unchanged is unchanged).
        assert await next_batch(batches) == {folder, folder / "a.lua"}
        (folder / "b.lua").write_text("-- b")
        assert await next_batch(batches) == {folder / "b.lua"}
    assert any(f"{folder} is back: saves there are seen again" in r.getMessage() for r in caplog.records)


@linux
async def test_a_folder_deleted_and_made_again_is_watched_again(tmp_path):
    folder = tmp_path / "scripts"
    folder.mkdir()
    async with watching(folder) as batches:
        folder.rmdir()
        assert await next_batch(batches) == {folder}
        folder.mkdir()
        assert await next_batch(batches) == {folder}
        (folder / "b.lua").write_text("-- b")
        assert await next_batch(batches) == {folder / "b.lua"}


@linux
async def test_events_lost_by_the_kernel_look_at_every_file_watched(tmp_path, caplog):
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    if limit > 100_000:
        pytest.skip(f"a queue of {limit} events takes too long to overflow")
    a, b, c = tmp_path / "a.lua", tmp_path / "b.lua", tmp_path / "c.lua"
    for path in (a, b, c, tmp_path / "notes.txt"):
        path.write_text("--")
    with Inotify([tmp_path]) as notify:
        # Nothing reads meanwhile: opening a and b for writing and closing them in turn (no
        # two events alike in a row, which the kernel would merge) fills the queue, and then
        # the kernel drops events.
        for n in range(limit + 10):
            open(a if n % 2 else b, "a").close()
        # c had no event: it is there because every file was looked at
        assert notify._read(lua) == {a, b, c}
        assert notify._read(lua) == set()  # nothing more queued
    assert any("overflow" in r.getMessage() for r in caplog.records)
