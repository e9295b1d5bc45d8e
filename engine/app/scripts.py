"""The scripts folder as the dashboard's editor sees it: the files and their state, one file's
text, what ``moonhook check`` finds in a text, a save that answers once the engine has tried
it, and the examples a new file starts from.

A save is written atomically (a temporary file in the same folder, fsynced, then
``os.replace``), so the file watcher and a crash only ever see the old text or the new. The
answer comes from the lifecycle itself: ``Lifecycle.apply`` tries the file as it is now, in
turn with every other load, and returns once it has; the plugin serving from the file (by
the digest of its source) or the error kept for it says how it went. The file watcher, if
on, sees the same save and finds that version tried already (a failed one is tried again,
and told again).
"""

from __future__ import annotations

import importlib
import os
import re
import tempfile
from pathlib import Path
from typing import Any

from engine.app.scaffold import EXAMPLE_NAME, EXAMPLE_SCRIPT
from engine.core.plugins import NAME as PLUGIN_NAME
from engine.core.script_files import digest, scripts_in

MAX_NAME = 120
# In bytes, as the file system counts (255 on most): a save writes ``.NAME.XXXXXXXX.tmp`` first.
MAX_NAME_BYTES = 255 - len(".XXXXXXXX.tmp") - 1
_LOCATED = re.compile(r"^[^:\s]+\.lua(?::(\d+))?: error: (.*)$", re.S)  # moonhook check's form
# Names Windows keeps for devices (CON, PRN, AUX, NUL, COM0-9, LPT0-9, in any case, whatever the extension).
_DEVICE = r"[Cc][Oo][Nn]|[Pp][Rr][Nn]|[Aa][Uu][Xx]|[Nn][Uu][Ll]|[Cc][Oo][Mm][0-9]|[Ll][Pp][Tt][0-9]"
NEW_NAME_RULE = ("a new script needs a file name like trend.lua: a letter, then letters, digits, _ or - (48 at "
                 "most), then .lua, and not a name Windows keeps for a device (CON, PRN, AUX, NUL, COM0-9, LPT0-9)")
# A new file's name: its stem is the plugin name the loader gives a script without plugin.name, so it loads
# as written; nothing in it a file system refuses. A pattern JavaScript reads too: the dashboard's New checks by it.
NEW_NAME = re.compile(rf"^(?!(?:{_DEVICE})\.lua$){PLUGIN_NAME}\.lua$")


class ScriptNameError(ValueError):
    """A file name the scripts routes refuse: not a plain ``*.lua`` name inside the folder."""


class EditingOff(PermissionError):
    """Saving scripts from the dashboard is switched off (``server.dashboard_edit = false``)."""


class ScriptChanged(Exception):
    """A save based on a version of the file that is no longer the one on disk (saved from
    another editor meanwhile), or a new file whose name is taken. ``version``: the file's now."""

    def __init__(self, message: str, version: str | None):
        super().__init__(message)
        self.version = version


class NameClash(Exception):
    """A save refused whole, nothing written: the text's plugin name is served from another
    file, ``holder`` (saved, it would take the name over at the next start)."""

    def __init__(self, message: str, holder: str):
        super().__init__(message)
        self.holder = holder


def checked_name(name: str) -> str:
    """``name`` if it is a plain ``*.lua`` file name inside the scripts folder; raises
    ScriptNameError saying what is wrong with it."""
    if not name:
        raise ScriptNameError("file name: empty")
    if "/" in name or "\\" in name:
        raise ScriptNameError(f"file name {name!r}: must not contain '/' or '\\' (a file inside scripts/)")
    if name in (".", "..") or ".." in name:
        raise ScriptNameError(f"file name {name!r}: must not contain '..'")
    if name.startswith((".", "#")):
        raise ScriptNameError(f"file name {name!r}: hidden or backup files are not scripts")
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
        raise ScriptNameError("file name: must not contain control characters")
    if len(name) > MAX_NAME:
        raise ScriptNameError(f"file name: longer than {MAX_NAME} characters")
    if len(name.encode("utf-8", errors="surrogatepass")) > MAX_NAME_BYTES:
        raise ScriptNameError(f"file name: longer than {MAX_NAME_BYTES} bytes in UTF-8 (the file system's limit)")
    if not name.endswith(".lua") or name == ".lua":
        raise ScriptNameError(f"file name {name!r}: must end in .lua")
    return name


def new_name(name: str) -> str:
    """``name`` if a new script may be given it (``NEW_NAME``: the engine loads it under that name, and
    any file system holds it); raises ScriptNameError naming the rule. A file there already, named
    otherwise by hand, is still read and saved (``checked_name``)."""
    if not NEW_NAME.fullmatch(name):
        raise ScriptNameError(f"file name {name!r}: {NEW_NAME_RULE}")
    return name


def case_clash(folder: Path, name: str) -> None:
    """Raises ScriptNameError if ``folder`` holds a file whose name differs from ``name`` only in case:
    one file on Windows and macOS, where the new script would replace (or fail to copy beside) the other."""
    folded = name.casefold()
    for other in os.listdir(folder):
        if other != name and other.casefold() == folded:
            raise ScriptNameError(f"file name {name!r}: differs from {other} only in case, which Windows and "
                                  "macOS hold as one file: open it from the list, or give the new script "
                                  "another name")


def script_path(folder: Path, name: str) -> Path:
    """The path of ``name`` (``checked_name``) in ``folder``, when what it leads to is inside ``folder``: a link
    to a file elsewhere (put there to share a script, or ``moonhook.toml``, which holds secrets the API token
    never gives) is neither read nor written over by the editor. Raises ScriptNameError."""
    path = folder / checked_name(name)
    if path.is_symlink() and not path.resolve().is_relative_to(folder.resolve()):
        raise ScriptNameError(f"file name {name!r}: a link to a file outside {folder.name}/; the editor opens and "
                              "saves only the files inside it (edit the file where it is)")
    return path


