"""Saving a script while money moves: a trader's editor saves a plugin while alerts arrive over
HTTP and orders go to the broker, on a real `moonhook run` with real file-system events. Each
alert is decided by one version of each plugin, for all its hooks, and says which; a save that
does not load keeps the last good version serving and says so where the trader looks."""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from contextlib import closing
from pathlib import Path

from support.e2e_support import init, mt5_user, shadow_user, until
from support.mt5_standin import Terminal

# Places two orders from its on_alert: the second goes to the broker after the first is answered.
MAKER = """plugin = {priority = 10}
function on_alert(a)
  for _ = 1, 2 do orders.market{symbol = a.symbol, side = "buy", volume = 0.1, sl = 1.07} end
  return {handled = true}
end
"""
JUDGE = 'plugin = {{priority = 20}}\nfunction on_order(o) return {{comment = "{}"}} end\n'


def version(text: str) -> str:
    """A text's version as the API shows it: the start of its hash, as /api/scripts' version begins."""
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def saved(path: Path, text: str) -> None:
    """An editor's atomic save (VS Code's, vim's): a temporary file beside it, renamed over it."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def versions(run) -> dict[str, str]:
    return {p["name"]: p.get("version") for p in run.get("/api/plugins")["plugins"]}


def test_an_alert_in_flight_keeps_the_versions_it_began_on_for_all_its_hooks(user, tmp_path):
    terminal = Terminal(tmp_path / "terminal.db")
    config = mt5_user(user, tmp_path / "terminal.db")
    config.append("timeout = 600\n")   # [mt5]: the held send below is never given up on
    scripts = user.home / "bot" / "scripts"
    (scripts / "demo.lua").unlink()
    (scripts / "maker.lua").write_text(MAKER, encoding="utf-8")
    saved(scripts / "judge.lua", JUDGE.format("v1"))
    v1, v2 = version(JUDGE.format("v1")), version(JUDGE.format("v2"))
    run = user.start("run", config=config, cwd="bot")

    terminal.script("order_send", "hang")
    first = run.webhook("buy EURUSD volume=0.1 sl=1.07 id=mid-save")["id"]
    until(lambda: terminal.hung("order_send"), lambda n: n == 1, "the first order held at the terminal")
    saved(scripts / "judge.lua", JUDGE.format("v2"))   # while the alert is between its two orders
    until(lambda: versions(run).get("judge"), lambda v: v == v2, "judge.lua's new version live")
    terminal.release("order_send")

    row = run.once(first, lambda r: r["status"] == "done" and len(r["orders"]) == 2, "the alert done")
    assert [o["request"]["comment"] for o in row["orders"]] == ["v1", "v1"], row["orders"]
    assert row["outcome"]["versions"] == {"maker": version(MAKER), "judge": v1}, row["outcome"]

    second = run.webhook("buy EURUSD volume=0.1 sl=1.07 id=after-save")["id"]
    row = run.once(second, lambda r: r["status"] == "done" and len(r["orders"]) == 2, "the next alert done")
    assert [o["request"]["comment"] for o in row["orders"]] == ["v2", "v2"], row["orders"]
    assert row["outcome"]["versions"]["judge"] == v2
    assert run.interrupt() == 0


GATE = 'plugin = {{priority = 10}}\nfunction on_alert(a) return false, "{}" end\n'
BROKEN = 'plugin = {priority = 10}\nfunction on_alert(a) return false, "v2" \n'   # no `end`


def test_a_save_that_does_not_load_keeps_the_last_good_version_and_says_so_where_the_trader_looks(user):
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    saved(scripts / "gate.lua", GATE.format("v1"))
    run = user.start("run", config=config, cwd="bot")
    health = lambda: run.get("/health")   # noqa: E731

    saved(scripts / "gate.lua", BROKEN)
    gate = until(lambda: {p["name"]: p for p in run.get("/api/plugins")["plugins"]}["gate"],
                 lambda p: p["state"] == "failed", "the broken save refused")
    assert gate["version"] == version(GATE.format("v1")) and "gate.lua:" in gate["last_error"], gate
    said = health()
    assert said["status"] == "ok" and said["load_errors"] == {}, said   # a version serves: nothing degraded
    assert list(said["reload_errors"]) == ["gate.lua"] and said["reload_errors"]["gate.lua"] == gate["last_error"]
    assert "reload of gate.lua failed: gate.lua:" in run.text()
    assert "[errors] reload of gate.lua failed" in run.text()   # what the errors chat is sent
    refused = run.webhook("buy EURUSD volume=0.1 sl=1.07 id=while-broken")["id"]
    row = run.settled(refused)
    assert (row["status"], row["outcome"]["reason"]) == ("rejected", "v1"), row
    assert row["outcome"]["versions"]["gate"] == version(GATE.format("v1"))

    saved(scripts / "gate.lua", GATE.format("v3"))
    until(lambda: health()["reload_errors"], lambda errors: errors == {}, "the good save taking over")
    row = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=fixed")["id"])
    assert (row["outcome"]["reason"], row["outcome"]["versions"]["gate"]) == ("v3", version(GATE.format("v3")))
    assert run.interrupt() == 0


KEEPER = """plugin = {priority = 20}
function on_alert(a)
  orders.market{symbol = a.symbol, side = "buy", volume = 0.1, sl = 1.07}
  orders.pending{symbol = a.symbol, side = "buy", type = "limit", price = 1.05, volume = 0.1, sl = 1.04}
  store.set("entries", (store.get("entries") or 0) + 1)
  return {handled = true}
