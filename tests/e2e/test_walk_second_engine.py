"""A second `moonhook run` started by mistake (another terminal, a service and a shell): it
stops with one line before its engine starts, and the first goes on alone. Two engines on one
journal would each recover the other's alerts in flight and run the same timers: orders sent
twice. After a kill -9 the lock is gone with the process: the next start is not refused."""

from __future__ import annotations

from support.e2e_support import init, outcome


def test_a_second_engine_on_the_same_folder_or_port_stops_before_it_starts(user):
    config, _ = init(user, "bot")
    first = user.start("run", "--config", "bot/moonhook.toml", config=config)
    before = first.get("/api/alerts")["alerts"]

    settings = config.path.read_text(encoding="utf-8")
    for name, text in (("other.toml", settings),   # another file, the same folder (port = 0: any port)
                       ("elsewhere.toml", settings.replace('data = "data"', 'data = "data-elsewhere"')
                                              .replace("port = 0", f"port = {first.port}"))):
        (user.home / "bot" / name).write_text(text)
        (user.home / "bot" / name).chmod(0o600)   # private, as init makes them
    twice = user.moonhook("run", "--config", "bot/moonhook.toml")     # the same started again: its folder
    same_folder = user.moonhook("run", "--config", "bot/other.toml")
    same_port = user.moonhook("run", "--config", "bot/elsewhere.toml")

    data = (user.home / "bot" / "data").resolve()
    for refused in (twice, same_folder):   # which process holds it, not only that the port is taken
        assert refused.returncode == 2, outcome(refused)
        assert refused.stderr.strip() == (
            f"moonhook: the data folder {data} is in use by another moonhook (process {first.process.pid}): stop "
            "it first, or give this one its own [engine] data folder")
    assert same_port.returncode == 2, outcome(same_port)
    assert same_port.stderr.startswith(f"moonhook: cannot listen on 127.0.0.1:{first.port}: ")
    assert "moonhook already running" in same_port.stderr
    for refused in (twice, same_folder, same_port):  # nothing started: no plugin loaded, no line but the one
        assert len(refused.stderr.strip().splitlines()) == 1, outcome(refused)

    # The first engine goes on alone, its journal as it was.
    assert first.get("/api/alerts")["alerts"] == before
    sent = first.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09")
    assert first.settled(sent["id"])["status"] == "done"

    # Killed without a chance to clean up: the lock went with the process.
    first.kill()
    again = user.start("run", "--config", "bot/moonhook.toml", config=config)
    assert again.get(f"/api/alerts/{sent['id']}")["status"] == "done"
    assert again.interrupt() == 0
