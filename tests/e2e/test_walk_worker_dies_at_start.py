"""A sandbox worker killed as `moonhook run` starts it (the out-of-memory killer's way: SIGKILL):
once, it is said in one line and another is started, and the engine serves; every time, the run
ends non-zero with one line naming the worker and how it died, never a traceback; `moonhook check`
the same. The MetaTrader 5 worker killed as it starts: one line naming the signal, its likely
cause and the retry, and the broker connects on the next."""

from __future__ import annotations

import re

from support import die_at_start
from support.e2e_support import DEADLINE, Run, init, moonhook_command, mt5_user, outcome, until
from support.mt5_standin import Terminal

KILLED = re.compile(r"sandbox worker \d+ killed by signal 9 \(SIGKILL\) as it started")


def test_a_worker_killed_once_as_it_starts_is_said_and_replaced_and_the_engine_serves(user):
    config, _ = init(user, "bot")
    site = user.home / "site"
    die_at_start.install(site, times=1)
    user.on_path(site)
    run = user.start("run", config=config, cwd="bot")
    assert die_at_start.killed(site) == 1
    done = run.settled(run.webhook("buy EURUSD risk=1 sl=1.0800 price=1.0850")["id"])
    assert done["status"] == "done", done
    assert run.interrupt() == 0
    log = run.text()
    assert "Traceback" not in log, log
    assert len(KILLED.findall(log)) == 1, log


def test_workers_killed_every_time_they_start_end_the_run_with_one_line_and_no_traceback(user):
    config, _ = init(user, "bot")
    site = user.home / "site"
    die_at_start.install(site, times=1000)
    user.on_path(site)
    run = Run([*moonhook_command(), "run"], user.home / "bot", user.env, user.home / "run1.log", config)
    user.runs.append(run)  # the teardown kills whatever is left
    code = run.process.wait(timeout=DEADLINE)
    log = run.text()
    assert "Traceback" not in log, log
    assert code == 2, log   # as the other refusals to start (a folder in use, a port taken)
    assert "listening on" not in log, log
    (said,) = [line for line in log.splitlines() if line.startswith("moonhook: ")]
    assert KILLED.search(said), log
    assert "out-of-memory killer" in said, log


def test_check_whose_workers_are_killed_every_time_they_start_says_it_in_one_line_as_run_does(user):
    """`moonhook check` opens a throwaway engine, and its pool's failed start ended in an exception
    group's traceback, exit 1 (as if a script had an error): one line as `run` says it, exit 2."""
    init(user, "bot")
    site = user.home / "site"
    die_at_start.install(site, times=1000)
    user.on_path(site)
    checked = user.moonhook("check", cwd="bot")
    assert "Traceback" not in checked.stderr, outcome(checked)
    assert checked.returncode == 2, outcome(checked)
    assert checked.stdout == "", outcome(checked)   # no script was checked: no finding, no summary
    (said,) = [line for line in checked.stderr.splitlines() if line.startswith("moonhook: ")]
    assert KILLED.search(said) and "out-of-memory killer" in said, outcome(checked)


def test_the_metatrader_worker_killed_as_it_starts_is_one_line_naming_the_signal_and_the_retry(user, tmp_path):
    """It was said as "the MetaTrader 5 worker could not start: it did not answer", the signal and
    its likely cause (the out-of-memory killer) untold."""
    Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    site = user.home / "site"
    die_at_start.install(site, times=1, kind=die_at_start.MT5)
    user.on_path(site)
    run = user.start("run", config=config, cwd="bot")
    until(lambda: run.get("/health"), lambda h: h["broker_connected"], "the broker connected on its retry")
    assert die_at_start.killed(site) == 1
    done = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.0700")["id"])
    assert done["status"] == "done", done["outcome"]
    assert run.interrupt() == 0
    log = run.text()
    assert "Traceback" not in log, log
    lines = [line for line in log.splitlines() if "MetaTrader 5 worker" in line and "as it started" in line]
    (told,) = [line for line in lines if "[admin] broker not reachable at the start: " in line]   # the admins' too
    (said,) = [line for line in lines if line != told]
    assert re.search(r"MetaTrader 5 worker \d+ killed by signal 9 \(SIGKILL\) as it started", said), log
    assert "out-of-memory killer" in said and "trying again" in said, log