end
"""


def test_a_script_deleted_with_positions_and_orders_open_says_what_it_leaves_behind(user):
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    saved(scripts / "keeper.lua", KEEPER)
    run = user.start("run", config=config, cwd="bot")
    row = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 price=1.085 id=keeper-in")["id"])
    assert row["status"] == "done" and len(row["orders"]) == 2, row
    position = run.get("/api/positions")["positions"][0]
    pending = run.get("/api/orders")["open"][0]

    (scripts / "keeper.lua").unlink()
    told = until(run.text, lambda t: "keeper.lua deleted, leaves" in t, "what the deleted script leaves said")
    line = next(line for line in told.splitlines() if "keeper.lua deleted, leaves" in line)
    assert f"1 open position ({position['ticket']})" in line and f"1 pending order ({pending['ticket']})" in line
    assert "1 key in its store" in line and "[admin] plugin keeper" in told, line
    assert [p["plugin"] for p in run.get("/api/positions")["positions"]] == ["keeper"]   # left at the broker

    saved(scripts / "keeper.lua", KEEPER)   # put back: its store is where it was
    until(lambda: versions(run).get("keeper"), lambda v: v == version(KEEPER), "keeper.lua put back")
    row = run.settled(run.webhook("buy GBPUSD volume=0.1 sl=1.2 price=1.25 id=keeper-back")["id"])
    assert row["outcome"]["versions"]["keeper"] == version(KEEPER)
    with closing(sqlite3.connect(user.home / "bot" / "data" / "moonhook.db")) as db:
        (kept,) = db.execute("SELECT value FROM store WHERE plugin = 'keeper' AND key = 'entries'").fetchone()
    assert json.loads(kept) == ["v", [2]]   # the codec's 2: counted on from the first version's 1
    assert run.interrupt() == 0


def test_a_script_linked_from_another_folder_reloads_when_saved_where_it_is(user):
    config, _ = init(user, "bot")
    source = user.home / "strategies"   # the trader's own repository, linked into scripts/
    source.mkdir()
    saved(source / "gate.lua", GATE.format("v1"))
    (user.home / "bot" / "scripts" / "gate.lua").symlink_to(source / "gate.lua")
    run = user.start("run", config=config, cwd="bot")
    assert versions(run)["gate"] == version(GATE.format("v1"))

    with (source / "gate.lua").open("w", encoding="utf-8") as f:   # saved in place, where it is
        f.write(GATE.format("v2"))
    until(lambda: versions(run).get("gate"), lambda v: v == version(GATE.format("v2")), "the linked save live")
    saved(source / "gate.lua", GATE.format("v3"))                   # an atomic save there
    until(lambda: versions(run).get("gate"), lambda v: v == version(GATE.format("v3")), "the renamed save live")
    row = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=linked")["id"])
    assert row["outcome"]["reason"] == "v3", row
    assert run.interrupt() == 0


def test_the_shadow_folder_reloads_refuses_and_forgets_as_the_live_one_and_never_trades_live(user):
    live, nxt = GATE.format("live"), KEEPER
    config = shadow_user(user, live, nxt)
    shadow_dir = user.home / "bot" / "scripts-next"
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    shadow_versions = lambda: {p["name"]: p["version"] for p in run.get("/api/shadow")["plugins"]}  # noqa: E731

    first = run.webhook("buy EURUSD volume=0.1 sl=1.07 price=1.085 id=shadow-1")["id"]
    record = until(lambda: run.get(f"/api/alerts/{first}")["shadow"], bool, "the shadow's record")
    assert record["outcome"]["versions"] == {"gate": version(KEEPER)}, record
    assert run.get("/api/shadow")["account"]["positions"] == 1

    saved(shadow_dir / "gate.lua", BROKEN)   # refused: the version before goes on in the shadow
    until(lambda: run.get("/api/shadow")["plugins"][0]["state"], lambda s: s == "failed", "the shadow's refusal")
    assert shadow_versions() == {"gate": version(KEEPER)} and run.get("/health")["status"] == "ok"
    assert "shadow: reload of gate.lua failed" in run.text() and "[errors] reload of gate.lua" not in run.text()

    (shadow_dir / "gate.lua").unlink()       # with its shadow position and pending order open
    told = until(run.text, lambda t: "gate.lua deleted, leaves" in t, "what the shadow's script leaves")
    line = next(line for line in told.splitlines() if "gate.lua deleted, leaves" in line)
    assert "shadow: plugin gate" in line and "1 open position" in line and "1 pending order" in line, line
    assert "[admin] plugin gate" not in told   # nothing of the shadow reaches Telegram
    # The live account: the live gate rejected the alert, and nothing of the shadow's reached it.
    assert run.get("/api/positions")["positions"] == [] and run.get("/api/orders")["open"] == []
    assert run.interrupt() == 0


def _held(pid: int) -> tuple[int, int]:
    """The engine's open file descriptors, and its sandbox workers (its child processes)."""
    children = [p for p in os.listdir("/proc") if p.isdigit() and _parent(p) == pid]
    return len(os.listdir(f"/proc/{pid}/fd")), len(children)


