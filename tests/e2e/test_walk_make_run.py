"""The README's first command, `make run`, in a folder of a new user's own: it writes
moonhook.toml and the example strategy, starts the engine on the paper broker, takes an alert,
stops on Ctrl-C, and started again keeps the config and the journal.

The folder is a temporary one rather than the checkout (whose moonhook.toml is the developer's),
so make runs the repository's Makefile there with this suite's .venv (``VENV``), taken as
installed (``-o``: its install rule is `make test`'s, which ran before this), and
``MOONHOOK_PORT=0`` gives it any free port (a second checkout's way to run beside the first), which
the banner tells.
"""

from __future__ import annotations

import shutil
import signal
import stat
import sys
from pathlib import Path

from support.e2e_support import Config, Run
from support.paths import ROOT

ALERT = '{"secret": "SECRET", "symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.0850, ' \
        '"sl": 1.0800, "id": "make-run-1"}'


def _make_run(user, n: int) -> Run:
    venv = Path(sys.prefix)
    assert venv != Path(sys.base_prefix), "the suite runs from the .venv that `make test` installs"
    make = shutil.which("make")
    assert make, "`make test` runs this suite, so make is on the PATH"
    argv = [make, "-s", "-f", str(ROOT / "Makefile"), f"VENV={venv}", "-o", f"{venv}/.installed", "run"]
    run = Run(argv, user.home, {**user.env, "MOONHOOK_PORT": "0"}, user.home / f"make-run{n}.log",
              Config(user.home / "moonhook.toml"))
    user.runs.append(run)  # before anything can fail: the teardown kills it
    run.started()
    return run


def test_make_run_sets_up_a_bare_folder_trades_on_paper_and_starts_again_as_it_was_left(user):
    run = _make_run(user, 1)
    assert run.port != 0 and "paper broker" in run.banner and "1 plugin from scripts/ (demo)" in run.banner
    config = run.config.path
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds the secret and the API token
    assert (user.home / "scripts" / "demo.lua").is_file()
    secret = run.config.values["server"]["secret"]

    refused = run.settled(run.webhook(ALERT.replace(', "sl": 1.0800', "").replace("run-1", "run-0"))["id"])
    assert (refused["status"], refused["outcome"]["rejected_by"]) == ("rejected", "demo")  # no stop
    done = run.settled(run.webhook(ALERT)["id"])
    assert done["status"] == "done" and done["outcome"]["orders"][0]["ok"]
    assert run.interrupt() == -signal.SIGINT  # make, Ctrl-C'd with the engine, re-raises it
    assert "moonhook: stopped" in run.text()  # the engine's own clean stop

    again = _make_run(user, 2)  # moonhook.toml is there: no second init, the same secret
    assert again.config.values["server"]["secret"] == secret
    assert [a["status"] for a in again.get("/api/alerts")["alerts"]] == ["done", "rejected"]
    assert len(again.get("/api/positions")["positions"]) == 1
    assert again.interrupt() == -signal.SIGINT
    logs = run.text() + again.text()
    assert "moonhook: stopped" in again.text() and "Traceback" not in logs
    assert secret not in logs


def test_ctrl_c_stops_make_run_when_the_suite_itself_was_started_with_sigint_ignored(user):
    """A script's background job (`make test &`, as a CI runner may start the suite) inherits SIGINT
    ignored, and make keeps an ignored SIGINT ignored: the Ctrl-C reached only the engine, which
    stopped, and make exited 0. A terminal starts its foreground job with SIGINT at its default."""
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        run = _make_run(user, 1)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert run.interrupt() == -signal.SIGINT
    assert "moonhook: stopped" in run.text()
