"""A newcomer's first hour, as the README and docs/ walk it: `moonhook init`, `run`, an alert, then
a script saved from the editor with a syntax error. The save is refused at its line, the version
before it goes on serving, and the trader is shown where: the overview's errors and `moonhook status`."""

from __future__ import annotations

import re
import shutil

from support.e2e_support import init, outcome, until

BROKEN = """plugin = {priority = 10, guard = true}
function on_alert(a)
  if a.sl == nil then return false, "no stop" end
  return a +
end
"""


def test_a_save_that_does_not_load_is_shown_at_its_line_while_the_last_good_version_serves(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    (live,) = run.get("/api/plugins")["plugins"]
    saved = run.client.put("/api/scripts/demo.lua", content=BROKEN.encode())
    assert saved.status_code == 200, saved.text
    answer = saved.json()
    assert (answer["loaded"], answer["line"], answer["serving"]) == (False, 5, "demo"), answer

    # the demo that was live still refuses an entry without a stop
    refused = run.settled(run.webhook("buy EURUSD risk=1 price=1.085")["id"])
    assert refused["status"] == "rejected" and refused["outcome"]["rejected_by"] == "demo", refused

    # The overview's errors were empty: the file on disk does not load (the next start would not
    # load it, and a guard then starts the engine paused), and the dashboard said nothing of it.
    errors = run.get("/api/overview")["errors"]
    assert [(e["kind"], e["plugin"], e["file"], e["line"]) for e in errors] == [("load", "demo", "demo.lua", 5)], errors

    status = user.moonhook("status", "--config", "moonhook.toml", cwd="bot")
    rows = {line.split()[0]: line.split() for line in status.stdout.splitlines()[2:] if line.split()}
    assert rows["demo"][1] == "failed" and "demo.lua:5: error: " in status.stdout, outcome(status)
    assert live["version"] in rows["demo"], outcome(status)   # the version before serves on, named
    assert run.interrupt() == 0


ONE_OF_PLURAL = re.compile(r"(?<![\d.,])\b1 (?!lot\b)[a-z]+s\b")   # "1 alerts"; "1.5 lots" is no count


def test_a_first_session_of_one_of_everything_says_each_count_in_the_singular(user):
    """The README's first steps, one alert, one order, one position, one plugin: each command's
    output holds no "1 alerts" (`moonhook backup` said it, replay and the shadow line too)."""
    config, _ = init(user, "bot")
    config.append('\n[shadow]\nscripts = "next"\n')
    (user.home / "bot" / "next").mkdir()
    shutil.copy(user.home / "bot" / "scripts" / "demo.lua", user.home / "bot" / "next" / "demo.lua")
    run = user.start("run", config=config, cwd="bot")
    said = [run.banner]
    sent = user.moonhook("send", "buy EURUSD risk=1 sl=1.0800 tp=1.0950 price=1.0850", cwd="bot")
    assert sent.returncode == 0, outcome(sent)
    until(lambda: run.get("/api/shadow"), lambda shadow: shadow["alerts"] == 1, "the shadow's run of the alert")
    for command in (("status",), ("backup", "backups/today.db"), ("check",),
                    ("replay", "--scripts", "scripts", "--alerts", "data/moonhook.db"),
                    ("replay", "--scripts", "scripts", "--compare", "next", "--alerts", "data/moonhook.db")):
        done = user.moonhook(*command, cwd="bot")
        assert done.returncode == 0, outcome(done)
        said.append(done.stdout + done.stderr)
    assert ", 1 alert, " in said[2] and "shadow: next, 1 plugin, 1 alert, 0 differ" in said[1], said
    assert not [m[0] for text in said for m in ONE_OF_PLURAL.finditer(text)], said
    assert run.interrupt() == 0
