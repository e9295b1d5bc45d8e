"""What a draft of a script would have done with the alerts this engine received: the
dashboard editor's Replay (docs/dashboard.md), before the draft is saved and goes live.

The live scripts as they serve (each plugin's version serving, the one before a save that did
not load; a file nothing serves from left out, as it trades nothing), and the same with the
draft in place of its file, are replayed over
the journal's last days by ``moonhook replay --compare`` (docs/replay.md) in a child process:
a draft that wedges its sandbox can only end that process, its CPU runs at a lower priority
than the engine's, and it is given only what a replay reads. Its settings file holds the
``[engine]``, ``[sandbox]``, ``[paper]`` and ``[plugins]`` tables and nothing else (never the
server's secrets, the bots' tokens or the MT5 login), its environment the sandbox workers'
(``sandbox.allowlist.WORKER_ENV``).
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
import trio

from sandbox.allowlist import WORKER_ENV, worker_environment

from engine.app.replay.coverage import NOTHING_REPLAYED
from engine.app.settings import SettingsError, load_settings

SECONDS = 120                                    # the most a replay may take
# No timer more often than this (``--timer-every``): a 2-second trailing stop over 30 days of
# alerts is 1.3 million calls a side, minutes past SECONDS; the answer says it.
TIMER_EVERY = 60
MAX_DAYS = 366
KEPT_TABLES = ("engine", "sandbox", "paper", "plugins")
ENGINE_PATHS = ("scripts", "data")               # folders of the live engine, not the replay's
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])
# The file (and line) a refusal begins with: "gate.lua:3: ...", "moonhook.toml: line 2: ...".
_WHERE = re.compile(r"(?P<file>[^\s:/\\]+\.(?:lua|toml)):(?: line )?(?P<line>\d+)?")
# The child lowers its own priority before it runs anything (a preexec_fn is not safe in a
# parent with threads), so that the engine's trades go first; then it is `moonhook`.
_CHILD = ("import os, sys\n"
          "if hasattr(os, 'nice'): os.nice(10)\n"
          "from engine.interfaces.cli import main\n"
          "sys.exit(main())\n")


class DraftReplayError(Exception):
    """The replay could not be made: a script that does not load (file:line: what), one that
    ran past its hard deadline, moonhook.toml that does not read, or a replay that took too
    long. Its text says which; ``file`` and ``line`` are the file and line it names first (None
    when it names none), for the editor to mark the line when the file is the one open."""

    def __init__(self, message: str):
        super().__init__(message)
        self.file, self.line = _located(message)


def _located(text: str) -> tuple[str | None, int | None]:
    """The file and line ``text`` begins with ("gate.lua:3", "moonhook.toml: line 2"); None for what it does not say."""
    where = _WHERE.match(text)
    return (where["file"] if where else None), (int(where["line"]) if where and where["line"] else None)


class ReplayBusy(DraftReplayError):
    """Another replay is running (one at a time: each takes a core while it runs)."""


async def replay_draft(settings: Path | None, serving: dict[str, bytes], journal: Path, name: str, text: str,
                       days: float, now: float) -> dict[str, Any]:
    """The live scripts, ``serving`` (each file's name and the source serving from it: read from
    the disk, a file whose last save did not load would fail the whole replay), against them with
    ``text`` as ``name`` (a checked file name), over
    the alerts of ``journal`` received in the ``days`` before ``now``; see ``summary``.
    ``settings``: the engine's moonhook.toml (None: the defaults). Raises DraftReplayError."""
    with tempfile.TemporaryDirectory(prefix="moonhook-replay-") as tmp:
        base = Path(tmp)
        await trio.to_thread.run_sync(_prepare, base, settings, serving, name, text)
        command = [sys.executable, "-c", _CHILD, "replay", "--config", str(base / "replay.toml"),
                   "--scripts", str(base / "live"), "--compare", str(base / "draft"),
                   "--alerts", str(journal.resolve()),
                   "--from", repr(now - days * 86400), "--to", repr(now), "--json", "--summary",
                   "--timer-every", str(TIMER_EVERY)]
        env = worker_environment(WORKER_ENV, os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, os.environ.get("PYTHONPATH")) if p)
        with trio.move_on_after(SECONDS):
            done = await trio.run_process(command, capture_stdout=True, capture_stderr=True, check=False,
                                          env=env, cwd=tmp, stdin=b"")
            return _answer(done.returncode, done.stdout, done.stderr, tmp)
        raise DraftReplayError(f"the replay took more than {SECONDS} s and was stopped; try fewer days")


