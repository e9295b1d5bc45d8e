"""The ``moonhook`` command line: run, init, check, send, status.

``moonhook run`` reads moonhook.toml (``--config``; defaults and ``MOONHOOK_*`` variables if
there is none), starts the engine and serves the webhook in one Trio process. The first
SIGINT or SIGTERM stops accepting, finishes the alerts in flight and closes; a second exits
at once (the journal is crash-safe). ``--config`` and ``--log-format`` may be typed before or
after the subcommand.

The engine is imported by the commands that need it (run, check, replay, init): send, status and
``--help`` load only the settings and an HTTP client, and answer at once.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import signal
import sys
from contextlib import ExitStack
from difflib import get_close_matches
from functools import partial
from pathlib import Path

import trio

from engine.domain.config import EngineConfig, Settings
from engine.domain.times import clock_zone, parse_every
from engine.domain.words import counted
from engine.app.logs import setup_logging
from engine.app.scaffold import TRY_ALERT, describe, init_project, refresh_editor_files
from engine.app.settings import SettingsError, load_settings, server_changes
from engine.interfaces import remote
from engine.interfaces.banner import DEFAULT_CONFIG, banner
from engine.interfaces.listening import recorded
from engine.interfaces.preflight import missing_folder, warn_if_exposed
STOP_TIMEOUT = 10.0  # seconds for the alerts in flight at a stop
log = logging.getLogger("moonhook")


def _settings(path: Path) -> Settings:
    return load_settings(path if path.exists() or path != DEFAULT_CONFIG else None)


# -- run ------------------------------------------------------------------------------------

async def _run(settings: Settings, path: Path) -> int:
    from engine.adapters.storage import check_free
    from engine.app import Operations, open_engine
    from engine.interfaces.telegram import TelegramHub
    from engine.interfaces.web import check_address, create_app, serve

    warn_if_exposed(path)
    check_free(settings.engine.data)   # the folder first; the engine claims it for good
    check_address(settings.server)
    shutdown = trio.Event()
    with trio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        # The signal watcher outlives the engine: a second signal during the drain exits.
        async with trio.open_nursery() as watcher:
            watcher.start_soon(_on_signals, signals, shutdown)
            # Saves in scripts/ reload their plugins; saves of the config apply [plugins.NAME].
            config_file = path.resolve() if path.exists() else None
            hub = TelegramHub(settings.engine.telegram) if settings.engine.telegram.enabled else None
            # [server] is read at the start only: a save that changes it is told as waiting for the next.
            server_read = [settings.server]

            def reread() -> EngineConfig:
                # The file itself, never the defaults _settings falls back to if it went missing; by
                # the path it was read by at the start, so that its folders read the same.
                fresh = load_settings(path, saved=True)
                server_read[0] = fresh.server
                return fresh.engine

            async with open_engine(settings.engine, stop_timeout=STOP_TIMEOUT, watch=True, settings_file=config_file,
                                   reload_settings=reread, services=[hub] if hub else [],
                                   settings_waiting=lambda: server_changes(settings.server, server_read[0]),
                                   secrets=settings.server.secrets) as engine:
                ops = Operations(engine, settings.server.secrets)

                async def end_streams() -> None:
                    # An open event stream would hold its connection to Hypercorn's graceful timeout.
                    await shutdown.wait()
                    ops.end_streams()

                app = create_app(ops, settings.server, hub.routes() if hub else ())
                with ExitStack() as record:   # left once the server has stopped
                    async with trio.open_nursery() as server:
                        if not shutdown.is_set():  # a Ctrl-C as it started: it stops, never said to listen
                            port = await server.start(partial(serve, app, settings.server, shutdown=shutdown))
                            # For send and status: the system's choice, or MOONHOOK_PORT's, which they may lack.
                            record.enter_context(recorded(settings.engine.data, port))
                            server.start_soon(end_streams)
                            banner(ops, settings, port, path)
                log.info("stopping: finishing the alerts in flight (at most %.0f s)", STOP_TIMEOUT)
            watcher.cancel_scope.cancel()
    log.info("stopped")
    return 0


async def _on_signals(signals, shutdown: trio.Event) -> None:
    async for signum in signals:
        if shutdown.is_set():
            log.warning("second %s: exiting at once", signal.Signals(signum).name)
            os._exit(130)
        log.warning("%s: no longer accepting alerts; send it again to exit at once", signal.Signals(signum).name)
        shutdown.set()


def _exit_at_once(signum: int, frame) -> None:
    """SIGINT and SIGTERM outside the signal receiver of ``_run``: exit at once. A plain write,
    not logging: this runs between any two bytecodes, perhaps inside logging's own lock."""
    os.write(2, f"moonhook: {signal.Signals(signum).name}: exiting at once\n".encode())
    os._exit(130)


