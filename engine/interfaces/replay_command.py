"""``moonhook replay``: recorded alerts through a folder of scripts on a simulated paper
account, reported as text, JSON or an HTML page; ``--compare`` sets two folders side by side
(docs/replay.md).

Exit status: 0 done; 2 bad input (a file, a row with ``--strict``, a script that does not
load, the config, a ``--report`` page that cannot be written or would replace another file),
each named with its place, and no report written; 65 the report written but standing on nothing
(no alert to replay, a price file with no bar for any alert: ``replay.coverage``), said on
stderr; 70 a script past its hard deadline (``sandbox.inline``); 130 a Ctrl-C (``cli``)."""

from __future__ import annotations

import argparse
import logging
import os
import re
import signal
import sys
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Callable, Mapping

import trio

from engine.app.replay import (ReplayInputError, between, bounds, build, compare, compare_html, compare_json,
                               compare_text, html, parse_time, read_alerts, read_price_files, text, to_json)
from engine.app.replay.coverage import NOTHING_REPLAYED, no_bars, not_replayed, nothing_to_replay
from engine.app.replay.problems import Problem
from engine.app.replay.runner import Progress, ReplayError, replay, scripts_in
from engine.app.settings import SettingsError, load_settings
from engine.domain.alerts import AlertError, SymbolMap
from engine.domain.alerts.secrets import without_secrets
from engine.domain.config import EngineConfig
from engine.domain.instruments import symbol_table

SHOW_AFTER = 1.0   # seconds before a progress bar appears
# MetaTrader 5's export names: SYMBOL_TIMEFRAME_FROM_TO (EURUSD_H1_202405130000_202405312300).
MT5_EXPORT = re.compile(r"[^_]+_(?:[MHDW]\d+|MN1|Daily|Weekly|Monthly)_\d{12}_\d{12}$")
DEFAULT_CONFIG = "moonhook.toml"


def main(a: argparse.Namespace) -> int:
    if a.summary and not a.json:   # it shortens the JSON: typed alone it would change nothing, unsaid
        print("moonhook: --summary goes with --json: the text report is a summary already", file=sys.stderr)
        return 2
    secrets: tuple[str, ...] = ()
    try:
        for option, folder in (("--scripts", a.scripts), ("--compare", a.compare)):   # before minutes of replay
            if folder is not None and folder.is_file():   # a script typed for its folder
                raise ValueError(f"{option} {folder}: a file: give its folder, {folder.parent} (every *.lua in it "
                                 "is replayed)")
            if folder is not None and not folder.is_dir():
                raise ValueError(f"{option} {folder}: no such folder of scripts")
        config, secrets = _config(Path(a.config))
        if a.report is not None:
            inputs = [("--alerts", a.alerts), ("--config", Path(a.config))]
            inputs += [("--prices", Path(spec.partition("=")[2] or spec)) for spec in a.prices]
            _check_page(a.report, inputs)
        window = _window(a.start, a.end)
        alerts = read_alerts(a.alerts, strict=a.strict, window=window)   # a journal reads only the window
        items = between(alerts.items, a.start, a.end)
        problems = list(alerts.problems)
        notes = [note for note in [nothing_to_replay(alerts, items, a.start, a.end)] if note is not None]
        bars: dict[str, Any] = {}
        symbols, known = SymbolMap(config.symbol_map), symbol_table(config.paper.symbols, where="paper.symbols")
        paths: dict[str, list[Path]] = {}
        for spec in a.prices:
            symbol, path = _price_file(spec, symbols, known)
            if any(path.exists() and os.path.samefile(path, other) for other in paths.get(symbol, ())):
                raise ValueError(f"--prices {path}: given twice")   # else each bar would repeat itself
            paths.setdefault(symbol, []).append(path)
        for symbol, parts in paths.items():   # a history in parts: merged by time, overlaps reported
            read = read_price_files(parts, symbol, strict=a.strict, clock=a.prices_clock)
            if (empty := no_bars(read, parts)) is not None:
                notes.append(empty)
            bars[symbol] = read.items
            problems += read.problems
    except (ReplayInputError, SettingsError, ValueError) as e:   # a row it quotes may hold the secret
        print(f"moonhook: {without_secrets(str(e), secrets)}", file=sys.stderr)
        return 2
    folders = [a.scripts] + ([a.compare] if a.compare else [])
    quiet = a.json or not sys.stderr.isatty()
    # The scripts' lines and their failures are in the report, not the log, one per alert.
    logging.getLogger("moonhook").setLevel(logging.ERROR)
    try:
        reports = []
        for folder in folders:
            outcome = trio.run(_one, config, folder, items, bars, problems, None if quiet else _bar(folder, len(items)),
                               a.timer_every, a.strict, secrets, a.scripts if folder is a.compare else None)
            if not notes and (meaningless := not_replayed(outcome, alerts.source, bars, paths)) is not None:
                notes.append(meaningless)
            reports.append(build(outcome))
    except ReplayError as e:   # of two folders, a file is named with its own (the same names are in both)
        said = os.path.join(str(folder), str(e)) if a.compare and e.file else str(e)
        print(f"moonhook: {without_secrets(said, secrets)}", file=sys.stderr)
        return 2
    # Done: what is left is written whole (a Ctrl-C now would cut the page from the lines on stdout).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if a.compare:
        comparison = compare(reports[0], reports[1])
        out, page = (compare_json(comparison, a.summary) if a.json else compare_text(comparison)), compare_html
        subject: Any = comparison
    else:
        out, page, subject = (to_json(reports[0], a.summary) if a.json else text(reports[0])), html, reports[0]
    if a.report:
        try:
            _write_page(a.report, page(subject))
        except OSError as e:   # a full disk, a folder taken away meanwhile: no page, half or whole
            print(f"moonhook: --report {a.report}: cannot write it: {e.strerror or e}", file=sys.stderr)
            return 2
    sys.stdout.write(out if out.endswith("\n") else out + "\n")
    if _defaulted(Path(a.config)):   # replayed from another folder than the bot's: its moonhook.toml unread
        print(f"moonhook: no {DEFAULT_CONFIG} in this folder: the replay's account, limits and [plugins.NAME] are "
              "the defaults (--config names the file)", file=sys.stderr)
    for option, folder in (("--scripts", a.scripts), ("--compare", a.compare)):   # `--scripts .`, or a baseline
        if folder is not None and not scripts_in(folder):
            print(f"moonhook: {option} {folder}: no script (*.lua) in it: the alerts ran without scripts",
                  file=sys.stderr)
    for note in notes:   # after the report, so that a reader of the terminal sees it last
        print(f"moonhook: {note}", file=sys.stderr)
    return NOTHING_REPLAYED if notes else 0


