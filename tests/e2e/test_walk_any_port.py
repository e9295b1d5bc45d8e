"""`[server] port = 0`: `moonhook run` listens on a port the system gives, and `moonhook send` and
`moonhook status`, typed in another terminal, find it (the data folder's record of it); a restart,
on another port, is found again; an engine killed is not taken for a running one."""

from __future__ import annotations

import json
from datetime import datetime, timezone

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


def test_init_prints_templates_for_the_port_and_secret_of_its_environment(user):
    # A container's secret and port in the environment: init printed the file's secret and 8080,
    # and the JSON template pasted into TradingView was refused by the engine the same shell ran.
    theirs = "Xq7-their-own-secret-from-a-vault-9Kd2"
    user.env.update(MOONHOOK_SECRET=theirs, MOONHOOK_PORT="0")
    made = user.moonhook("init", "bot")
    assert made.returncode == 0, outcome(made)
    assert "http://127.0.0.1:0/webhook\n(MOONHOOK_PORT=0: the port is chosen at each start" in made.stdout
    template = json.loads(made.stdout.split("its message to (JSON form, for a Pine strategy):\n")[1].split("\n}")[0] + "}")
    assert template["secret"] == theirs

    run = user.start("run", config=Config(user.home / "bot" / "moonhook.toml"), cwd="bot")
    filled = {**template, "symbol": "EURUSD", "action": "buy", "price": "1.1", "units": "10000",
              "position": "long", "position_size": "10000", "id": "1-1",
              "timenow": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
    pasted = run.client.post("/webhook", json=filled)   # as TradingView posts the message
    assert pasted.status_code == 200, (pasted.status_code, pasted.text)
    settled = run.settled(pasted.json()["id"])
    assert settled["status"] == "done", json.dumps(settled)
    assert run.interrupt() == 0
