"""Saves in scripts/ (and of moonhook.toml) as they happen.

Only completed writes are acted on: a file closed after writing, renamed in, deleted or renamed
away (on Linux; watchfiles, elsewhere, reports each write). A file written in place is seen
once its writer closes it, never at a first part. Events are grouped: a batch is handed over
once no new event came for ``STEP_MS``, or after ``DEBOUNCE_MS`` at most, so a burst of saves
(or an editor's temporary file and rename) is one batch, and each file in it is looked at
once, as it is by then. A wanted file that is a link is saved where its file is: the folders links
lead into are watched too, and a save there is handed over as one of the link (Linux only).
A watched folder deleted or moved away is handed over itself (a move tells none of its files), and
its return is awaited (in the folder above it): the folder back (moved back, or made again) is
handed over again with every wanted file in it, and watched as before (Linux only).

On Linux the folders are watched with inotify (through inotify_simple), its descriptor
waited on by Trio's own I/O loop and read without blocking: an engine with nothing saved is
not woken at all. Elsewhere (or if inotify cannot be had, e.g. the user's instances or
watches are used up) watchfiles does it, whose Rust side sleeps ``STEP_MS`` at a time in a
thread and takes the GIL at each step to check its stop event: about 50 wake-ups a second,
and a round trip to the event loop every ``IDLE_MS``.
That cost 0.55 % of a core on an idle `moonhook run` (bench/NOTES.md, "Idle CPU").
"""

from __future__ import annotations

import errno
import logging
import sys
from pathlib import Path
from typing import Awaitable, Callable

import trio

try:
    from inotify_simple import INotify, flags
except ImportError:  # a dependency on Linux only: elsewhere watchfiles does it
    INotify = None

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
        notify.follow_links(wanted)
        task_status.started()
        await _watch_inotify(notify, wanted, changed, stop)


async def _watch_inotify(notify: Inotify, wanted: Wanted, changed: Changed, stop: trio.Event) -> None:
    waiting = trio.CancelScope()  # the wait for the next batch, which stop ends

    async def on_stop() -> None:
        await stop.wait()
        waiting.cancel()

    async with trio.open_nursery() as nursery:
        nursery.start_soon(on_stop, name="file watcher stop")
        while not stop.is_set():
            with waiting:
                paths = await notify.batch(wanted)
            if stop.is_set():
                break
            notify.follow_links(wanted)   # a link made, changed or removed in this batch
            log.debug("changed: %s", ", ".join(sorted(p.name for p in paths)))
            await changed(paths)
            waiting = trio.CancelScope()
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

def _complete(mask: int, path: Path) -> bool:
    """Whether the event says ``path`` is whole now. A file created (CREATE) is empty until its
    writer closes it (CLOSE_WRITE, which comes then); only a link made to a file already
    written (``ln``, ``ln -s``) is whole at its CREATE, and has no CLOSE_WRITE to follow."""
    if not mask & flags.CREATE:
        return True
    if mask & flags.ISDIR:
        return False
    try:
        return path.is_symlink() or path.stat().st_nlink > 1
    except OSError:
        return False


# What a folder a link leads into is watched for: its files' completed writes, renames and deletes.
_LINKED = (flags.CLOSE_WRITE | flags.MOVED_FROM | flags.MOVED_TO | flags.DELETE | flags.ONLYDIR) if INotify else 0


class InotifyUnavailable(Exception):
    """Not Linux, or the kernel refused an instance or a watch."""