# -- the parser -------------------------------------------------------------------------------

def _common_options() -> argparse.ArgumentParser:
    """--config and --log-format, for the main parser and every subcommand's, so they may be
    typed before or after the subcommand. SUPPRESS: an option not typed sets nothing, so a
    subcommand's parser never overwrites what was typed before it. The defaults are filled in
    after parsing: the parsers share these option objects, so a default set on one is set on all."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", type=Path, default=argparse.SUPPRESS,
                        help=f"the configuration file (default: ./{DEFAULT_CONFIG})")
    common.add_argument("--log-format", choices=("text", "kv"), default=argparse.SUPPRESS,
                        help="plain text (the default) or key=value lines")
    return common


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    common = _common_options()
    p = argparse.ArgumentParser(prog="moonhook", description="TradingView alerts through Lua strategies to MT5.",
                                parents=[common])
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("run", parents=[common], help="start the engine and the webhook server")
    init = sub.add_parser("init", parents=[common], help="write a moonhook.toml with fresh secrets, and scripts/")
    init.add_argument("folder", nargs="?", type=Path, default=Path("."))
    init.add_argument("--editor-files", action="store_true",
                      help="only write the editor files again (schema, LuaLS definitions) for this version")
    check = sub.add_parser("check", parents=[common], help="try scripts the way the engine loads them")
    check.add_argument("files", nargs="*", type=Path, metavar="SCRIPT",
                       help="a .lua file, or a folder of them (default: the config's scripts folder)")
    send = sub.add_parser("send", parents=[common], help="send a test alert to the running engine")
    send.add_argument("alert", help=f'a webhook body, e.g. "{TRY_ALERT}"')
    send.add_argument("--wait", type=_seconds, default=10.0, metavar="SECONDS",
                      help="seconds to wait for the outcome (default 10; 0: look once)")
    send.add_argument("--dry-run", action="store_true",
                      help="say what the alert would do now (its fields, the orders, the limits), sending nothing")
    sub.add_parser("status", parents=[common], help="the running engine's health and plugin statistics")
    copy = sub.add_parser("backup", parents=[common], help="a consistent copy of the journal, while the engine runs")
    copy.add_argument("dest", type=Path, help="the new file to write (never overwritten), e.g. backups/2026-12-04.db")
    _replay_parser(sub, common)
    options, stray = p.parse_known_args(argv)
    if stray:   # said by the command's parser, whose usage lists its options
        command = sub.choices[options.command]
        known = list(command._option_string_actions)   # argparse has no public list of a parser's options
        command.error(_stray(options, stray, sys.argv[1:] if argv is None else argv, known))
    for name, default in (("config", DEFAULT_CONFIG), ("log_format", "text")):
        if not hasattr(options, name):
            setattr(options, name, default)
    return options


# The options whose value is a file: TradingView's names hold a space ("FX_EURUSD, 60.csv").
FILE_OPTIONS = ("--prices", "--alerts", "--scripts", "--compare", "--report", "--config")


def _stray(options: argparse.Namespace, stray: list[str], argv: list[str], known: list[str]) -> str:
    """Why ``stray``, the words no option took, were typed, as far as it can be told: an alert's words
    unquoted (``send buy EURUSD``), a file name with a space (``--prices FX_EURUSD, 60.csv``), or a
    mistyped option, one of the command's ``known`` ones meant (``--dryrun``)."""
    if options.command == "send" and not any(word.startswith("-") for word in stray):
        return f'the alert is one argument: quote it, moonhook send "{" ".join([options.alert, *stray])}"'
    said = f"unrecognized arguments: {' '.join(stray)}"
    meant = [close[0] for word in stray if word.startswith("--")
             for close in [get_close_matches(word.split("=")[0], known, n=1, cutoff=0.75)] if close]
    if meant:
        return f"{said} (did you mean {'? '.join(meant)}?)"
    words = [part for word in argv for part in (word.split("=", 1) if word.startswith("--") else [word])]
    for option, value, after in zip(words, words[1:], words[2:]):
        if option in FILE_OPTIONS and after == stray[0] and (value.endswith(",") or Path(f"{value} {after}").exists()):
            return f'{said} (a file name with a space is one argument: quote it, {option} "{value} {after}")'
    return said


