"""Ctrl-C while `moonhook run` is still starting (its sandbox workers being spawned, or the
MetaTrader 5 worker): a clean stop as at any other moment, one line saying so, no traceback, no
worker left behind; and the next start works."""

from __future__ import annotations

from pathlib import Path

from support import ctrl_c_at_start
from support.e2e_support import DEADLINE, Config, Run, User, init, moonhook_command, mt5_user, until
from support.mt5_standin import Terminal


def _gone(pid: int) -> bool:
    """The process has exited (a zombie nobody reaps, in a container without an init, counts)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return True


def _ctrl_c_as_it_starts(user: User, config: Config, kind: str) -> None:
    """Ctrl-C pressed as the first worker of ``kind`` starts: a clean stop, then a clean start."""
    site = user.home / "site"
    ctrl_c_at_start.install(site, kind)
    user.on_path(site)
    run = Run([*moonhook_command(), "run"], user.home / "bot", user.env, user.home / "run1.log", config)
    user.runs.append(run)  # the teardown kills whatever is left
    code = run.process.wait(timeout=DEADLINE)
    log = run.text()
    assert (site / "pressed").exists(), log  # the Ctrl-C came as a worker started
    assert "Traceback" not in log, log
    assert code == 0, log  # as a Ctrl-C of a started engine (test_walk_events.py)
    assert "SIGINT: no longer accepting alerts" in log
    assert "listening on" not in log  # it never said to send it alerts
    assert log.rstrip().endswith("stopped"), log
    workers = ctrl_c_at_start.workers(site)
    assert workers
    until(lambda: [pid for pid in workers if not _gone(pid)], lambda left: not left, "the workers exited")

    (site / "sitecustomize.py").unlink()
    again = user.start("run", config=config, cwd="bot")
    assert again.interrupt() == 0
    assert "Traceback" not in again.text()


def test_ctrl_c_as_the_first_sandbox_worker_starts_stops_cleanly_and_the_next_start_works(user):
    config, _ = init(user, "bot")
    _ctrl_c_as_it_starts(user, config, ctrl_c_at_start.SANDBOX)


def test_ctrl_c_as_the_metatrader_worker_starts_stops_cleanly_and_the_next_start_works(user, tmp_path):
    Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    _ctrl_c_as_it_starts(user, config, ctrl_c_at_start.MT5)
