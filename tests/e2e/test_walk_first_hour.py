"""A newcomer's first hour, as the README and docs/ walk it: `moonhook init`, `run`, an alert, then
a script saved from the editor with a syntax error. The save is refused at its line, the version
before it goes on serving, and the trader is shown where: the overview's errors and `moonhook status`."""

from __future__ import annotations

from support.e2e_support import init, outcome

BROKEN = """plugin = {priority = 10, guard = true}
function on_alert(a)
  if a.sl == nil then return false, "no stop" end
  return a +
end
"""


def test_a_save_that_does_not_load_is_shown_at_its_line_while_the_last_good_version_serves(user):
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
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
    rows = {line.split()[0]: line.split()[1] for line in status.stdout.splitlines()[2:] if line.split()}
    assert rows["demo"] == "failed" and "demo.lua:5: error: " in status.stdout, outcome(status)
    assert run.interrupt() == 0
