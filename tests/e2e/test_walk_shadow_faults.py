"""Shadow mode's faults as a trader meets them with `moonhook run`: a shadow script that does not
load is named as the shadow's in /health and `moonhook status` (never as a live load error), and
a save that fixes it is picked up; the shadow's folder deleted while running is said in
/api/shadow and `moonhook status`, and the live alerts go on trading."""

from __future__ import annotations

import shutil

from support.e2e_support import init, outcome, until

LIVE = "function on_alert(a) return nil end\n"
BROKEN = "function on_alert(a) return nil\n"   # no `end`: a syntax error
FIXED = "function on_alert(a) return {volume = 0.2} end\n"
ALERT = "buy EURUSD volume=0.1 price=1.0850 sl=1.0800 id={}"


def shadowed(user, scripts: dict[str, str]):
    """`moonhook init bot`, a live gate.lua, ``scripts`` in scripts-next/ as the shadow's, and
    `moonhook run` started."""
    config, _ = init(user, "bot")
    bot = user.home / "bot"
    (bot / "scripts" / "demo.lua").unlink()
    (bot / "scripts" / "gate.lua").write_text(LIVE, encoding="utf-8")
    (bot / "scripts-next").mkdir()
    for name, text in scripts.items():
        (bot / "scripts-next" / name).write_text(text, encoding="utf-8")
    config.append('[shadow]\nscripts = "scripts-next"\n')
    return bot, user.start("run", "--config", "bot/moonhook.toml", config=config)


def test_a_shadow_script_that_does_not_load_is_named_as_the_shadows_in_health_and_status(user):
    bot, run = shadowed(user, {"gate.lua": LIVE, "broken.lua": BROKEN})

    health = run.get("/health")
    assert (health["status"], health["load_errors"]) == ("ok", {})   # the live scripts all serve
    assert list(health["shadow_load_errors"]) == ["broken.lua"]
    assert "'end' expected" in health["shadow_load_errors"]["broken.lua"]
    status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert status.returncode == 0, outcome(status)
    assert "  load_errors=none  " in status.stdout and "  shadow_load_errors=broken.lua  " in status.stdout, \
        outcome(status)
    lines = status.stdout.splitlines()
    assert not [line for line in lines if line.startswith("not loaded:")], outcome(status)
    assert [line for line in lines if line.startswith("shadow: not loaded: broken.lua:2:")], outcome(status)

    # Saved fixed: loaded as a live save is, and no longer named.
    (bot / "scripts-next" / "broken.lua").write_text(FIXED, encoding="utf-8")
    until(lambda: run.get("/health"), lambda h: h["shadow_load_errors"] == {}, "the fixed shadow script loaded")
    assert sorted(p["file"] for p in run.get("/api/shadow")["plugins"] if p["loaded"]) == ["broken.lua", "gate.lua"]
    assert run.interrupt() == 0


def test_the_shadow_folder_deleted_while_running_is_said_and_the_live_alerts_trade_on(user):
    bot, run = shadowed(user, {"gate.lua": FIXED})
    first = run.webhook(ALERT.format("before"))["id"]
    until(lambda: run.get("/api/shadow"), lambda v: v["alerts"] == 1, "the shadow's run of the first alert")
    assert run.get("/api/shadow")["missing"] is False

    shutil.rmtree(bot / "scripts-next")
    until(run.text, lambda t: "shadow: bot/scripts-next was deleted or moved" in t, "the shadow's folder told gone")
    shadow = until(lambda: run.get("/api/shadow"), lambda v: v["plugins"] == [], "the shadow's scripts unloaded")
    assert shadow["missing"] is True
    after = run.webhook(ALERT.format("after"))["id"]
    assert run.settled(after)["status"] == "done"
    assert [p["volume"] for p in run.get("/api/positions")["positions"]] == [0.1, 0.1]   # live's, both
    assert run.settled(first)["status"] == "done"
    status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert "shadow: scripts-next (folder missing: its scripts are unloaded until it is back), 0 plugins" \
           in status.stdout, outcome(status)
    assert run.interrupt() == 0


def test_the_shadow_folder_moved_while_running_unloads_its_scripts_as_deleted_does(user):
    # A move tells only the folder's own watch, no file's: its scripts went on deciding every alert,
    # where /api/shadow said it missing and `moonhook status` "its scripts are unloaded".
    bot, run = shadowed(user, {"gate.lua": FIXED, "broken.lua": BROKEN})
    first = run.webhook(ALERT.format("before"))["id"]
    until(lambda: run.get("/api/shadow"), lambda v: v["alerts"] == 1, "the shadow's run of the first alert")

    (bot / "scripts-next").rename(bot / "scripts-old")
    until(run.text, lambda t: "shadow: bot/scripts-next was deleted or moved" in t, "the shadow's folder told gone")
    shadow = until(lambda: run.get("/api/shadow"), lambda v: v["plugins"] == [], "the shadow's scripts unloaded")
    assert shadow["missing"] is True and run.get("/health")["shadow_load_errors"] == {}
    after = run.webhook(ALERT.format("after"))["id"]
    row = until(lambda: run.get(f"/api/alerts/{after}"), lambda r: r["shadow"] is not None, "the shadow's run")
    assert row["status"] == "done" and "gate: pass → absent" in row["shadow"]["differences"], row["shadow"]
    assert run.settled(first)["shadow"]["differences"] == [
        "gate: pass → change (volume=0.2)", "order engine market: buy EURUSD 0.1 sl → buy EURUSD 0.2 sl"]
    status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert "shadow: scripts-next (folder missing: its scripts are unloaded until it is back), 0 plugins, " \
           "2 alerts" in status.stdout, outcome(status)

    # Moved back: its scripts load again, no restart needed.
    (bot / "scripts-old").rename(bot / "scripts-next")
    until(run.text, lambda t: "shadow: bot/scripts-next is back: saves there are seen again" in t, "told back")
    shadow = until(lambda: run.get("/api/shadow"), lambda v: len(v["plugins"]) == 2, "the shadow's scripts loaded")
    assert shadow["missing"] is False and list(run.get("/health")["shadow_load_errors"]) == ["broken.lua"]
    assert run.interrupt() == 0


FAILING = 'function on_alert(a) error("next version bug") end\n'


def test_a_shadow_plugin_the_breaker_switched_off_is_said_in_status_and_is_on_again_after_a_restart(user):
    """Its breaker is the shadow's own, and keeps no switch across a restart (docs/shadow.md):
    `moonhook status` says while it is off, as every later difference comes from it."""
    bot, run = shadowed(user, {"gate.lua": FAILING})
    ids = [run.webhook(ALERT.format(f"fail-{n}"))["id"] for n in range(5)]   # engine.breaker: 5 in a row
    shadow = until(lambda: run.get("/api/shadow"), lambda v: v["alerts"] == len(ids), "the shadow's runs")
    assert [(p["name"], p["state"]) for p in shadow["plugins"]] == [("gate", "disabled")]
    assert all(run.settled(i)["status"] == "done" for i in ids)   # live's gate passed them all
    status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert "shadow: scripts-next, 1 plugin (1 switched off), 5 alerts, 5 differ" in status.stdout, outcome(status)
    assert run.interrupt() == 0

    again = user.start("run", "--config", "bot/moonhook.toml", config=run.config)
    assert [(p["name"], p["state"]) for p in again.get("/api/shadow")["plugins"]] == [("gate", "active")]
    status = user.moonhook("status", "--config", "bot/moonhook.toml")
    assert "shadow: scripts-next, 1 plugin, 5 alerts, 5 differ" in status.stdout, outcome(status)
    assert again.interrupt() == 0