def _parent(pid: str) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[1])


def test_a_flood_of_saves_while_alerts_trade_leaks_no_worker_nor_descriptor_and_the_last_save_wins(user):
    text = 'plugin = {{priority = 10}}\nfunction on_alert(a) return {{comment = "k{}"}} end\n'.format
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    saved(scripts / "gate.lua", text(0))
    run = user.start("run", config=config, cwd="bot")
    run.settled(run.webhook("buy EURUSD volume=0.01 sl=1.07 price=1.085 id=warm")["id"])
    before = _held(run.process.pid)

    alerts = []
    for i in range(1, 101):   # each save live before the next: a hundred versions in and out of service
        saved(scripts / "gate.lua", text(i))
        until(lambda: versions(run).get("gate"), lambda v, i=i: v == version(text(i)), f"save {i} live")
        if i % 10 == 0:
            alerts.append(run.webhook(f"buy EURUSD volume=0.01 sl=1.07 price=1.085 id=flood-{i}")["id"])
    for i in range(101, 201):   # an editor autosaving each keystroke, in place, nothing waited for
        with (scripts / "gate.lua").open("w", encoding="utf-8") as f:
            f.write(text(i))
        if i % 10 == 0:
            alerts.append(run.webhook(f"buy EURUSD volume=0.01 sl=1.07 price=1.085 id=flood-{i}")["id"])
    until(lambda: versions(run).get("gate"), lambda v: v == version(text(200)), "the last keystroke's save live")
    for alert_id in alerts:
        row = run.settled(alert_id)
        comment = row["orders"][0]["request"]["comment"]
        assert row["status"] == "done" and version(text(int(comment[1:]))) == row["outcome"]["versions"]["gate"], row
    row = run.settled(run.webhook("buy EURUSD volume=0.01 sl=1.07 price=1.085 id=after-flood")["id"])
    assert row["orders"][0]["request"]["comment"] == "k200"
    assert until(lambda: _held(run.process.pid), lambda now: now == before, "descriptors and workers as before")
    assert run.interrupt() == 0


