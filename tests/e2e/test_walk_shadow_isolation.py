"""A shadow script with the same file name as a live one, as `moonhook run` runs them: each
keeps its own store and trend, the shadow's lines are named as the shadow's, its notify.send
reaches no one, and its orders only its own paper account (docs/shadow.md, Guarantees)."""

from __future__ import annotations

from support.e2e_support import shadow_user, until

LIVE = '''function on_alert(a)
  local n = (store.get("n") or 0) + 1
  store.set("n", n)
  return {comment = "live" .. n .. "-" .. tostring(trend.get("EURUSD", "60"))}
end
'''
NEXT = '''function on_alert(a)
  local n = (store.get("n") or 0) + 100
  store.set("n", n)
  trend.set("EURUSD", "60", "down")
  notify.send("next version says hi")
  log.info("next n=" .. n)
  return {comment = "next" .. n, volume = 0.3}
end
'''


def test_a_shadow_script_of_the_same_name_keeps_its_own_store_trend_lines_and_account(user):
    config = shadow_user(user, LIVE, NEXT)
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)

    ids = []
    for n in range(3):   # one at a time: the shadow has run each before live takes the next
        ids.append(run.webhook(f"buy EURUSD volume=0.1 price=1.0850 sl=1.0800 id=iso-{n}")["id"])
        until(lambda: run.get("/api/shadow"), lambda v, k=n + 1: v["alerts"] == k, "the shadow's run")
    positions = run.get("/api/positions")["positions"]
    assert [(p["comment"], p["volume"]) for p in positions] == [("live1-nil", 0.1), ("live2-nil", 0.1),
                                                                ("live3-nil", 0.1)]
    shadowed = [run.get(f"/api/alerts/{i}")["shadow"]["outcome"]["plugins"][0]["changes"]["comment"] for i in ids]
    assert shadowed == ["next100", "next200", "next300"]
    log = run.text()
    assert "moonhook.shadow.plugin.gate: next n=300" in log and "moonhook.plugin.gate: next" not in log
    assert "next version says hi" not in log
    assert run.interrupt() == 0
