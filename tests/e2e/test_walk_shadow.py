"""Shadow mode as a user meets it (issue 22): `moonhook init`, a live script and a different
one in scripts-next/, `[shadow] scripts = "scripts-next"` in moonhook.toml, `moonhook run`,
alerts over HTTP; the shadow's decisions and differences in the API and in `moonhook status`,
the live paper account holding only the live orders, a shadow script saved and picked up, and
the shadow's records still there after Ctrl-C and a second `moonhook run`."""

from __future__ import annotations

from support.e2e_support import shadow_user, outcome, until

LIVE = 'function on_alert(a) if not a.sl then return false, "no stop" end end\n'
NEXT = "function on_alert(a) return nil end\n"
NEXT_SAVED = "function on_alert(a) return {volume = 0.2} end\n"

NO_STOP = "buy EURUSD volume=0.1 price=1.0850 id=shadow-no-stop"
WITH_STOP = "buy EURUSD volume=0.1 price=1.0850 sl=1.0800 id=shadow-stop"
AFTER_SAVE = "buy EURUSD volume=0.1 price=1.0850 sl=1.0800 id=shadow-after-save"


def shadow_of(run, alert_id: int) -> dict:
    """The alert's shadow record, once the shadow has run it."""
    return until(lambda: run.get(f"/api/alerts/{alert_id}"), lambda row: row["shadow"] is not None,
                 f"the shadow's record of alert {alert_id}")["shadow"]


def test_shadow_scripts_decide_beside_the_live_ones_and_only_the_live_orders_trade(user):
    config = shadow_user(user, LIVE, NEXT)
    bot = user.home / "bot"
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)

    rejected, passed = (run.webhook(body)["id"] for body in (NO_STOP, WITH_STOP))
    assert run.settled(rejected)["status"] == "rejected" and run.settled(passed)["status"] == "done"
    differs = shadow_of(run, rejected)
    assert differs["status"] == "done" and differs["differs"] is True
    assert differs["differences"] == ["status: rejected → done", "gate: reject (no stop) → pass",
                                      "order engine market: absent → buy EURUSD 0.1 no stops"]
    same = shadow_of(run, passed)
    assert (same["status"], same["differs"], same["differences"]) == ("done", False, [])

    shadow = run.get("/api/shadow")
    assert shadow["scripts"].endswith("scripts-next")
    assert [(p["name"], p["loaded"]) for p in shadow["plugins"]] == [("gate", True)]
    assert (shadow["alerts"], shadow["differ"], shadow["behind"]) == (2, 1, 0)
    assert [(d["id"], d["symbol"]) for d in shadow["differences"]] == [(rejected, "EURUSD")]
    assert run.get("/api/shadow?limit=1")["differences"][0]["differences"] == differs["differences"]
    status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert f"shadow: scripts-next, 1 plugin, 2 alerts, 1 differs (latest #{rejected})" in status.stdout, \
        outcome(status)

    # The live paper account: the one live order, none of the shadow's two.
    positions = run.get("/api/positions")["positions"]
    assert [(p["symbol"], p["volume"]) for p in positions] == [("EURUSD", 0.1)]
    assert [o["client_id"] for o in run.get("/api/orders")["recent"]] == [f"a{passed}-engine-open"]

    # A shadow script saved: reloaded as a live one is; the next alert's shadow record shows it.
    version = shadow["plugins"][0]["version"]
    (bot / "scripts-next" / "gate.lua").write_text(NEXT_SAVED, encoding="utf-8")
    until(lambda: run.get("/api/shadow")["plugins"], lambda rows: rows[0]["version"] != version,
          "the saved shadow script reloaded")
    changed = run.webhook(AFTER_SAVE)["id"]
    assert run.settled(changed)["status"] == "done"
    assert shadow_of(run, changed)["differences"] == ["gate: pass → change (volume=0.2)",
                                                      "order engine market: buy EURUSD 0.1 sl → buy EURUSD 0.2 sl"]
    assert "shadow: plugin gate reloaded from gate.lua" in run.text()
    assert run.interrupt() == 0

    again = user.start("run", "--config", "bot/moonhook.toml", config=config)
    kept = again.get("/api/shadow")
    assert (kept["alerts"], kept["differ"]) == (3, 2)
    assert again.get(f"/api/alerts/{rejected}")["shadow"] == differs
    assert again.interrupt() == 0