def _replay_parser(sub: "argparse._SubParsersAction", common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("replay", parents=[common], help="replay recorded alerts through a folder of scripts",
                       description="Runs the scripts of a folder over recorded alerts on a simulated paper "
                                   "account ([paper] of the config) and reports trades, profit, drawdown and "
                                   "each plugin's decisions.")
    p.add_argument("--scripts", type=Path, required=True, help="the folder of scripts to replay")
    p.add_argument("--alerts", type=Path, required=True,
                   help="moonhook's journal (moonhook.db), a JSONL file or TradingView's alert log (CSV)")
    p.add_argument("--prices", action="append", default=[], metavar="[SYMBOL=]FILE",
                   help="OHLC bars (TradingView's chart export or MT5's history export); the symbol is read "
                        "from the file's name unless given; repeat for more symbols")
    p.add_argument("--prices-clock", type=_clock, metavar="CLOCK",
                   help="the broker server's clock MT5's exports are written on (\"GMT+2/+3 US\", \"Europe/Athens\"), "
                        "read in UTC as the alerts are; without it, as written")
    p.add_argument("--from", dest="start", metavar="T", help="replay alerts from this time (ISO 8601 or Unix)")
    p.add_argument("--to", dest="end", metavar="T", help="replay alerts before this time")
    p.add_argument("--compare", type=Path, metavar="DIR", help="replay this folder too and list the differences")
    p.add_argument("--json", action="store_true", help="the report as JSON on stdout")
    p.add_argument("--summary", action="store_true",
                   help="with --json (only): leave out the lists that grow with the alerts (trades, equity, "
                        "decisions, orders); with --compare, list the first 100 differing alerts")
    p.add_argument("--report", type=Path, metavar="FILE.html", help="write the report as an HTML page")
    p.add_argument("--strict", action="store_true", help="refuse a malformed row instead of skipping it")
    p.add_argument("--timer-every", type=_duration, metavar="DURATION",
                   help="run no on_timer more often than this (\"1m\" on M1 bars): a script that reads only "
                        "prices and positions decides the same once a bar, far quicker")


def _clock(text: str):
    """``--prices-clock``: a clock as ``engine.trading_day`` and ``mt5.server_clock`` write one."""
    try:
        return clock_zone(text, "--prices-clock")
    except ValueError as e:   # argparse names the option already
        raise argparse.ArgumentTypeError(str(e).removeprefix("--prices-clock: ")) from None


def _seconds(text: str) -> float:
    """``send --wait``: seconds, 0 or more; refused before anything is sent, as a bad value
    found after the alert went out would leave it sent and its outcome untold."""
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not 0 <= seconds < math.inf:
        raise argparse.ArgumentTypeError(f"expected seconds, 0 or more, got {text!r}")
    return seconds


def _duration(text: str) -> float:
    """``--timer-every``: "30s", "1m", "1h" or seconds, at least 1 (as a plugin's ``every``)."""
    seconds = parse_every(text)
    if seconds is None:
        raise argparse.ArgumentTypeError(f"expected a duration such as \"1m\" or \"30s\" (at least 1 s), got {text!r}")
    return seconds


# The sandbox starts its workers with POSIX facilities (inherited descriptors, a shared word
# mapped from one, rlimits): the commands that run strategies need Linux (or another POSIX system).
NOT_ON_WINDOWS = ("moonhook runs strategies on Linux, not yet on Windows: run it on a Linux machine (or WSL) "
                  "and reach the MetaTrader 5 terminal through mt5linux (docs/metatrader5.md)")


def main(argv: list[str] | None = None) -> int:
    """``moonhook``: the command's exit code. Its output read by a program that stops reading
    (``moonhook status | head``) ends it quietly, as other commands end, not in a traceback."""
    try:
        code = _main(argv)
        sys.stdout.flush()   # a pipe's output is written here, not as Python exits: what breaks, breaks here
        return code
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())   # nor again as Python exits
        return 141   # 128 + SIGPIPE, what a shell shows for a command its reader left


