"""The names the editor's API gives a new script (docs/dashboard.md, "New"), over real HTTP to a real
`moonhook run`: a name the engine would not load the script under, or one a file system refuses
(Windows' characters and device names), is refused with a 400 naming the rule, before anything is written."""

from __future__ import annotations

from urllib.parse import quote

from support.e2e_support import init

SCRIPT = b"function on_alert(alert) return nil end\n"
RULE = "needs a file name like trend.lua"
REFUSED = ["my strategy.lua", "strat\u00e9gie.lua", "1st.lua", "ema.cross.lua", "_x.lua", "x y.lua",
           "CON.lua", "nul.lua", "Com1.lua", "LPT9.lua", "a:b.lua", "what?.lua", "a*b.lua", 'say"hi".lua',
           "a<b>.lua", "a|b.lua", "x" * 49 + ".lua"]


def test_a_new_scripts_name_the_engine_would_not_load_or_windows_would_refuse_is_refused_before_any_write(user):
    """PUT wrote each of them: a script under "my strategy.lua" or "ema.cross.lua" (no plugin.name)
    never loaded (its default name, the file's, is no plugin name), and "CON.lua" or "a:b.lua"
    were files a Windows machine cannot hold. Now each is a 400 naming the rule, nothing written."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    scripts = user.home / "bot" / "scripts"
    before = sorted(p.name for p in scripts.iterdir())
    for name in REFUSED:
        for headers in ({"If-None-Match": "*"}, {}):   # New's save, and a plain PUT
            answer = run.client.put(f"/api/scripts/{quote(name, safe='')}", content=SCRIPT, headers=headers)
            assert answer.status_code == 400 and RULE in answer.json()["error"], (name, headers, answer.text)
            assert name in answer.json()["error"], answer.text
    assert sorted(p.name for p in scripts.iterdir()) == before

    for name in ("trend_2-b.lua", "x" * 48 + ".lua", "Conan.lua"):   # what the rule lets through loads
        saved = run.client.put(f"/api/scripts/{name}", content=SCRIPT, headers={"If-None-Match": "*"})
        assert saved.status_code == 200 and saved.json()["loaded"] is True, (name, saved.text)
    assert run.interrupt() == 0


def test_a_script_made_by_hand_under_another_name_still_opens_and_saves(user):
    """The rule is a new file's: a script the trader named so by hand, loaded by its plugin.name,
    is read and saved over as before."""
    config, _ = init(user, "bot")
    mine = user.home / "bot" / "scripts" / "my strategy.lua"
    mine.write_bytes(b'plugin = {name = "mine"}\n' + SCRIPT)
    run = user.start("run", config=config, cwd="bot")
    path = f"/api/scripts/{quote(mine.name)}"
    opened = run.get(path)
    saved = run.client.put(path, content=opened["text"] + "-- edited\n", headers={"If-Match": f'"{opened["version"]}"'})
    assert saved.status_code == 200 and saved.json()["loaded"] is True, saved.text
    assert mine.read_text().endswith("-- edited\n")
    assert run.interrupt() == 0


def test_the_listing_gives_the_rule_the_dashboard_checks_a_new_name_by(user):
    """The page's New checks a name by the server's own rule, given with the listing: one rule, in the engine."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    rule = run.get("/api/scripts")["new_name"]
    assert RULE in rule["rule"] and rule["pattern"].startswith("^") and rule["pattern"].endswith(r"\.lua$")
    assert run.interrupt() == 0


def test_a_new_name_that_differs_from_a_scripts_only_in_case_is_refused(user):
    """PUT wrote Demo.lua beside demo.lua: one file on Windows and macOS, where the new text would
    replace a live strategy's (or the copy fail). Now a 400 naming the script it clashes with, nothing written."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    scripts = user.home / "bot" / "scripts"
    before = sorted(p.name for p in scripts.iterdir())
    assert "demo.lua" in before, before
    for name in ("Demo.lua", "DEMO.lua", "dEmO.lua"):
        for headers in ({"If-None-Match": "*"}, {}):   # New's save, and a plain PUT
            answer = run.client.put(f"/api/scripts/{name}", content=SCRIPT, headers=headers)
            assert answer.status_code == 400, (name, headers, answer.text)
            assert name in answer.json()["error"] and "demo.lua" in answer.json()["error"], answer.text
    assert sorted(p.name for p in scripts.iterdir()) == before
    saved = run.client.put("/api/scripts/demo_2.lua", content=SCRIPT, headers={"If-None-Match": "*"})
    assert saved.status_code == 200 and saved.json()["loaded"] is True, saved.text
    assert run.interrupt() == 0