async def _one(config: EngineConfig, folder: Path, items: list, bars: dict, problems: list[Problem],
               progress: Progress | None, timer_every: float | None, strict: bool, secrets: tuple[str, ...],
               baseline: Path | None) -> Any:
    """One folder's replay; ``baseline``: the folder it is compared with, whose files it loads first."""
    try:
        return await replay(config, folder, items, bars, label=str(folder), problems=problems, progress=progress,
                            timer_every=timer_every, strict=strict, secrets=secrets, baseline=baseline)
    finally:
        if progress is not None:
            progress(-1)


def _config(path: Path) -> tuple[EngineConfig, tuple[str, ...]]:
    """The config's engine settings ([paper], [plugins.NAME], budgets), the defaults when the
    default file is not there; and its webhook secret and API token, which the replay writes ``***``
    in the alerts it reads, as the webhook does: TradingView's alert log holds each message as sent.
    Raises SettingsError."""
    if _defaulted(path):
        return EngineConfig(), ()
    settings = load_settings(path)
    return settings.engine, tuple(s for s in (settings.server.secret, settings.server.api_token) if s)


def _defaulted(path: Path) -> bool:
    """No ``--config`` and no moonhook.toml here: the defaults are replayed on."""
    return not path.exists() and str(path) == DEFAULT_CONFIG


def _window(start: str | None, end: str | None) -> tuple[float, float]:
    """``bounds`` of ``--from`` and ``--to``, a bad one named by the option typed. Raises ValueError."""
    for option, value in (("--from", start), ("--to", end)):
        try:
            if value is not None:
                parse_time(value)
        except ValueError as e:
            why = str(e).removeprefix(f"time {value.strip()!r} is ").removeprefix("time is ")
            raise ValueError(f"{option} {value}: {why} (2024-05-13, 2024-05-13T08:30:00Z)") from None
    try:
        low, high = bounds(start, end)
    except ValueError:   # the end before the start: all else was read above
        raise ValueError(f"--to {end} comes before --from {start}: no alert can be between them") from None
    if low == high:   # `--from 2024-05-13 --to 2024-05-13`, for that day
        day = f"; the day {end} is --from {end} --to {date.fromisoformat(end) + timedelta(days=1)}" \
            if end is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", end) else ""
        raise ValueError(f"--to {end} is the moment --from {start} names: no alert is between them "
                         f"(--to is the first moment left out{day})")
    return low, high


