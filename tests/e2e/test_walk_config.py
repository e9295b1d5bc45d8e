"""What a trader sets in moonhook.toml, `moonhook run` obeys: each key edited in the file
`moonhook init` wrote, as a user would, and seen at work over HTTP (the settings' own checks
are tests/unit/app/test_settings.py)."""

from __future__ import annotations

import httpx

from support.e2e_support import init

SPIN = """
function on_alert(a)
  if a.comment == 'spin' then for i = 1, 10000000 do end end
end
"""


def test_the_engines_keys_are_obeyed(user):
    config, _ = init(user, "bot")
    config.replace("# default_volume = 0.01", "default_volume = 0.03")
    config.replace('# symbol_map = { "OANDA:XAUUSD" = "GOLD", "US30" = "US30.cash" }',
                   'symbol_map = { "ACME:EURO" = "EURUSD" }')
    config.replace("dedup_window = 60.0", "dedup_window = 0.0")
    config.replace("instructions = 2000000", "instructions = 100000")
    config.replace("allow_without_stop = false", "allow_without_stop = true")
    config.replace("max_body = 65536", "max_body = 2048")
    (user.home / "bot" / "scripts" / "spin.lua").write_text(SPIN)
    run = user.start("run", config=config, cwd="bot")

    sized = run.settled(run.webhook("buy ACME:EURO price=1.1 id=one")["id"])      # no size, no stop
    assert sized["status"] == "done", sized["outcome"]                                         # demo's params allow it
    assert [(p["symbol"], p["volume"]) for p in run.get("/api/positions")["positions"]] == [("EURUSD", 0.03)]
    twice = [run.webhook("closelong EURUSD") for _ in range(2)]                     # no dedup window
    assert [t["status"] for t in twice] == ["accepted", "accepted"]
    run.settled(twice[1]["id"])
    spun = run.settled(run.webhook("trend EURUSD H1 up comment=spin")["id"])
    assert spun["status"] == "done"
    spin = next(p for p in run.get("/api/plugins")["plugins"] if p["name"] == "spin")
    assert "instruction" in spin["last_error"], spin                                # the budget of [sandbox]
    secret = config.values["server"]["secret"]
    big = httpx.post(f"http://127.0.0.1:{run.port}/webhook/{secret}", content=b"buy EURUSD " + b"x" * 3000,
                     timeout=10)
    assert big.status_code == 413
    assert run.interrupt() == 0


def test_the_servers_address_list_refuses_anyone_else(user):
    config, _ = init(user, "bot")
    config.replace("allow_ips = []", 'allow_ips = ["10.9.9.9"]')
    run = user.start("run", config=config, cwd="bot")
    secret = config.values["server"]["secret"]
    refused = httpx.post(f"http://127.0.0.1:{run.port}/webhook/{secret}", content=b"buy EURUSD volume=0.1",
                         timeout=10)
    assert refused.status_code == 403
    assert run.get("/api/alerts")["alerts"] == []
    assert run.interrupt() == 0
