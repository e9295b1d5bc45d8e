"""Makes tests/fixtures/upgrade/: the data folders earlier moonhooks left, each made by that
moonhook's own code, checked out of git history. ``e2e/test_walk_upgrade_fixtures.py`` starts
today's ``moonhook run`` on each copy.

For each version in VERSIONS: a git worktree at its commit, ``moonhook init`` run from it, a
strategy that keeps values in its store (``keeper.lua``), then its ``moonhook run`` sent alerts
that trade on paper (two positions open, a pending order, a position closed at a profit, an
alert while paused, resumed without it; then a plugin switched off and the engine paused with
an alert held) and stopped with Ctrl-C. Its Telegram bot's servers are out of reach: the notices
wait in the outbox. What its API answered is kept beside the folder, in ``answers.json``, for the
test to hold the upgraded engine's answers to.

    cd tests && ../.venv/bin/python -m support.upgrade_fixtures [SCHEMA ...]

Run from the repository's clone (``git worktree`` needs its history) with the project's
``.venv``: the dependencies have not changed in a way the older code minds. A version that
no longer runs with them is kept as it was made; its folder here is never edited by hand.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx

from support.e2e_support import AS_IN_A_TERMINAL, DEADLINE, Config, until
from support.paths import ROOT, TESTS

FIXTURES = TESTS / "fixtures" / "upgrade"
# The journal's schema version -> the last commit that had it: early, middle and recent moonhooks.
VERSIONS = {6: "eb44d9e^", 10: "2ba27ad^", 16: "584eb79^", 21: "4998b4f^"}
KEEPER = """-- Counts the alerts it sees, and keeps the last one's symbol and side, in its store.
plugin = {priority = 5}

function on_alert(a)
  store.set("seen", (store.get("seen") or 0) + 1)
  store.set("last", {symbol = a.symbol, side = a.side or "none"})
end
"""
IDLE = "-- Passes every alert; switched off through the API before the stop.\nplugin = {priority = 1}\n"
# Sent in this order, each settled before the next; PAUSED while the engine is paused.
ALERTS = ("buy EURUSD volume=0.1 price=1.1 sl=1.09 tp=1.12 id=u1",
          "sell GBPUSD volume=0.2 price=1.25 sl=1.26 id=u2",
          "buy_limit EURUSD volume=0.1 price=1.09 sl=1.08 id=u3",
          "buy USDJPY volume=0.1 price=150 sl=149 id=u4",
          "close USDJPY price=150.5 id=u5")
UNREACHABLE = "http://127.0.0.1:{}"
TOKEN, ADMIN = "5150:upgrade-bot-SECRET-part", 4242
PAUSED = "buy EURUSD volume=0.1 price=1.1 sl=1.09 id=u6"
HELD = "sell EURUSD volume=0.1 price=1.1 sl=1.11 id=u7"   # paused at the stop


def moonhook_of(tree: Path) -> list[str]:
    """The command line of the moonhook checked out at ``tree`` (its CLI moved with the layers)."""
    module = "engine.interfaces.cli" if (tree / "engine" / "interfaces" / "cli.py").exists() else "engine.cli"
    return [sys.executable, "-c", f"import sys; from {module} import main; sys.argv[0] = 'moonhook'; sys.exit(main())"]


def make(schema: int, rev: str) -> Path:
    """The fixture of the moonhook at ``rev`` (whose journal is at ``schema``), made again."""
    out = FIXTURES / f"schema-{schema}"
    with tempfile.TemporaryDirectory(prefix=f"upgrade-{schema}-") as tmp:
        tree, home = Path(tmp) / "tree", Path(tmp) / "home"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "-q", "--detach", str(tree), rev], check=True)
        try:
            commit = subprocess.run(["git", "-C", str(tree), "rev-parse", "HEAD"], check=True, capture_output=True,
                                    text=True).stdout.strip()
            answers = _session(moonhook_of(tree), tree, home)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(tree)], check=True)
        bot = home / "bot"
        Config(bot / "moonhook.toml").replace("port = 0", "port = 8080")  # as init wrote it
        with closing(sqlite3.connect(bot / "data" / "moonhook.db")) as db:
            found = db.execute("PRAGMA user_version").fetchone()[0]
        assert found == schema, f"{rev} left a journal at schema {found}, not {schema}"
        assert not (bot / "data" / "moonhook.db-wal").exists(), "the engine did not stop cleanly"
        shutil.rmtree(out, ignore_errors=True)
        (out / "data").mkdir(parents=True)
        shutil.copy(bot / "moonhook.toml", out / "moonhook.toml")
        shutil.copytree(bot / "scripts", out / "scripts")
        shutil.copy(bot / "data" / "moonhook.db", out / "data" / "moonhook.db")
        answers = {"schema": schema, "commit": commit, **answers}
        (out / "answers.json").write_text(json.dumps(answers, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    return out


def _session(moonhook: list[str], tree: Path, home: Path) -> dict[str, Any]:
    """The older moonhook's session in ``home``/bot; what its API answered at the end."""
    home.mkdir()
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(tree), "HOME": str(home)}
    subprocess.run([*moonhook, "init", "bot"], cwd=home, env=env, check=True, capture_output=True)
    config = Config(home / "bot" / "moonhook.toml")
    config.replace("port = 8080", "port = 0")   # any free port, read from the banner (each version prints it)
    with socket.socket() as unreachable:   # Telegram's servers out of reach: the notices stay in the outbox
        unreachable.bind(("127.0.0.1", 0))   # bound, never listening, held for the session: refused
        config.append(f'[telegram]\napi_url = "{UNREACHABLE.format(unreachable.getsockname()[1])}"\n'
                      f'admins = [{ADMIN}]\n[[telegram.bots]]\ntoken = "{TOKEN}"\nchats = [{ADMIN}]\n')
        return _trade(moonhook, env, home, config)


