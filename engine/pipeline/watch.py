"""Saves in scripts/ (and of moonhook.toml) as they happen.

Events are grouped: a batch is handed over once no new event came for ``STEP_MS``, or after
``DEBOUNCE_MS`` at most, so a burst of saves (or an editor's temporary file and rename) is
one batch, and each file in it is looked at once, as it is by then.

On Linux the folders are watched with inotify, its descriptor waited on by Trio's own I/O
loop: an engine with nothing saved is not woken at all. Elsewhere (or if inotify cannot be
had, e.g. the user's instances or watches are used up) watchfiles does it, whose Rust side
sleeps ``STEP_MS`` at a time in a thread and takes the GIL at each step to check its stop
event: about 50 wake-ups a second, and a round trip to the event loop every ``IDLE_MS``.
That cost 0.55 % of a core on an idle `moonhook run` (bench/NOTES.md, "Idle CPU").
"""

from __future__ import annotations

import ctypes
import errno
import logging
import os
import struct
import sys
from pathlib import Path
from typing import Awaitable, Callable

import trio

log = logging.getLogger("moonhook.watch")

STEP_MS = 20
DEBOUNCE_MS = 200
# watchfiles only: its thread comes back this often when nothing happens; its first return
# tells that the watch is in place (watchfiles sets it up inside its generator, unseen).
IDLE_MS = 250

Wanted = Callable[[Path], bool]
Changed = Callable[[set[Path]], Awaitable[None]]