def listing(folder: Path, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The scripts in ``folder``, by name: {name, size, modified, state, plugin}; ``state`` is
    that of the file's plugin row (None: the engine has not seen the file)."""
    by_file = {row["file"]: row for row in rows}
    out = []
    for path in scripts_in(folder):
        try:
            stat = path.stat()
        except FileNotFoundError:  # deleted meanwhile
            continue
        row = by_file.get(path.name)
        out.append({"name": path.name, "size": stat.st_size, "modified": stat.st_mtime,
                    "state": row["state"] if row else None, "plugin": row["name"] if row else None})
    return out


def read(folder: Path, name: str) -> dict[str, str]:
    """``{"name", "text", "version"}`` of ``name``, the version being the digest of its bytes (a
    save based on it is refused once the file has changed: ``unchanged``); raises
    ScriptNameError, FileNotFoundError. A name missing that differs from a script's only in case
    (``case_clash``) is a ScriptNameError: the editor's New asks before anything is typed under it."""
    path = script_path(folder, name)
    if not path.is_file():
        case_clash(folder, name)
        raise FileNotFoundError(f"no script {name!r} in {folder.name}/")
    data = path.read_bytes()
    return {"name": name, "text": data.decode("utf-8", errors="replace"), "version": digest(data)}


def unchanged(folder: Path, name: str, based_on: str | None, new: bool) -> None:
    """Raises ScriptChanged unless a save of ``name`` may go: the file is still the version
    ``based_on`` (when given; ``*``: any version, but there), or it does not exist (``new``);
    ScriptNameError for a file it would make under a name no new script may have (``new_name``, ``case_clash``)."""
    path = script_path(folder, name)
    if path.exists() and not path.is_file():
        raise ScriptNameError(f"file name {name!r}: a folder (or other non-file) of that name is in "
                              f"{folder.name}/; a script cannot be saved over it")
    now = digest(path.read_bytes()) if path.is_file() else None
    if new and now is not None:
        raise ScriptChanged(f"{name} exists already: open it from the list, or give the new script another "
                            "name", now)
    if based_on == "*" and now is None:
        raise ScriptChanged(f"{name} is not there (deleted or renamed since it was opened): save it as a new "
                            "script", None)
    if based_on not in (None, "*") and based_on != now:
        raise ScriptChanged(f"{name} changed since it was opened (saved from elsewhere meanwhile): reload it, "
                            "or save over it", now)
    if now is None:
        new_name(name)
        case_clash(folder, name)


def write_atomically(folder: Path, name: str, text: str) -> Path:
    """Replaces ``name`` in ``folder`` by ``text`` at once: never half written, durable once
    returned (the file and the folder's entry fsynced). Raises ScriptNameError, OSError."""
    path = script_path(folder, name)
    data = text.encode("utf-8")
    # A hidden name: the watcher and the lifecycle ignore it (is_script).
    fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644 if not path.exists() else path.stat().st_mode & 0o777)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    entry = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(entry)
    finally:
        os.close(entry)
    return path


def load_answer(name: str, text: str, serving: Any, error: str | None) -> dict[str, Any]:
    """What a save answers once the lifecycle has tried it: ``serving`` is the plugin serving
    from the file now (or None), ``error`` the report kept for the file (or the serving
    version's failed reload). ``version``: the saved text's, for the next save to be based on;
    ``serving_version``: the version serving now, as ``/api/plugins`` and the alerts name it (None: none)."""
    version = digest(text.encode("utf-8"))
    if serving is not None and serving.digest == version:
        return {"loaded": True, "plugin": serving.name, "enabled": serving.enabled, "version": version,
                "serving_version": serving.version}
    if error is not None:
        match = _LOCATED.match(error)
        return {"loaded": False, "error": error, "line": int(match[1]) if match and match[1] else None,
                "message": match[2] if match else error,
                **_served(serving), "version": version}
    return {"loaded": False, "error": f"{name} changed again before this version was loaded", "line": None,
            **_served(serving), "version": version}


def _served(serving: Any) -> dict[str, Any]:
    """Which plugin serves from the file after a save that did not load, and its version (None: none)."""
    return {"serving": serving.name if serving is not None else None,
            "serving_version": serving.version if serving is not None else None}


def findings(found: list[Any]) -> list[dict[str, Any]]:
    """``moonhook check``'s findings as the editor shows them: line and column when known
    (Lua reports lines only), severity (error, warning, ok) and the message."""
    return [{"line": f.line, "column": None, "severity": f.level, "message": f.message} for f in found]


async def check_text(name: str, text: str, config: Any) -> list[dict[str, Any]]:
    """What ``moonhook check`` finds in ``text`` saved as ``name`` (in a folder of its own,
    never the engine's); raises ScriptNameError."""
    checked_name(name)
    # engine.app.checker imports the package that imports the facade: imported here, by name,
    # so the app's modules keep no import circle.
    checker = importlib.import_module("engine.app.checker")
    with tempfile.TemporaryDirectory(prefix="moonhook-edit-") as tmp:
        path = Path(tmp) / name
        path.write_text(text, encoding="utf-8")
        return findings(await checker.check_files([path], config))


def examples() -> list[dict[str, Any]]:
    """The example scripts a new file can start from, those `moonhook init` writes: {name, text}."""
    return [{"name": EXAMPLE_NAME, "text": EXAMPLE_SCRIPT}]
