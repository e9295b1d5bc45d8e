"""An error answer quotes the start of what it could not read, so that the caller sees their mistake: the
webhook's secret or the API token in it is written `***` there, before the quote is cut (a cut secret is no
longer found whole), whatever the route and whatever the mistake."""

from __future__ import annotations

from support.e2e_support import init


def test_no_error_answer_quotes_the_webhooks_secret_or_the_api_token(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    server = config.values["server"]
    secret, token = server["secret"], server["api_token"]
    post, get = run.client.post, run.client.get
    answers = {
        "login, a form sent as JSON": post("/login", content=f"token={token}",
                                           headers={"Content-Type": "application/json"}),
        "login, a token in a list": post("/login", json={"token": [token]}),
        "a pause's reason in a list": post("/api/pause", json={"reason": [f"lunch {secret}"]}),
        "a pause's body not JSON": post("/api/pause", content=f"reason={secret}",
                                        headers={"Content-Type": "application/json"}),
        "a body's unknown field": post("/api/pause", json={f"x{token}": 1}),
        "a flag": post("/api/resume", json={"execute_missed": secret}),
        "a number": get("/api/alerts", params={"limit": token}),
        "a page's key": get("/api/trades", params={"before": f"1:{secret}"}),
        "a filter": get("/api/alerts", params={"symbol": f"{token}x"}),
        "a check's alert": post("/api/alerts/check", content=f"buy {secret}"),
        "a mistyped route": post(f"/webhok/{secret}", json={}),
        "the webhook, text with the path's secret": post(f"/webhook/{secret}", content=f"buy EURUSD {secret}"),
        "the webhook, no secret read": post("/webhook", content=f"buy EURUSD {secret}"),
        "the webhook, a bad field": post("/webhook", json={"secret": secret, "action": "buy", "symbol": "EURUSD",
                                                           "volume": f"{token}"}),
    }
    assert run.interrupt() == 0
    refused = {what: answer.status_code for what, answer in answers.items() if answer.status_code >= 400}
    assert refused == {what: refused.get(what) for what in answers}, {w: a.text for w, a in answers.items()}
    leaked = {what: answer.text for what, answer in answers.items()
              if secret in answer.text or token in answer.text or secret[:12] in answer.text
              or token[:12] in answer.text}
    assert leaked == {}, {what: answer.text for what, answer in answers.items()}
    assert "***" in answers["login, a form sent as JSON"].json()["error"]
