"""Helpers for the acceptance tests: moonhook as a user runs it, each command a process of its own.

A ``User`` has a home folder and types commands there: ``moonhook init``, ``send``, ``status``
run to completion; ``moonhook run`` is a ``Run``, whose banner tells its port and the command
to try, and whose API is read with the token from moonhook.toml. Every wait is for an event
(a banner line, an alert's status, an exit); DEADLINE only bounds a hang.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any, Callable

import httpx
import psutil

from support.mt5_standin import Terminal
from support.paths import SUPPORT
from support.waits import HANG

DEADLINE = HANG  # seconds: turns a hang into a failure; never what a test waits for
UNSETTLED = ("received",)
# A test's client lets an idle connection go well before the engine does (KEEP_ALIVE_TIMEOUT, 5 s,
# as httpx's own default): at the same 5 s, a request sent on a connection as the server closed it
# was reset (httpx.ReadError), once in a loaded run.
IDLE_CONNECTIONS = httpx.Limits(keepalive_expiry=1.0)
# Runs its arguments with SIGINT at its default, as a terminal starts its foreground job. A suite
# started as a script's background job (`make test &`) hands SIGINT down ignored, and make keeps
# an ignored SIGINT ignored: a Ctrl-C would reach only the engine. Not preexec_fn, unsafe beside
# threads; isolated (-I -S), so that no sitecustomize of the test's (crash_point.py) runs in it.
AS_IN_A_TERMINAL = [sys.executable, "-I", "-S", "-c", "import os, signal, sys; "
                    "signal.signal(signal.SIGINT, signal.SIG_DFL); os.execvp(sys.argv[1], sys.argv[1:])"]


def moonhook_command() -> list[str]:
    """The installed console script, as a user types it (``python -m engine.cli`` without one)."""
    script = Path(sys.executable).with_name("moonhook")
    return [str(script)] if script.exists() else [sys.executable, "-m", "engine.interfaces.cli"]


def until(fetch: Callable[[], Any], done: Callable[[Any], bool], what: str, timeout: float = DEADLINE) -> Any:
    """Polls ``fetch()`` until ``done`` holds for its value, and returns that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if done(value):
            return value
        assert time.monotonic() < deadline, f"{what}: not after {timeout:g} s; last {value!r}"
        time.sleep(0.05)


class Config:
    """A moonhook.toml that ``moonhook init`` wrote, edited as a user would: line by line."""

    def __init__(self, path: Path):
        self.path = path

    @property
    def values(self) -> dict[str, Any]:
        return tomllib.loads(self.path.read_text(encoding="utf-8"))

    def replace(self, line: str, new: str) -> None:
        """Replaces the one line ``line`` (fails if init no longer writes it exactly once)."""
        text, found = re.subn(rf"^{re.escape(line)}$", new, self.path.read_text(encoding="utf-8"), flags=re.M)
        assert found == 1, f"{line!r} is in {self.path} {found} times"
        self.path.write_text(text, encoding="utf-8")

    def append(self, text: str) -> None:
        with self.path.open("a", encoding="utf-8") as f:
            f.write("\n" + text)


MT5_WORKER = os.path.join("brokers", "mt5", "worker.py")


