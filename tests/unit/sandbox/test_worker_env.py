"""Worker processes get only what they need from the engine's environment (issue 18 §1): the
sandbox's workers and the MT5 worker never see the engine's secrets. Seen from outside, in
/proc/PID/environ of each worker process (Linux)."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from engine.adapters.brokers.mt5 import MT5Broker
from engine.adapters.storage import Database
from sandbox import open_pool
from sandbox.allowlist import MT5_WORKER_ENV, WORKER_ENV, worker_environment

from support.mt5_standin import Terminal
from support.mt5_support import config as standin_config

pytestmark = pytest.mark.skipif(not Path("/proc/self/environ").exists(),
                                reason="reads a process's environment from /proc (Linux)")

SECRETS = {
    "MOONHOOK_SECRET": "webhook-secret-3f9a0123",
    "MOONHOOK_API_TOKEN": "api-token-77c1-0123",
    "MOONHOOK_MT5_PASSWORD": "mt5-password-0d2e",
    "MOONHOOK_TELEGRAM_TOKEN": "123456:telegram-token-a1b2",
    "TELEGRAM_BOT_TOKEN": "654321:bot-token-c3d4",
    "AWS_SECRET_ACCESS_KEY": "cloud-secret-e5f6",
}


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {k.decode("utf-8", "replace"): v.decode("utf-8", "replace") for k, v in pairs}


def assert_no_secret(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    for name, value in SECRETS.items():
        assert value.encode() not in raw, f"worker {pid} sees {name}"
    env = environ_of(pid)
    assert not [k for k in env if k.startswith("MOONHOOK_") or "TOKEN" in k or "SECRET" in k], env
    return env


@pytest.fixture
def secrets(monkeypatch):
    """The engine's environment holds its secrets, and a variable the workers do get."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("TZ", "UTC")
    return SECRETS


def test_the_allow_list_keeps_what_a_worker_needs_and_drops_the_rest():
    engine = {"PATH": "/usr/bin", "HOME": "/home/t", "LANG": "C.UTF-8", "LC_ALL": "C", "TZ": "UTC",
              "SystemRoot": r"C:\Windows", **SECRETS, "DATABASE_URL": "postgres://u:p@h/db"}
    got = worker_environment(WORKER_ENV, engine)
    assert got == {"PATH": "/usr/bin", "HOME": "/home/t", "LANG": "C.UTF-8", "LC_ALL": "C", "TZ": "UTC",
                   "SystemRoot": r"C:\Windows"}
    mt5 = worker_environment(MT5_WORKER_ENV, {**engine, "APPDATA": r"C:\Users\t\AppData\Roaming"})
    assert mt5 == {**got, "APPDATA": r"C:\Users\t\AppData\Roaming"}


async def test_sandbox_workers_do_not_inherit_the_engines_secrets(secrets):
    async with open_pool(workers=2, spares=1) as pool:
        await pool.load("p", "function f() return 6 * 7 end")
        assert (await pool.call("p", "f")).value == 42
        for pid in pool.worker_pids():
            env = assert_no_secret(pid)
            assert env["TZ"] == "UTC" and "PYTHONPATH" in env and "PATH" in env


async def test_the_mt5_worker_does_not_inherit_the_engines_secrets_and_still_logs_in(secrets, tmp_path):
    # The password the engine took from MOONHOOK_MT5_PASSWORD reaches the terminal over the
    # worker's pipe (initialize), not through the worker's environment.
    password = os.environ["MOONHOOK_MT5_PASSWORD"]
    Terminal(tmp_path / "terminal.db", login=5001, password=password, server="Demo-Server")
    config = replace(standin_config(tmp_path), login=5001, password=password, server="Demo-Server")
    database = Database(tmp_path / "moonhook.db")
    broker = MT5Broker(database, config)
    try:
        await broker.start()  # initialize with the credentials succeeded (a wrong password fails it)
        pid = broker._link.pid
        assert pid is not None
        env = assert_no_secret(pid)
        assert env["TZ"] == "UTC" and "PYTHONPATH" in env
    finally:
        await broker.stop()
        database.close()
