"""A trader's loss limit that breaks, through `moonhook run` and HTTP: written as a guard, its
failure refuses entries and lets the exit through; the same script without `guard = true` is
skipped and the entry goes to the broker."""

from __future__ import annotations

from support.e2e_support import init, until

# Reads the day's loss from its store; the value was written as text by an older version, so
# the comparison raises: the kind of failure a limit meets in real life.
LIMIT = """
plugin = {{guard = {guard}, priority = 5}}
function on_load() store.set("loss", "12.5 USD") end
function on_alert(a)
  local over = store.get("loss") > 100
  if over and a.side then return false, "daily loss limit" end
end
"""
ENTRY = '{"secret": "SECRET", "symbol": "EURUSD", "action": "buy", "volume": 0.1, "price": 1.085, ' \
        '"sl": 1.08, "id": "ID"}'


def test_a_broken_guard_refuses_entries_lets_exits_through_and_a_plain_plugin_is_skipped(user):
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    (scripts / "demo.lua").unlink()
    (scripts / "limit.lua").write_text(LIMIT.format(guard="false"))
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    (limit,) = run.get("/api/plugins")["plugins"]
    assert (limit["name"], limit["guard"]) == ("limit", False)

    skipped = run.settled(run.webhook(ENTRY.replace("ID", "plain-1"))["id"])
    assert skipped["status"] == "done" and len(run.get("/api/positions")["positions"]) == 1

    (scripts / "limit.lua").write_text(LIMIT.format(guard="true"))  # saved: live at once
    until(lambda: run.get("/api/plugins")["plugins"][0]["guard"], bool, "the guard version serving")
    refused = run.settled(run.webhook(ENTRY.replace("ID", "guard-1"))["id"])
    assert (refused["status"], refused["outcome"]["rejected_by"]) == ("rejected", "limit")
    assert refused["outcome"]["reason"].startswith("guard failed: on_alert: script error at limit.lua:5:")
    assert [d["result"] for d in run.get(f"/api/alerts/{refused['id']}")["decisions"]] == ["error"]
    assert len(run.get("/api/positions")["positions"]) == 1  # nothing more opened

    closed = run.settled(run.webhook("closeall id=out-1")["id"])
    assert closed["status"] == "done" and run.get("/api/positions")["positions"] == []
    (limit,) = run.get("/api/plugins")["plugins"]
    assert limit["enabled"] and limit["errors"] == 3  # each of the three alerts, the exit too: not held
    status = user.moonhook("status", "--config", "bot/moonhook.toml").stdout.splitlines()
    header = next(line for line in status if line.startswith("plugin "))
    row = next(line for line in status if line.startswith("limit "))
    assert row[header.index("guard"):].startswith("yes")
    assert run.interrupt() == 0

    # Broken while moonhook is stopped: at the start no version of it serves, so nothing would guard
    # the entries. The engine starts paused, and says why in its banner.
    (scripts / "limit.lua").write_text(LIMIT.format(guard="true").replace("end\n", "", 1))
    again = user.start("run", "--config", "bot/moonhook.toml", config=config)
    assert "moonhook: not serving limit.lua: limit.lua:" in again.banner
    assert "moonhook: PAUSED by guard: the guard limit.lua did not load" in again.banner
    held = again.settled(again.webhook(ENTRY.replace("ID", "while-broken"))["id"])
    assert held["status"] == "paused" and again.get("/api/positions")["positions"] == []
    (scripts / "limit.lua").write_text(LIMIT.format(guard="false"))  # fixed, saved: live at once
    until(lambda: again.get("/api/plugins")["plugins"], lambda rows: rows and rows[0]["state"] == "active",
          "the fixed version serving")
    assert again.client.post("/api/resume").status_code == 200
    done = again.settled(again.webhook(ENTRY.replace("ID", "after-fix"))["id"])
    assert done["status"] == "done" and len(again.get("/api/positions")["positions"]) == 1
    assert again.interrupt() == 0


def test_a_guard_gone_while_moonhook_is_stopped_starts_it_paused_until_resumed(user):
    # demo.lua, which init writes, is a guard. Deleted while moonhook is stopped (or left behind
    # when the scripts folder moved), nothing would guard the entries at the next start.
    config, _ = init(user, "bot")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    assert [p["guard"] for p in run.get("/api/plugins")["plugins"]] == [True]
    assert run.interrupt() == 0
    (user.home / "bot" / "scripts" / "demo.lua").unlink()

    again = user.start("run", "--config", "bot/moonhook.toml", config=config)
    assert "moonhook: PAUSED by guard: the guard demo.lua is not in the scripts folder" in again.banner
    held = again.settled(again.webhook(ENTRY.replace("ID", "unguarded"))["id"])
    assert held["status"] == "paused" and again.get("/api/positions")["positions"] == []
    assert again.client.post("/api/resume").status_code == 200  # the trader goes on without it
    assert again.interrupt() == 0

    third = user.start("run", "--config", "bot/moonhook.toml", config=config)
    assert "PAUSED" not in third.banner
    done = third.settled(third.webhook(ENTRY.replace("ID", "on-without"))["id"])
    assert done["status"] == "done" and len(third.get("/api/positions")["positions"]) == 1
    assert third.interrupt() == 0
