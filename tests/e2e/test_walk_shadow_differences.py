"""The shadow's list of differing alerts as a trader reads it with `moonhook run` and real HTTP:
an alert only the shadow trades, one only live trades, one both trade at different volumes,
each said in its line, and the list read a page at a time (``before``: the alerts below the last
shown) when it is long."""

from __future__ import annotations

from support.e2e_support import shadow_user, until

# Live refuses 0.3; the shadow refuses 0.4 and trades 0.5 as 0.6; both trade 0.1 alike.
LIVE = 'function on_alert(a) if a.volume == 0.3 then return false, "live says no" end end\n'
NEXT = ('function on_alert(a)\n  if a.volume == 0.4 then return false, "next says no" end\n'
        '  if a.volume == 0.5 then return {volume = 0.6} end\nend\n')
ALERT = "buy EURUSD volume={} price=1.0850 sl=1.0800 id=diff-{}"
EXPECTED = {
    0.3: ["status: rejected → done", "gate: reject (live says no) → pass",
          "order engine market: absent → buy EURUSD 0.3 sl"],
    0.4: ["status: done → rejected", "gate: pass → reject (next says no)",
          "order engine market: buy EURUSD 0.4 sl → absent"],
    0.5: ["gate: pass → change (volume=0.6)", "order engine market: buy EURUSD 0.5 sl → buy EURUSD 0.6 sl"],
}


def test_the_differing_alerts_say_who_traded_what_and_are_read_a_page_at_a_time(user):
    config = shadow_user(user, LIVE, NEXT)
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)

    volumes = [0.3, 0.1, 0.4, 0.5] * 3
    ids = [run.webhook(ALERT.format(v, n))["id"] for n, v in enumerate(volumes)]
    shadow = until(lambda: run.get("/api/shadow?limit=500"), lambda v: v["alerts"] == len(ids),
                   "the shadow's run of every alert")
    differing = [(i, v) for i, v in zip(ids, volumes) if v != 0.1][::-1]   # newest first
    assert shadow["differ"] == len(differing) == 9
    assert [(d["id"], d["differences"]) for d in shadow["differences"]] == [(i, EXPECTED[v]) for i, v in differing]

    pages, before = [], ""
    for _ in range(4):   # each page the differing alerts below the last one shown (``before``)
        pages.append(run.get(f"/api/shadow?limit=4{before}")["differences"])
        before = f"&before={pages[-1][-1]['id']}" if pages[-1] else before
    assert [[d["id"] for d in page] for page in pages] == [[i for i, _ in differing[k:k + 4]] for k in (0, 4, 8, 12)]
    assert pages[-1] == []
    # Read by offset, a page moved by one when an alert differed between two reads: the shadow runs on
    # while the trader pages, and Older showed again the last row of the page before.
    first = run.get("/api/shadow?limit=4")["differences"]
    late = run.webhook(ALERT.format(0.3, "late"))["id"]
    until(lambda: run.get("/api/shadow?limit=1"), lambda v: v["latest_differing"] == late, "the late alert's run")
    second = run.get(f"/api/shadow?limit=4&before={first[-1]['id']}")["differences"]
    assert [d["id"] for d in second] == [i for i, _ in differing[4:8]]
    refused = run.client.get("/api/shadow?before=0")
    assert refused.status_code == 400 and "before" in refused.json()["error"]
    assert run.interrupt() == 0