def _check_page(path: Path, inputs: list[tuple[str, Path]]) -> None:
    """``--report``'s page can be written where it is named, and is none of the replay's
    ``inputs`` (option, file), which it would overwrite: checked before the replay, which may
    take minutes, so that a typo is not found after them. Raises ValueError naming it."""
    if path.is_dir():
        raise ValueError(f"--report {path}: a folder, not a file: name the page ({path / 'report.html'})")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"--report {path}: no such folder: {folder}")
    for option, given in inputs:
        if path.exists() and given.exists() and os.path.samefile(path, given):
            raise ValueError(f"--report {path}: that is the replay's {option} file: name another page")
    if path.exists() and not _a_page(path):   # a journal, a script, notes: never replaced by a page
        raise ValueError(f"--report {path}: the file there is not a report page: name another page "
                         "(an earlier report is replaced)")


def _a_page(path: Path) -> bool:
    """Whether ``path`` holds an HTML page (an earlier report), by its first bytes."""
    try:
        with path.open("rb") as f:
            head = f.read(64)
    except OSError:
        return False
    return head.removeprefix(b"\xef\xbb\xbf").lstrip().lower().startswith((b"<!doctype html", b"<html"))


def _write_page(path: Path, page: str) -> None:
    """The page written whole or not at all: beside it first, then renamed into place, so that a
    full disk or an interrupt never leaves half a page where the last report was. Raises OSError."""
    part = path.with_name(f".{path.name}.part")
    try:
        part.write_text(page, encoding="utf-8")
        os.replace(part, path)
    finally:
        part.unlink(missing_ok=True)


def _price_file(spec: str, symbols: SymbolMap, known: Mapping[str, Any]) -> tuple[str, Path]:
    """``SYMBOL=FILE``, or FILE named as TradingView (``FX_EURUSD, 15.csv``) or MT5
    (``EURUSD_M15_....csv``) names its exports; the symbol one the paper account trades
    (``known``), mapped as an alert's ticker is: TradingView's exchange with it
    (``OANDA_XAUUSD, 60.csv`` is OANDA:XAUUSD, which ``engine.symbol_map`` may name GOLD).
    Raises ValueError naming the file."""
    symbol, sep, rest = spec.partition("=")
    if sep and not symbol and not Path(spec).exists():
        raise ValueError(f"--prices {spec}: no symbol before '=' (EURUSD={rest})")
    given = bool(sep and symbol and "/" not in symbol)
    if given:
        path = Path(rest)
    else:
        path, stem = Path(spec), Path(spec).stem
        said = ", " in stem or MT5_EXPORT.match(stem) is not None   # the name says a symbol, or nothing
        if ", " in stem:
            exchange, _, ticker = stem.split(", ")[0].rpartition("_")
            symbol = f"{exchange}:{ticker}" if exchange else ticker
        else:
            symbol = stem.split("_")[0]
    try:
        symbol = symbols.normalize(symbol.strip())
    except AlertError:
        symbol = ""
    if symbol not in known:
        if given:
            raise ValueError(f"{spec}: unknown symbol {symbol or rest!r} (define it under paper.symbols)")
        if not path.exists():   # a typo in the name, most likely: said as such
            raise ValueError(f"{path}: cannot open: no such file")
        if said and symbol:
            raise ValueError(f"{path}: its name says {symbol}, a symbol paper.symbols does not define: give the file "
                             f"as SYMBOL={path}, or define {symbol} under paper.symbols")
        raise ValueError(f"{path}: cannot tell its symbol from the file's name; give it as SYMBOL={path}")
    return symbol, path


def _bar(folder: Path, total: int, clock: Callable[[], float] = time.monotonic,
         console: Any = None) -> Callable[[int], None]:
    """A progress bar on the terminal (stderr, or rich's ``console``) once a replay has run
    SHOW_AFTER seconds: alerts done out of the total and the time left (rich). Called with
    -1 at the end."""
    started = clock()
    shown: list[Any] = []
    last = [0.0]

    def update(done: int) -> None:
        if done < 0:
            if shown:
                shown[0].stop()
            return
        now = clock()
        if now - last[0] < 0.1:
            return
        last[0] = now
        if not shown:
            if now - started < SHOW_AFTER:
                return
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            bar = Progress(TextColumn(f"replay {folder}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                           transient=True, console=console)
            bar.start()
            shown.extend([bar, bar.add_task("alerts", total=total)])
        shown[0].update(shown[1], completed=done)

    return update