def _prepare(base: Path, settings: Path | None, serving: dict[str, bytes], name: str, text: str) -> None:
    """``base``/live: the sources ``serving``; ``base``/draft: the same with ``text`` as ``name``;
    ``base``/replay.toml: the tables a replay reads."""
    live, draft = base / "live", base / "draft"
    live.mkdir()
    draft.mkdir()
    for file, source in serving.items():
        (live / file).write_bytes(source)
        if file != name:
            (draft / file).write_bytes(source)
    (draft / name).write_text(text, encoding="utf-8")
    (base / "replay.toml").write_text(tomli_w.dumps(replay_settings(settings)), encoding="utf-8")


def replay_settings(settings: Path | None) -> dict[str, Any]:
    """The tables of moonhook.toml a replay reads, without the live engine's folders. The file
    is read as it is now: one saved since the start that does not read (the engine refused the
    save, and goes on with what it read before) raises DraftReplayError naming its line, not a
    failure of the server's nor one of the replay's own file."""
    if settings is None or not settings.exists():
        return {}
    try:
        load_settings(settings, env={})
    except SettingsError as e:
        said = str(e).replace(str(settings), settings.name, 1)
        raise DraftReplayError(f"{said}; a replay reads it as it is now (the engine goes on with what it read "
                               "before): correct it, then replay") from None
    data = tomllib.loads(settings.read_text(encoding="utf-8-sig"))   # as load_settings reads it
    kept = {k: v for k, v in data.items() if k in KEPT_TABLES}
    if isinstance(kept.get("engine"), dict):
        kept["engine"] = {k: v for k, v in kept["engine"].items() if k not in ENGINE_PATHS}
    return kept


def _answer(code: int, out: bytes, err: bytes, tmp: str) -> dict[str, Any]:
    said = err.decode("utf-8", "replace")
    for folder in ("draft", "live"):   # a file named with its folder, of two: the editor's are the live ones
        said = said.replace(os.path.join(tmp, folder, ""), "")
    said = said.replace(tmp + os.sep, "").strip().splitlines()
    last = said[-1].removeprefix("moonhook: ") if said else f"the replay ended with status {code}"
    if code in (2, 70):   # a script that does not load, or one past its hard deadline
        raise DraftReplayError(last)
    if code not in (0, NOTHING_REPLAYED):   # no alert in the days replayed: the answer says so (alerts 0)
        raise DraftReplayError(f"the replay failed: {last}")
    return summary(json.loads(out))


def summary(comparison: dict[str, Any]) -> dict[str, Any]:
    """From ``moonhook replay --compare --json --summary``'s answer (its size does not grow with
    the alerts): ``live`` and ``draft`` (alerts, trades, wins, profit, commission, win rate,
    profit factor, stopped_out: positions and net, as the report counts them, drawdown, and the
    draft's faults, each with the ``file`` and ``line`` its ``where`` names and its alert's journal
    ``id``), ``profit_difference`` (draft less live),
    ``prices_simulated`` (false: fills at the alerts' prices, no stops or targets),
    ``timer_every`` (no timer ran more often than this many seconds),
    ``differing`` (how many alerts the two answer differently) and the first of them the
    summary lists, each with its journal ``id`` and both sides' decisions and orders."""
    def figures(report: dict[str, Any]) -> dict[str, Any]:
        keys = ("alerts", "trades", "wins", "profit", "commission", "win_rate", "profit_factor", "stopped_out")
        return {**{k: report[k] for k in keys}, "drawdown": report["drawdown"]["money"]}

    live, draft = comparison["a"], comparison["b"]
    faults = [_fault(f) for p in draft["plugins"].values() for f in p["faults"]]
    return {"live": figures(live), "draft": {**figures(draft), "faults": faults},
            "profit_difference": comparison["profit_difference"], "prices_simulated": live["prices_simulated"],
            "timer_every": live.get("timer_every"),
            "differing": comparison["differing"],
            "differences": [{"id": _alert_id(d["alert"]), "live": d["a"], "draft": d["b"]}
                            for d in comparison["differences"]]}


def _fault(fault: dict[str, Any]) -> dict[str, Any]:
    """A draft's fault with the ``file`` and ``line`` its ``where`` names (the editor marks those of the
    script open) and its alert's journal ``id`` (``alert`` names the journal by its path on the engine's disk)."""
    file, line = _located(fault.get("where") or "")
    return {**fault, "file": file, "line": line, "id": _alert_id(fault.get("alert") or "")}


def _alert_id(where: str) -> int | None:
    """The journal id in a replay's "moonhook.db:12"."""
    tail = where.rsplit(":", 1)[-1]
    return int(tail) if tail.isdigit() else None
