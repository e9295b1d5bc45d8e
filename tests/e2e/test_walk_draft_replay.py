"""A draft replayed from the editor's API before it is saved, as a trader uses it: `moonhook
init`, `moonhook run`, alerts over HTTP, then `POST /api/scripts/<file>/replay` with a draft
that trades what the live version rejects. The answer sets the live version's figures beside
the draft's, computed here by hand, and names the alerts where they differ; nothing live
changes. A draft that does not load is a 422 naming its line; bad input a 400."""

from __future__ import annotations

from support.e2e_support import init, until

LIVE = 'function on_alert(a) if a.side and not a.sl then return false, "no stop" end end\n'
DRAFT = "function on_alert(a) return nil end\n"
ALERTS = ["buy EURUSD volume=0.1 price=1.0850 id=no-stop",            # live: rejected; draft: bought
          "buy EURUSD volume=0.1 price=1.0850 sl=1.0800 id=stop",     # both: bought at 1.0850
          "close EURUSD price=1.0870 id=out"]                         # live closes one, the draft two


def replay(run, name: str, text: str, query: str = "days=1"):
    return run.client.post(f"/api/scripts/{name}/replay?{query}", content=text.encode(), timeout=120)


def test_a_draft_is_replayed_over_the_journal_beside_the_live_version_and_nothing_live_changes(user):
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    (scripts / "demo.lua").unlink()
    (scripts / "gate.lua").write_text(LIVE, encoding="utf-8")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    ids = [run.webhook(body)["id"] for body in ALERTS]
    assert [run.settled(i)["status"] for i in ids] == ["rejected", "done", "done"]
    positions = run.get("/api/positions")

    answer = replay(run, "gate.lua", DRAFT)
    assert answer.status_code == 200, answer.text
    r = answer.json()
    # No spread, no commission ([paper]'s defaults): a close 200 points above 1.0850 makes
    # 0.1 lot x 100,000 x 0.0020 = 20.00 a position. Live closes one, the draft two.
    assert (r["name"], r["days"], r["prices_simulated"], r["timer_every"]) == ("gate.lua", 1.0, False, 60)
    assert {k: r["live"][k] for k in ("alerts", "trades", "wins", "profit")} == \
        {"alerts": 3, "trades": 1, "wins": 1, "profit": 20.0}
    assert {k: r["draft"][k] for k in ("alerts", "trades", "wins", "profit")} == \
        {"alerts": 3, "trades": 2, "wins": 2, "profit": 40.0}
    assert (r["profit_difference"], r["draft"]["faults"]) == (20.0, [])
    assert r["differing"] == 2 and [d["id"] for d in r["differences"]] == [ids[0], ids[2]]
    first = r["differences"][0]
    assert [(d["plugin"], d["result"], d["detail"]) for d in first["live"]["decisions"]] == \
        [("gate", "rejected", "no stop")]
    assert [(o["side"], o["volume"]) for o in first["draft"]["orders"]] == [("buy", 0.1)]

    # Nothing live changed: the file, the version serving, the account.
    assert (scripts / "gate.lua").read_text(encoding="utf-8") == LIVE
    assert run.get("/api/positions") == positions
    again = run.webhook("buy EURUSD volume=0.1 price=1.0850 id=after")["id"]
    assert run.settled(again)["status"] == "rejected"

    broken = replay(run, "gate.lua", "function on_alert(a)\n  return nil\n")
    assert broken.status_code == 422 and "gate.lua:" in broken.json()["error"], broken.text
    assert replay(run, "gate.lua", DRAFT, "days=0").status_code == 400
    assert replay(run, "../gate.lua", DRAFT).status_code in (400, 404)
    assert replay(run, ".gate.lua", DRAFT).status_code == 400
    assert run.interrupt() == 0


def test_a_draft_is_replayed_beside_what_serves_whatever_the_files_that_do_not_load(user):
    """The replay read the scripts from disk: one file that does not load anywhere in scripts/ (a
    script nothing serves from, or a save that did not load, the version before serving on) made
    every replay a 422 naming that file, whatever the draft, its fix included, while the engine
    traded on. Its live side is now what serves (the version before a failed save), a file nothing
    serves from left out, and the draft in place of its own file."""
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    (scripts / "demo.lua").unlink()
    (scripts / "gate.lua").write_text(LIVE, encoding="utf-8")
    (scripts / "broken.lua").write_text("this is not lua\n", encoding="utf-8")   # nothing serves from it
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    ids = [run.webhook(body)["id"] for body in ALERTS]
    assert [run.settled(i)["status"] for i in ids] == ["rejected", "done", "done"]
    (scripts / "gate.lua").write_text(LIVE + "this is not lua either\n", encoding="utf-8")   # a save that fails
    until(lambda: run.get("/api/plugins")["plugins"], lambda ps: [p["state_words"] for p in ps if p["name"] == "gate"]
          == ["save failed: the version before serves"], "gate.lua's save refused, its version before serving")

    answer = replay(run, "gate.lua", DRAFT)
    assert answer.status_code == 200, answer.text
    r = answer.json()
    assert ({k: r["live"][k] for k in ("trades", "profit")}, {k: r["draft"][k] for k in ("trades", "profit")}) == \
        ({"trades": 1, "profit": 20.0}, {"trades": 2, "profit": 40.0})   # as with no file failing
    fixed = replay(run, "broken.lua", "function on_alert(a) return nil end\n")   # its fix, tried before saving
    assert fixed.status_code == 200, fixed.text
    f = fixed.json()
    assert (f["draft"]["trades"], f["draft"]["profit"], f["draft"]["faults"]) == (1, 20.0, []), f   # gate decides
    assert run.interrupt() == 0


def test_a_new_draft_naming_a_plugin_that_serves_is_the_file_refused(user):
    """A new draft alpha.lua declaring plugin.name = 'demo' beside demo.lua was refused as
    "demo.lua: a plugin named 'demo' is already loaded from alpha.lua": the editor marked demo.lua,
    which serves and is not at fault. The draft is named, in the words the engine refuses its save."""
    config, _ = init(user, "bot")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    run.settled(run.webhook(ALERTS[1])["id"])
    answer = replay(run, "alpha.lua", "plugin = {name = 'demo'}\n" + DRAFT)
    assert answer.status_code == 422, answer.text
    assert answer.json() == {"error": "alpha.lua: a plugin named 'demo' is already loaded from demo.lua",
                             "file": "alpha.lua", "line": None}
    saved = run.client.put("/api/scripts/alpha.lua", content=b"plugin = {name = 'demo'}\n" + DRAFT.encode(),
                           headers={"If-None-Match": "*"})
    assert saved.status_code == 409 and saved.json()["holder"] == "demo.lua", saved.text   # the save: the same file
    assert run.interrupt() == 0