class Run:
    """``moonhook run`` in a session of its own, so that ``interrupt`` is a Ctrl-C: SIGINT to
    the whole process group (the engine and its workers), as a terminal sends it, to a process
    started as a terminal starts it (``AS_IN_A_TERMINAL``)."""

    def __init__(self, argv: list[str], cwd: Path, env: dict[str, str], log: Path, config: Config):
        self.log, self.config = log, config
        self.client: httpx.Client | None = None
        with log.open("w") as stderr:  # the child holds its own copy
            self.process = subprocess.Popen([*AS_IN_A_TERMINAL, *argv], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                            stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)

    def started(self) -> None:
        """Waits for the banner; learns the port, the command to try, and connects to the API."""
        self.banner = until(self.text, lambda t: "moonhook: try it:" in t or self.process.poll() is not None,
                            "the banner of `moonhook run`")
        assert self.process.poll() is None, f"moonhook run exited {self.process.returncode}:\n{self.banner}"
        self.port = int(re.search(r"moonhook: listening on http://[^ ]+:(\d+)/webhook", self.banner)[1])
        self.try_command = re.search(r"^moonhook: try it: (.+)$", self.banner, flags=re.M)[1]
        self.client = httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=HANG, limits=IDLE_CONNECTIONS,
                                   headers={"Authorization": f"Bearer {self.config.values['server']['api_token']}"})

    def text(self) -> str:
        return self.log.read_text(encoding="utf-8")

    def get(self, path: str) -> dict[str, Any]:
        """A GET of the documented API, with the bearer token; it must answer 200."""
        answer = self.client.get(path)
        assert answer.status_code == 200, (path, answer.status_code, answer.text)
        return answer.json()

    def webhook(self, body: str) -> dict[str, Any]:
        """Posts an alert as TradingView does: JSON carrying the secret, text with it in the URL."""
        secret = self.config.values["server"]["secret"]
        json_body = body.lstrip().startswith("{")
        answer = self.client.post("/webhook" if json_body else f"/webhook/{secret}",
                                  content=body.replace("SECRET", secret).encode(),
                                  headers={"Content-Type": "application/json" if json_body else "text/plain"})
        assert answer.status_code == 200, (answer.status_code, answer.text)
        return answer.json()

    def settled(self, alert_id: int) -> dict[str, Any]:
        """The alert's journal entry once processed (done, rejected, failed ...)."""
        return until(lambda: self.get(f"/api/alerts/{alert_id}"), lambda row: row["status"] not in UNSETTLED,
                     f"alert {alert_id} processed")

    def once(self, alert_id: int, holds: Callable[[dict[str, Any]], bool], what: str) -> dict[str, Any]:
        """The alert's entry once ``holds`` for the alert's own row (its status, its outcome); the API
        reads it and its orders as of one commit (tests/unit/app/test_alert_read.py)."""
        return until(lambda: self.get(f"/api/alerts/{alert_id}"), holds, what)

    def interrupt(self, signum: int = signal.SIGINT) -> int:
        """Ctrl-C (or, with SIGTERM, a service manager's stop: systemd signals every process of
        the unit): the exit code once the engine has stopped."""
        os.killpg(self.process.pid, signum)
        return self.process.wait(timeout=DEADLINE)

    def kill_mt5_worker(self) -> None:
        """The MT5 broker's worker killed, as the link kills one whose call passed mt5.timeout: a call
        held in the stand-in then loses its answer at once, the deadline not waited out."""
        (worker,) = [p for p in psutil.Process(self.process.pid).children(recursive=True)
                     if any(a.endswith(MT5_WORKER) for a in p.cmdline())]
        worker.kill()

    def kill(self) -> None:
        """Whatever of the process group is left, killed (a test's teardown: nothing leaks)."""
        if self.client is not None:
            self.client.close()
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=DEADLINE)


class User:
    """A user at a shell in ``home``, with moonhook installed."""

    def __init__(self, home: Path):
        self.home = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("MOONHOOK_")}
        self.runs: list[Run] = []

    def install(self, module: Path) -> None:
        """The module file ``module`` importable by moonhook, alone in a folder of its own (as
        a user installs the MetaTrader5 package; the tests' other helpers stay out of reach)."""
        site = self.home / "site-packages"
        site.mkdir(exist_ok=True)
        shutil.copy(module, site)
        self.on_path(site)

    def on_path(self, folder: Path) -> None:
        """``folder`` first on the PYTHONPATH of the commands this user runs (once)."""
        if str(folder) not in self.env.get("PYTHONPATH", "").split(os.pathsep):
            self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(folder), self.env.get("PYTHONPATH")]))

    def moonhook(self, *args: str, cwd: str = ".") -> subprocess.CompletedProcess:
        """``moonhook ARGS`` run to its end."""
        return subprocess.run([*moonhook_command(), *args], cwd=self.home / cwd, env=self.env, capture_output=True,
                              text=True, timeout=DEADLINE * 2)

    def typed(self, command: str, cwd: str = ".") -> subprocess.CompletedProcess:
        """A command line as printed for the user to paste (the banner's), run as it is."""
        argv = shlex.split(command)
        program = moonhook_command() if argv[0] == "moonhook" else argv[:1]
        return subprocess.run([*program, *argv[1:]], cwd=self.home / cwd, env=self.env, capture_output=True,
                              text=True, timeout=DEADLINE * 2)

    def start(self, *args: str, config: Config, cwd: str = ".", env: dict[str, str] | None = None) -> Run:
        """``moonhook ARGS`` (a ``run``) started, once its banner is out; ``env``: variables set
        for this command alone, as typed before it (``MOONHOOK_PORT=0 moonhook run``)."""
        run = Run([*moonhook_command(), *args], self.home / cwd, {**self.env, **(env or {})},
                  self.home / f"run{len(self.runs) + 1}.log", config)
        self.runs.append(run)  # before anything can fail: the teardown kills it
        run.started()
        return run

    def close(self) -> None:
        for run in self.runs:
            run.kill()