def test_a_save_in_several_writes_goes_live_only_whole_and_the_last_write_wins(user):
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    saved(scripts / "gate.lua", GATE.format("v1"))
    run = user.start("run", config=config, cwd="bot")
    whole = GATE.format("v2") + 'function on_order(o) return false, "v2 vetoes" end\n'
    with (scripts / "gate.lua").open("w", encoding="utf-8") as f:   # written in place, held open between parts
        f.write(GATE.format("h1"))                                  # a first part that would load on its own
        f.flush()
        os.fsync(f.fileno())
        saved(scripts / "marker.lua", "-- a save after the first part\n")   # seen: so was anything before it
        until(lambda: versions(run), lambda v: "marker" in v, "the save after the first part")
        assert versions(run)["gate"] == version(GATE.format("v1"))
        row = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=half-written")["id"])
        assert row["outcome"]["reason"] == "v1", row
        f.write('function on_order(o) return false, "v2 vetoes" end\n')
        f.seek(0)
        f.write(GATE.format("v2"))   # the last write, over the first part: the whole goes live
    until(lambda: versions(run).get("gate"), lambda v: v == version(whole), "the whole save live")
    assert run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=whole")["id"])["outcome"]["reason"] == "v2"
    assert run.interrupt() == 0


NAMED = 'plugin = {{name = "gate", priority = 10}}\nfunction on_alert(a) return false, "{}" end\n'


def test_a_rename_and_the_dashboards_saves_while_alerts_arrive_leave_no_alert_without_the_plugin(user):
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    saved(scripts / "gate.lua", NAMED.format("first"))
    run = user.start("run", config=config, cwd="bot")

    decided = [run.webhook(f"buy EURUSD volume=0.1 sl=1.07 id=around-rename-{i}")["id"] for i in range(3)]
    os.rename(scripts / "gate.lua", scripts / "gate-v2.lua")    # sets plugin.name: replaced without a gap
    decided += [run.webhook(f"buy EURUSD volume=0.1 sl=1.07 id=around-rename-{i}")["id"] for i in range(3, 6)]
    until(lambda: {p["name"]: p["file"] for p in run.get("/api/plugins")["plugins"]}.get("gate"),
          lambda file: file == "gate-v2.lua", "the renamed file serving")
    for alert_id in decided:
        row = run.settled(alert_id)
        assert (row["status"], row["outcome"]["reason"]) == ("rejected", "first"), row
    assert "gate-v2.lua deleted" not in run.text() and "gate.lua deleted, leaves" not in run.text()

    opened = run.get("/api/scripts/gate-v2.lua")
    broken = run.client.put("/api/scripts/gate-v2.lua", content=BROKEN.encode(),
                            headers={"If-Match": f'"{opened["version"]}"'}).json()
    assert (broken["loaded"], broken["serving"]) == (False, "gate"), broken
    assert run.get("/health")["reload_errors"] == {"gate-v2.lua": broken["error"]}
    row = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=after-broken-put")["id"])
    assert row["outcome"]["reason"] == "first" and row["outcome"]["versions"]["gate"] == opened["version"][:12]
    good = run.client.put("/api/scripts/gate-v2.lua", content=NAMED.format("put").encode(),
                          headers={"If-Match": f'"{broken["version"]}"'}).json()
    assert good["loaded"] and run.get("/health")["reload_errors"] == {}, good
    row = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=after-good-put")["id"])
    assert (row["outcome"]["reason"], row["outcome"]["versions"]["gate"]) == ("put", good["version"][:12])
    assert run.interrupt() == 0


def test_a_save_seen_as_the_next_one_is_being_written_is_not_loaded_half_written(user):
    # An editor saving each keystroke in place: a save's close is seen as the next save has begun, the
    # file cut to its first part. That part went live ("plugin gate reloaded from gate.lua (no hooks)"),
    # and an alert traded without the strategy's say.
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    saved(scripts / "gate.lua", GATE.format("v1"))
    run = user.start("run", config=config, cwd="bot")
    whole = GATE.format("v2") + "-- the rest of the second save\n"
    with (scripts / "gate.lua").open("w", encoding="utf-8") as writer:   # the next save, begun
        writer.write(GATE.format("h1"))
        writer.flush()
        with (scripts / "gate.lua").open("a", encoding="utf-8"):          # a close seen meanwhile
            pass
        saved(scripts / "marker.lua", "-- a save after that close\n")     # seen: so was the close before it
        until(lambda: versions(run), lambda v: "marker" in v, "the save after the close")
        assert versions(run)["gate"] == version(GATE.format("v1"))
        row = run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=mid-keystroke")["id"])
        assert row["outcome"]["reason"] == "v1", row
        writer.seek(0)
        writer.write(whole)
    until(lambda: versions(run).get("gate"), lambda v: v == version(whole), "the whole save live")
    assert "plugin file gate.lua: being written" in run.text()
    assert run.settled(run.webhook("buy EURUSD volume=0.1 sl=1.07 id=whole-save")["id"])["outcome"]["reason"] == "v2"
    assert run.interrupt() == 0
