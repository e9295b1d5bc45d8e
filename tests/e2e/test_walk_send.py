"""A trader drives `moonhook run` from a shell or a script with `moonhook send`: its exit code is
what a script reads as traded (0) or not, so a bad option is refused before anything goes out,
and an alert that was not executed never exits 0."""

from __future__ import annotations

from support.e2e_support import init, outcome
from support.proxy import proxy_in

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


def test_a_repeat_exits_with_the_outcome_of_the_alert_it_repeats(user):
    # A repeat exited 0 whatever had become of the first: a retry of a refused entry, or another
    # alert under a fixed id (not executed), read as traded.
    config, _ = init(user, "bot")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    send = ("send", "--config", "bot/moonhook.toml")
    refused = user.moonhook(*send, "buy EURUSD volume=0.1 price=1.1 id=nostop")   # the demo wants a stop
    retried = user.moonhook(*send, "buy EURUSD volume=0.1 price=1.1 id=nostop")
    assert (refused.returncode, retried.returncode) == (1, 1), outcome(retried)
    assert '"duplicate_of": 1' in retried.stdout and '"status": "rejected"' in retried.stdout
    assert "moonhook: alert 2 repeats alert 1 and was not executed again; alert 1's outcome:" in retried.stderr

    done = user.moonhook(*send, ENTRY.replace("ID", "fixed"))
    again = user.moonhook(*send, ENTRY.replace("ID", "fixed"))
    assert (done.returncode, again.returncode) == (0, 0), outcome(again)
    assert '"status": "done"' in again.stdout
    other = user.moonhook(*send, "sell EURUSD volume=0.1 price=1.1 sl=1.11 id=fixed")
    assert other.returncode == 1 and "not executed: its id is alert 3's, with other content" in other.stdout
    assert len(run.get("/api/positions")["positions"]) == 1
    assert run.interrupt() == 0


def test_an_alert_held_while_paused_is_not_read_as_traded(user):
    # It exited 0, as a done one: a script went on as if it had traded, and a resume without the
    # missed alerts skipped it for good.
    config, _ = init(user, "bot")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    assert run.client.post("/api/pause", json={"reason": "news"}).status_code == 200
    tried = user.moonhook("send", "--config", "bot/moonhook.toml", "--dry-run", ENTRY.replace("ID", "tried"))
    assert tried.returncode == 1 and "the engine is paused: a real alert would be journaled" in tried.stdout
    held = user.moonhook("send", "--config", "bot/moonhook.toml", ENTRY.replace("ID", "held"))
    assert held.returncode == 1 and '"status": "paused"' in held.stdout, outcome(held)
    assert "moonhook: alert 1 was journaled, not executed: the engine is paused" in held.stderr
    assert run.get("/api/positions")["positions"] == []
    assert run.interrupt() == 0


def test_send_and_status_reach_the_engine_directly_past_a_proxy_set_in_the_environment(user):
    # With HTTP_PROXY set (and 127.0.0.1 not in NO_PROXY), send went to the proxy: the webhook's secret in
    # its URL, the API token in a header, both in the proxy's log; and the engine never got the alert.
    config, _ = init(user, "bot")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    with proxy_in(user.env) as heard:
        sent = user.moonhook("send", "--config", "bot/moonhook.toml", ENTRY.replace("ID", "past-proxy"))
        dry = user.moonhook("send", "--config", "bot/moonhook.toml", "--dry-run", ENTRY.replace("ID", "dry"))
        status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert (sent.returncode, dry.returncode, status.returncode) == (0, 0, 0), outcome(sent) + outcome(status)
    assert heard == []
    assert [a["id"] for a in run.get("/api/alerts")["alerts"]] == [1]
    assert run.interrupt() == 0


def test_send_reaches_the_webhook_with_a_secret_holding_characters_a_url_gives_a_meaning(user):
    # The secret went into the path as written: a '#' ended the path there, a '?' began a query, a '%41' was read as
    # 'A', and `moonhook send` met 'wrong secret' with the right one.
    config, _ = init(user, "bot")
    secret = config.values["server"]["secret"]
    config.replace(f'secret = "{secret}"', 'secret = "walk#secret?with %41 / and more"')
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    sent = user.moonhook("send", "--config", "bot/moonhook.toml", ENTRY.replace("ID", "hash"))
    assert sent.returncode == 0 and sent.stdout.startswith("200 "), outcome(sent)
    assert run.interrupt() == 0
