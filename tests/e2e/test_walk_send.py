"""A trader drives `moonhook run` from a shell or a script with `moonhook send`: its exit code is
what a script reads as traded (0) or not, so a bad option is refused before anything goes out,
and an alert that was not executed never exits 0."""

from __future__ import annotations

from support.e2e_support import init, outcome

ENTRY = "buy EURUSD volume=0.1 price=1.1 sl=1.09 id=ID"


def test_a_bad_wait_is_refused_before_the_alert_is_sent(user):
    # `--wait -1` sent the alert, then ended in a traceback (exit 1): traded, and read as failed.
    config, _ = init(user, "bot")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    for wait in ("-1", "nan", "soon"):
        sent = user.moonhook("send", "--config", "bot/moonhook.toml", "--wait", wait, ENTRY.replace("ID", wait))
        assert sent.returncode == 2 and "Traceback" not in sent.stderr, outcome(sent)
        assert f"argument --wait: expected seconds, 0 or more, got '{wait}'" in sent.stderr
    assert run.get("/api/alerts")["alerts"] == []
    assert run.interrupt() == 0