def init(user: User, folder: str) -> tuple[Config, str]:
    """``moonhook init FOLDER``, then ``port = 0`` in its moonhook.toml (any free port: each ``Run``
    reads its own from the banner, and send and status find it); and what init printed. Never a
    port picked here and let go, for another process to take before the engine binds it."""
    done = user.moonhook("init", folder)
    assert done.returncode == 0, outcome(done)
    config = Config(user.home / folder / "moonhook.toml")
    config.replace("port = 8080", "port = 0")
    return config, done.stdout


def shadow_user(user: User, live: str, shadow: str) -> Config:
    """``moonhook init bot``, its demo script replaced by ``live`` as gate.lua, ``shadow`` as
    scripts-next/gate.lua, and ``[shadow] scripts = "scripts-next"`` in its moonhook.toml."""
    config, _ = init(user, "bot")
    bot = user.home / "bot"
    (bot / "scripts" / "demo.lua").unlink()
    (bot / "scripts" / "gate.lua").write_text(live, encoding="utf-8")
    (bot / "scripts-next").mkdir()
    (bot / "scripts-next" / "gate.lua").write_text(shadow, encoding="utf-8")
    config.append('[shadow]\nscripts = "scripts-next"\n')
    return config


def mt5_user(user: User, terminal_file: Path, folder: str = "bot") -> Config:
    """``moonhook init FOLDER``, then the two edits docs/metatrader5.md asks for, the stand-in
    terminal (support/mt5_standin.py) installed where the MetaTrader5 module would be."""
    user.install(SUPPORT / "mt5_standin.py")
    config, _ = init(user, folder)
    config.replace('broker = "paper"', 'broker = "mt5"')
    config.append(f'[mt5]\nmodule = "mt5_standin"\npath = "{terminal_file}"\npoll_seconds = 0.2\n')
    return config


# MetaTrader's answers lost: a hung send is given up on after 10 s (mt5.timeout, the default), and looked for
# for half a second. A walk about the look afterwards loses its answer at once with the stand-in's "crash_late"
# (the worker dies mid-send: the same LinkLost as the deadline's kill); test_walk_mt5_lost's first waits it out. mt5.timeout is every call's deadline too: at 2 s, calls a loaded machine (~30 on 2 cores)
# answered later (terminal_info, history_deals_get) lost the terminal at random points of the walks.
LOSES_ANSWERS = "timeout = 10\nresolve_seconds = 0.5\n"


def losing_mt5_user(user: User, tmp_path: Path, more: str = "") -> tuple[Terminal, Config]:
    """An ``mt5_user`` whose terminal's answers are given up on soon (LOSES_ANSWERS), ``more``
    appended to its moonhook.toml; and the stand-in terminal, to script a lost answer with."""
    config = mt5_user(user, tmp_path / "terminal.db")
    config.append(LOSES_ANSWERS + more)
    return Terminal(tmp_path / "terminal.db"), config


def told(printed: str, label: str) -> list[str]:
    """The moonhook command printed after ``label`` (``Start the engine:``), as arguments."""
    line = re.search(rf"^{re.escape(label)}\s+moonhook (.+)$", printed, flags=re.M)
    assert line, f"no {label!r} line in:\n{printed}"
    return shlex.split(line[1])


def outcome(done: subprocess.CompletedProcess) -> str:
    """A finished command's output, for an assertion's message."""
    return f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