def _trade(moonhook: list[str], env: dict[str, str], home: Path, config: Config) -> dict[str, Any]:
    """The session itself: the older ``moonhook run`` started in ``home``/bot, sent the alerts,
    stopped; what its API answered."""
    (home / "bot" / "scripts" / "keeper.lua").write_text(KEEPER, encoding="utf-8")
    (home / "bot" / "scripts" / "idle.lua").write_text(IDLE, encoding="utf-8")
    server = config.values["server"]
    with (home / "run.log").open("w") as log:
        process = subprocess.Popen([*AS_IN_A_TERMINAL, *moonhook, "run"], cwd=home / "bot", env=env,
                                   stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True)
    try:
        port = int(until(lambda: _banner_port(home / "run.log", process), bool, "the older moonhook's banner"))
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10.0,
                          headers={"Authorization": f"Bearer {server['api_token']}"}) as api:
            until(lambda: _health(api, process), lambda up: up, "the older moonhook's start")

            def send(text: str) -> int:
                answer = api.post(f"/webhook/{server['secret']}", content=text.encode(),
                                  headers={"Content-Type": "text/plain"})
                assert answer.status_code == 200, answer.text
                return answer.json()["id"]

            def settled(alert_id: int, status: tuple[str, ...] = ("received",)) -> dict[str, Any]:
                return until(lambda: api.get(f"/api/alerts/{alert_id}").json(), lambda row: row["status"] not in status,
                             f"alert {alert_id} processed")

            ids = [send(text) for text in ALERTS[:1]]
            for text in ALERTS[1:]:
                settled(ids[-1])
                ids.append(send(text))
            settled(ids[-1])
            assert api.post("/api/pause").status_code == 200
            ids.append(send(PAUSED))
            settled(ids[-1])
            assert api.post("/api/resume").status_code == 200
            # Stopped as a trader leaves it for a while: a plugin switched off, paused, an alert held.
            assert api.post("/api/plugins/idle/disable").status_code == 200
            assert api.post("/api/pause").status_code == 200
            ids.append(send(HELD))
            settled(ids[-1])
            answers = {"alerts": {str(i): api.get(f"/api/alerts/{i}").json() for i in ids}}
            for path in ("/api/account", "/api/positions", "/api/orders", "/api/trades", "/api/plugins", "/health"):
                answer = api.get(path)
                if answer.status_code == 200:
                    answers[path] = answer.json()
        os.killpg(process.pid, signal.SIGINT)
        assert process.wait(timeout=DEADLINE) == 0, (home / "run.log").read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    return answers


def _banner_port(log: Path, process: subprocess.Popen) -> str | None:
    """The port the older moonhook's banner says it listens on; None before the banner."""
    assert process.poll() is None, f"the older moonhook exited:\n{log.read_text()}"
    found = re.search(r"listening on http://[^ ]+:(\d+)/webhook", log.read_text())
    return found and found[1]


def _health(api: httpx.Client, process: subprocess.Popen) -> bool:
    assert process.poll() is None, "the older moonhook exited"
    try:
        return api.get("/health").status_code == 200
    except httpx.TransportError:
        return False


def main(argv: list[str]) -> None:
    for schema in [int(a) for a in argv] or VERSIONS:
        print(make(schema, VERSIONS[schema]))


if __name__ == "__main__":
    main(sys.argv[1:])