class Inotify:
    """An inotify instance watching ``folders`` (each without its subfolders), read without
    blocking when Trio says its descriptor is readable. Raises FileNotFoundError for a folder
    that does not exist, InotifyUnavailable when inotify cannot be used."""

    def __init__(self, folders: list[Path]):
        if INotify is None:
            raise InotifyUnavailable(f"inotify_simple not installed ({sys.platform})")
        try:
            self.inotify = INotify(nonblocking=True)
        except (OSError, AttributeError) as e:  # AttributeError: a libc without inotify
            raise InotifyUnavailable(str(e)) from None
        # Completed writes only: a file closed after writing, renamed in or out of the folder,
        # deleted, linked in; and the folder itself going away. Not MODIFY (nor ATTRIB, which an
        # fchmod mid-write gives): a file written in place in two steps, its writer holding it
        # open between them, would go live at its first part (a moonhook.toml cut after its
        # first lines, every later limit unset; a guard without its hooks).
        self.mask = mask = (flags.CLOSE_WRITE | flags.MOVED_FROM | flags.MOVED_TO | flags.CREATE | flags.DELETE
                | flags.DELETE_SELF | flags.MOVE_SELF | flags.ONLYDIR)
        self.folders: dict[int, Path] = {}
        self.linked: dict[int, Path] = {}        # the folders links in ``folders`` lead into (resolved)
        self.links: dict[Path, set[Path]] = {}   # a file links lead to (resolved) -> those links
        self.awaited: dict[Path, int] = {}       # a folder gone -> the watch of the folder above it
        try:
            for folder in folders:
                try:
                    self.folders[self.inotify.add_watch(folder, mask)] = folder
                except OSError as e:
                    if e.errno in (errno.ENOENT, errno.ENOTDIR):
                        raise FileNotFoundError(e.errno, e.strerror, str(folder)) from None
                    raise InotifyUnavailable(f"{folder}: {e.strerror}") from None
        except BaseException:
            self.inotify.close()
            raise

    def __enter__(self) -> Inotify:
        return self

    def __exit__(self, *exc) -> None:
        trio.lowlevel.notify_closing(self.inotify)
        self.inotify.close()

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
            await trio.lowlevel.wait_readable(self.inotify)
            if paths := self._read(wanted):
                return paths

    def follow_links(self, wanted: Wanted) -> None:
        """Watches the folders the wanted links of ``folders`` lead into, so that a file saved where it
        is (a script shared from a repository, linked into scripts/) counts as a save of each link to
        it; lets go of those no link leads into any more."""
        links: dict[Path, set[Path]] = {}
        for folder in self.folders.values():
            try:
                found = [p for p in folder.iterdir() if p.is_symlink() and wanted(p)]
            except OSError:
                continue
            for link in found:
                links.setdefault(link.resolve(), set()).add(link)
        self.links = links
        needed = {target.parent for target in links} - {f.resolve() for f in self.folders.values()}
        for wd, folder in list(self.linked.items()):
            if folder not in needed:
                del self.linked[wd]
                if wd in self.awaited.values():
                    continue   # the same folder's watch awaits a watched folder's return
                try:
                    self.inotify.rm_watch(wd)
                except OSError:
                    pass   # gone with its folder
        for folder in needed - set(self.linked.values()):
            try:
                self.linked[self.inotify.add_watch(folder, _LINKED)] = folder
            except OSError as e:   # a link to nowhere, or a folder out of reach: its link still loads at a save
                log.debug("%s: not watched for the links to it: %s", folder, e.strerror)

    def _read(self, wanted: Wanted) -> set[Path]:
        """The wanted paths in the events queued now (none if there are none)."""
        paths: set[Path] = set()
        for event in self.inotify.read(timeout=0):
            if event.mask & flags.Q_OVERFLOW:
                paths |= self._overflowed(wanted)
                continue
            if event.mask & flags.IGNORED and event.wd in self.linked:   # its folder gone
                del self.linked[event.wd]
            if event.name and event.mask & flags.ISDIR and event.mask & (flags.CREATE | flags.MOVED_TO):
                paths |= self._returned(event.wd, event.name, wanted)
            if event.name and (into := self.linked.get(event.wd) or self.folders.get(event.wd)) is not None:
                paths |= {link for link in self.links.get(into.resolve() / event.name, ()) if wanted(link)}
            if (folder := self.folders.get(event.wd)) is None:
                continue
            elif event.mask & (flags.DELETE_SELF | flags.MOVE_SELF | flags.IGNORED):
                paths |= self._gone(event.wd, event.mask, folder, wanted)
            elif event.name and wanted(path := folder / event.name) and _complete(event.mask, path):
                paths.add(path)
        return paths

    def _gone(self, wd: int, mask: int, folder: Path, wanted: Wanted) -> set[Path]:
        """``folder`` deleted or moved: itself (a move tells none of its files), its return awaited
        in the folder above it; if it is back already, as ``_back`` says it."""
        del self.folders[wd]
        if mask & flags.MOVE_SELF:
            try:
                self.inotify.rm_watch(wd)   # it follows the folder where it went: not ours any more
            except OSError:
                pass
        try:
            self.awaited[folder] = self.inotify.add_watch(folder.parent, flags.CREATE | flags.MOVED_TO | flags.ONLYDIR
                                                          | flags.MASK_ADD)
        except OSError as e:
            log.warning("%s was deleted or moved: saves there are no longer seen until a restart (%s: %s)",
                        folder, folder.parent, e.strerror)
            return {folder}
        log.warning("%s was deleted or moved: saves there are not seen until it is back", folder)
        return {folder} | (self._back(folder, wanted) if folder.is_dir() else set())

    def _returned(self, wd: int, name: str, wanted: Wanted) -> set[Path]:
        """A folder made or moved in where ``wd`` watches: a watched folder back, if it is one."""
        for folder, above in list(self.awaited.items()):
            if above == wd and folder.name == name:
                return self._back(folder, wanted)
        return set()

    def _back(self, folder: Path, wanted: Wanted) -> set[Path]:
        """``folder`` is back: watched again, handed over with every wanted file in it (saved while
        it was away, or not: a file unchanged is recognised as such when loaded)."""
        try:
            wd = self.inotify.add_watch(folder, self.mask)
            found = {p for p in folder.iterdir() if wanted(p)}
        except OSError:
            return set()   # gone again already: its return is still awaited
        self.folders[wd] = folder
        above = self.awaited.pop(folder)
        if above not in self.folders and above not in self.linked and above not in self.awaited.values():
            try:
                self.inotify.rm_watch(above)
            except OSError:
                pass
        log.warning("%s is back: saves there are seen again", folder)
        return {folder} | found

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