async def watch(folders: list[Path], wanted: Wanted, changed: Changed, stop: trio.Event,
                task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Calls ``changed(paths)`` for each batch of changes to files in ``folders`` (not their
    subfolders) that ``wanted`` accepts, until ``stop`` is set (which ends the wait for the
    next batch at once; a batch being handled is finished). Started once the watch is in
    place."""
    try:
        notify = Inotify(folders)
    except InotifyUnavailable as e:
        log.debug("inotify unavailable (%s): watching with watchfiles", e)
        await _watch_watchfiles(folders, wanted, changed, stop, task_status)
        return
    with notify:
        task_status.started()
        await _watch_inotify(notify, wanted, changed, stop)


async def _watch_inotify(notify: Inotify, wanted: Wanted, changed: Changed, stop: trio.Event) -> None:
    waiting: list[trio.CancelScope] = []  # the wait for a batch, if one is under way

    async def on_stop() -> None:
        await stop.wait()
        for scope in waiting:
            scope.cancel()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(on_stop, name="file watcher stop")
        while not stop.is_set():
            with trio.CancelScope() as scope:
                waiting.append(scope)
                try:
                    paths = await notify.batch(wanted)
                finally:
                    waiting.clear()
            if scope.cancelled_caught or stop.is_set():
                break
            log.debug("changed: %s", ", ".join(sorted(p.name for p in paths)))
            await changed(paths)
        nursery.cancel_scope.cancel()


async def _watch_watchfiles(folders: list[Path], wanted: Wanted, changed: Changed, stop: trio.Event,
                            task_status: trio.TaskStatus[None]) -> None:
    from watchfiles import awatch

    ready = False
    async for changes in awatch(*folders, watch_filter=lambda _, path: wanted(Path(path)),
                                debounce=DEBOUNCE_MS, step=STEP_MS, stop_event=stop,
                                rust_timeout=IDLE_MS, yield_on_timeout=True, recursive=False):
        if not ready:
            ready = True
            task_status.started()
        if changes:
            paths = {Path(path) for _, path in changes}
            log.debug("changed: %s", ", ".join(sorted(p.name for p in paths)))
            await changed(paths)


# -- inotify ----------------------------------------------------------------------------------

class InotifyUnavailable(Exception):
    """Not Linux, or the kernel refused an instance or a watch."""


IN_MODIFY = 0x2
IN_ATTRIB = 0x4
IN_CLOSE_WRITE = 0x8
IN_MOVED_FROM = 0x40
IN_MOVED_TO = 0x80
IN_CREATE = 0x100
IN_DELETE = 0x200
IN_DELETE_SELF = 0x400
IN_MOVE_SELF = 0x800
IN_Q_OVERFLOW = 0x4000
IN_IGNORED = 0x8000
IN_ONLYDIR = 0x1000000
IN_CLOEXEC = 0o2000000
IN_NONBLOCK = 0o4000
# What watchfiles (the notify crate) reports too: a file written, touched, created, deleted
# or renamed in or out of the folder; and the folder itself going away.
MASK = (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_MOVED_FROM | IN_MOVED_TO | IN_CREATE | IN_DELETE
        | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)
HEADER = struct.Struct("iIII")  # struct inotify_event: wd, mask, cookie, len; then the name


class Inotify:
    """An inotify instance watching ``folders`` (each without its subfolders), read without
    blocking when Trio says its descriptor is readable. Raises FileNotFoundError for a folder
    that does not exist, InotifyUnavailable when inotify cannot be used."""

    def __init__(self, folders: list[Path]):
        if not sys.platform.startswith("linux"):
            raise InotifyUnavailable(sys.platform)
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            init, add = libc.inotify_init1, libc.inotify_add_watch
        except (OSError, AttributeError) as e:
            raise InotifyUnavailable(str(e)) from None
        add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self.fd = init(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            raise InotifyUnavailable(os.strerror(ctypes.get_errno()))
        self.folders: dict[int, Path] = {}
        try:
            for folder in folders:
                wd = add(self.fd, os.fsencode(folder), MASK)
                if wd < 0:
                    code = ctypes.get_errno()
                    if code in (errno.ENOENT, errno.ENOTDIR):
                        raise FileNotFoundError(code, os.strerror(code), str(folder))
                    raise InotifyUnavailable(f"{folder}: {os.strerror(code)}")
                self.folders[wd] = folder
        except BaseException:
            os.close(self.fd)
            raise

    def __enter__(self) -> Inotify:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.fd >= 0:
            try:
                trio.lowlevel.notify_closing(self.fd)
            except RuntimeError:  # not in Trio: nothing can be waiting on it
                pass
            os.close(self.fd)
            self.fd = -1

    async def batch(self, wanted: Wanted) -> set[Path]:
        """The next batch of wanted paths changed: it starts with the first wanted event and
        ends once none came for STEP_MS, or DEBOUNCE_MS after its start."""
        paths = await self._next(wanted)
        deadline = trio.current_time() + DEBOUNCE_MS / 1000
        while trio.current_time() < deadline:
            with trio.move_on_at(min(trio.current_time() + STEP_MS / 1000, deadline)) as quiet:
                more = await self._next(wanted)
            if quiet.cancelled_caught:
                break
            paths |= more
        return paths

    async def _next(self, wanted: Wanted) -> set[Path]:
        """The wanted paths in the next events that name any."""
        while True:
            await trio.lowlevel.wait_readable(self.fd)
            paths = self._read(wanted)
            if paths:
                return paths

    def _read(self, wanted: Wanted) -> set[Path]:
        """The wanted paths in the events queued now (none if there are none)."""
        paths: set[Path] = set()
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return paths
            offset = 0
            while offset < len(data):
                wd, mask, _, size = HEADER.unpack_from(data, offset)
                name = data[offset + HEADER.size:offset + HEADER.size + size].rstrip(b"\0")
                offset += HEADER.size + size
                if mask & IN_Q_OVERFLOW:
                    paths |= self._overflowed(wanted)
                    continue
                folder = self.folders.get(wd)
                if folder is None:
                    continue
                if mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED):
                    if self.folders.pop(wd, None) is not None:
                        log.warning("%s was deleted or moved: saves there are no longer seen until a restart",
                                    folder)
                    continue
                path = folder / os.fsdecode(name)
                if name and wanted(path):
                    paths.add(path)

    def _overflowed(self, wanted: Wanted) -> set[Path]:
        """The kernel's queue overflowed, events were lost: every wanted file there now (a
        file unchanged is recognised as such when loaded)."""
        log.warning("file events were lost (inotify queue overflow): looking at every file watched")
        found: set[Path] = set()
        for folder in self.folders.values():
            try:
                found |= {p for p in folder.iterdir() if wanted(p)}
            except OSError:
                pass
        return found
