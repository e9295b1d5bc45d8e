"""The shadow across Ctrl-C and a second `moonhook run`: its paper account (positions, pending
orders, money), its per-alert records and its differences count are as before, shown in
/api/shadow, and the next alert's shadow decision is taken on those same books."""

from __future__ import annotations

from support.e2e_support import shadow_user, until

LIVE = 'function on_alert(a) return false, "live waits" end\n'
NEXT = '''function on_alert(a)
  local seen = "p" .. #positions.list() .. "o" .. #orders.list()
  orders.pending{symbol = "EURUSD", side = "buy", type = "limit", price = 1.05, volume = 0.2}
  return {comment = seen}
end
'''
ALERT = "buy EURUSD volume=0.1 price=1.0850 sl=1.0800 id=restart-{}"


def test_the_shadows_account_records_and_differences_are_kept_across_a_restart(user):
    config = shadow_user(user, LIVE, NEXT)
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    ids = [run.webhook(ALERT.format(n))["id"] for n in range(2)]
    before = until(lambda: run.get("/api/shadow"), lambda v: v["alerts"] == 2, "the shadow's runs")
    assert (before["account"]["positions"], before["account"]["pending"]) == (2, 2)
    assert before["account"]["balance"] == 10000 and before["differ"] == 2
    records = [run.get(f"/api/alerts/{i}")["shadow"] for i in ids]
    assert run.get("/api/positions")["positions"] == []   # live rejected both
    assert run.interrupt() == 0

    again = user.start("run", "--config", "bot/moonhook.toml", config=config)
    after = again.get("/api/shadow")
    assert (after["account"], after["alerts"], after["differ"], after["differences"]) == \
        (before["account"], before["alerts"], before["differ"], before["differences"])
    assert [again.get(f"/api/alerts/{i}")["shadow"] for i in ids] == records
    third = again.webhook(ALERT.format(2))["id"]
    until(lambda: again.get("/api/shadow"), lambda v: v["alerts"] == 3, "the shadow's run after the restart")
    assert again.get(f"/api/alerts/{third}")["shadow"]["outcome"]["plugins"][0]["changes"] == {"comment": "p2o2"}
    assert again.interrupt() == 0
