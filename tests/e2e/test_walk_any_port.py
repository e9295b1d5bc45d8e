"""`[server] port = 0`: `moonhook run` listens on a port the system gives, and `moonhook send` and
`moonhook status`, typed in another terminal, find it (the data folder's record of it); a restart,
on another port, is found again; an engine killed is not taken for a running one."""

from __future__ import annotations

from support.e2e_support import Config, outcome

ENTRY = "buy EURUSD volume=0.1 price=1.1 sl=1.09"


def test_an_engine_on_any_free_port_is_found_by_send_and_status_across_restarts(user):
    # With port = 0, send and status asked port 0: "does not answer", of an engine that was running.
    assert user.moonhook("init", "bot").returncode == 0
    config = Config(user.home / "bot" / "moonhook.toml")
    config.replace("port = 8080", "port = 0")
    assert user.moonhook("check", cwd="bot").returncode == 0

    run = user.start("run", config=config, cwd="bot")
    assert run.port != 0
    tried = user.typed(run.try_command, cwd="bot")   # the banner's line, pasted in another terminal
    assert tried.returncode == 0 and '"status": "done"' in tried.stdout, outcome(tried)
    status = user.moonhook("status", cwd="bot")
    assert status.returncode == 0 and "status=ok" in status.stdout and "demo" in status.stdout, outcome(status)
    assert run.interrupt() == 0
    stopped = user.moonhook("status", cwd="bot")
    assert stopped.returncode == 1 and "moonhook: the engine is not running" in stopped.stderr, outcome(stopped)

    again = user.start("run", config=config, cwd="bot")
    sent = user.moonhook("send", "--config", "bot/moonhook.toml", ENTRY)   # from another folder, by --config
    assert sent.returncode == 0 and '"id": 2' in sent.stdout, outcome(sent)
    status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert status.returncode == 0 and "status=ok" in status.stdout, outcome(status)
    assert [a["status"] for a in again.get("/api/alerts")["alerts"]] == ["done", "done"]   # one journal

    again.kill()   # kill -9: no chance to clean up; what it left must not pass for a running engine
    for left in (user.moonhook("status", cwd="bot"), user.moonhook("send", ENTRY, cwd="bot")):
        assert left.returncode == 1 and "moonhook: the engine is not running" in left.stderr, outcome(left)
        assert "Traceback" not in left.stderr
    third = user.start("run", config=config, cwd="bot")
    status = user.moonhook("status", cwd="bot")
    assert status.returncode == 0 and "status=ok" in status.stdout, outcome(status)
    assert third.interrupt() == 0


def test_an_engine_on_the_port_of_its_environment_is_found_by_the_commands_of_another_terminal(user):
    # `MOONHOOK_PORT=0 make run` (docs/operations.md: beside another checkout): the banner's `try it`
    # line and status, typed in another terminal without the variable, asked the file's port 8080:
    # "does not answer" of an engine that was running, or another checkout's engine listening there.
    assert user.moonhook("init", "bot").returncode == 0
    config = Config(user.home / "bot" / "moonhook.toml")
    assert config.values["server"]["port"] == 8080

    run = user.start("run", config=config, cwd="bot", env={"MOONHOOK_PORT": "0"})
    assert run.port != 8080 and "allow_ips" not in run.banner   # empty: the webhook takes this machine's alerts
    tried = user.typed(run.try_command, cwd="bot")
    assert tried.returncode == 0 and '"status": "done"' in tried.stdout, outcome(tried)
    status = user.moonhook("status", cwd="bot")
    assert status.returncode == 0 and "status=ok" in status.stdout and "1 alert" in status.stdout, outcome(status)
    assert run.interrupt() == 0