def _main(argv: list[str] | None) -> int:
    a = parse_args(argv)
    if a.command in ("run", "check", "replay") and sys.platform == "win32":
        print(f"moonhook: {a.command}: {NOT_ON_WINDOWS}", file=sys.stderr)
        return 2
    # check prints its findings; the engine's own warnings about the same would repeat them
    setup_logging(a.log_format, logging.ERROR if a.command == "check" else logging.INFO)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # send and status print their own answers
    if a.command == "replay":
        return _replay(a)
    try:
        if a.command == "init":
            if a.editor_files:
                print("Editor files written: " + ", ".join(str(p) for p in refresh_editor_files(a.folder)))
            else:
                print(describe(init_project(a.folder, os.environ)))
            return 0
        settings = _settings(a.config)
    except (SettingsError, FileExistsError) as e:
        print(f"moonhook: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # init into a path that cannot be a folder (under a file, no permission)
        where = e.filename or getattr(a, "folder", a.config)
        print(f"moonhook: {a.command}: {e.strerror or e}: {where}", file=sys.stderr)
        return 2
    if a.command in ("check", "send", "status", "backup") and not a.config.exists():
        # Only the default can be missing (_settings): say whose settings these are, before a
        # failure that would read as the engine's (not running, no secret, no journal).
        print(f"moonhook: no {DEFAULT_CONFIG} in this folder: the defaults and MOONHOOK_* variables are used "
              "(--config names the file)", file=sys.stderr)
    if a.command == "run":
        # Installed before Trio starts: Trio then installs no KeyboardInterrupt handler, and its
        # signal receiver, which saves and restores the handlers it finds, hands this one back
        # when it closes. So a signal that comes when the receiver is not open (the drain has
        # ended, the process is closing) still exits at once with 130, never as a
        # KeyboardInterrupt (a traceback, then death by SIGINT).
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, _exit_at_once)
        from engine.interfaces.refused import REFUSED_EXIT, run_unless_refused
        from engine.interfaces.web import ListenError

        if (missing := missing_folder(settings.engine, a.config)) is not None:
            print(f"moonhook: {missing}", file=sys.stderr)
            return 2
        code = run_unless_refused(_run, settings, a.config, also=(ListenError,))   # before the engine started
        if code is None:
            return REFUSED_EXIT
        # The stop is complete: a signal now would find the interpreter tearing down, where
        # Python puts the default handlers back (death by SIGINT); the process exits anyway.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, signal.SIG_IGN)
        return code
    if a.command == "check":
        from engine.interfaces import check_command

        return check_command.main(a, settings)
    if a.command == "send":
        return trio.run(remote.send, settings, a.alert, a.wait, a.dry_run)
    if a.command == "status":
        return trio.run(remote.status, settings)
    if a.command == "backup":
        return _backup(settings, a.dest)
    return 2


def _replay(a: argparse.Namespace) -> int:
    """``moonhook replay``; a Ctrl-C anywhere in it (its imports, the files read, the scripts run)
    exits 130 in one line, nothing written: the report is written only once the replay is done."""
    try:
        from engine.interfaces import replay_command

        return replay_command.main(a)
    except KeyboardInterrupt:
        # Raised between any two bytecodes, it leaves coroutines and generators half-run, which
        # Python's collection of them would complain of after this line ("never awaited",
        # "Exception ignored in"): the process ends here, nothing left to write.
        sys.stderr.write("moonhook: replay interrupted; nothing written\n")
        sys.stderr.flush()
        os._exit(130)


def _backup(settings: Settings, dest: Path) -> int:
    import sqlite3

    from engine.adapters.storage import backup

    source = settings.engine.database
    try:
        made = backup(source, dest)
    except OSError as e:   # ours name their file; the system's name one of its own (dest.part)
        print(f"moonhook: backup: {e if e.strerror is None else f'{e.strerror}: {dest}'}", file=sys.stderr)
        return 2
    except sqlite3.Error as e:   # the source unreadable, or the copy not written (a full disk)
        print(f"moonhook: backup: copying {source} to {dest}: {e}", file=sys.stderr)
        return 2
    print(f"moonhook: {source} copied to {made.path}: schema {made.schema}, "
          f"{counted(made.alerts, 'alert')}, {made.size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
