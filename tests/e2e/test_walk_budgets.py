"""A trader's script over its budgets, through `moonhook run` and HTTP (plugins.md, "Budgets and
errors"): each overrun is the plugin's error, the alert going on without it, told with the budget it
ran past, [sandbox]'s defaults (2,000,000 instructions, 100 ms, 16 MB) where the plugin sets none; and
the breaker switches off a plugin whose calls go on failing."""

from __future__ import annotations

from support.e2e_support import init, until

# Its time budget at 1 s: 2,000,000 instructions of a bare loop took 65 ms of the default 100 ms, and
# more as a loaded machine's first call: which budget ended it was the machine's to say.
GREEDY = """
plugin = {symbols = {"EURUSD"}, budget = {timeout = 1}}
function on_alert(a)
  if a.comment == "spin" then while true do end end
  if a.comment == "hoard" then local t, s = {}, string.rep("x", 1e5) for i = 1, 1e9 do t[i] = s .. i end end
end
"""
# Each host call counts 0.1 ms: a loop of them ends on the 100 ms budget, whatever the machine.
WAITER = """
plugin = {symbols = {"EURUSD"}}
function on_alert(a)
  if a.comment == "calls" then while true do time.now() end end
end
"""

SPIN = "on_alert: instructions error at greedy.lua:4: instruction budget exceeded (2000000 instructions)"
# "memory budget exceeded (16 MB)", or "string.rep would exceed the memory budget of 16 MB (...)" on a
# heap the last call's garbage still holds: which, the collector's to say.
HOARD = "on_alert: memory error at greedy.lua:5: "
CALLS = "on_alert: timeout error at waiter.lua:4: time budget exceeded (0.1 s; each host call counts 0.0001 s)"


def plugin(run, name: str) -> dict:
    return next(p for p in run.get("/api/plugins")["plugins"] if p["name"] == name)


def test_each_overrun_is_the_plugins_error_told_with_the_budget_and_the_breaker_ends_it(user):
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "greedy.lua").write_text(GREEDY)
    (user.home / "bot" / "scripts" / "waiter.lua").write_text(WAITER)
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    assert plugin(run, "waiter")["budget"] == {"instructions": 2_000_000, "timeout_ms": 100.0, "memory_mb": 16.0}
    assert plugin(run, "greedy")["budget"] == {"instructions": 2_000_000, "timeout_ms": 1000.0, "memory_mb": 16.0}

    modes = [("calls", "waiter", CALLS), ("spin", "greedy", SPIN), ("hoard", "greedy", HOARD),
             ("spin", "greedy", SPIN), ("hoard", "greedy", HOARD), ("spin", "greedy", SPIN)]
    for n, (mode, name, told) in enumerate(modes):
        alert = run.settled(run.webhook(f"buy EURUSD volume=0.01 price=1.1 sl=1.09 comment={mode} id={mode}{n}")["id"])
        # Not a guard: skipped, and the entry goes on without it.
        assert alert["status"] == "done" and alert["outcome"]["orders"][0]["ok"], alert["outcome"]
        (step,) = [d for d in alert["decisions"] if d["plugin"] == name]
        assert (step["result"], step["error"][:len(told)]) == ("error", told), step
        if told == HOARD:
            assert "memory budget" in step["error"] and "16 MB" in step["error"], step
        else:
            assert step["error"] == told, step
        logged = f"WARNING moonhook.hooks: plugin {name}: on_alert skipped: {step['error']}"
        until(run.text, lambda text: logged in text, "the overrun in the log")

    # engine.breaker (5) calls in a row that overran: switched off, and said.
    off = until(lambda: plugin(run, "greedy"), lambda p: p["state"] == "disabled", "the breaker")
    # Counted as calls stopped past their budget (http-api.md's timeouts), the memory's too; not as errors.
    assert (off["disabled_by"], off["last_error"], off["timeouts"], off["errors"]) == ("breaker", SPIN, 5, 0), off
    assert off["switched"]["reason"] == f"5 failures in a row; last: {SPIN}", off
    assert plugin(run, "waiter")["state"] == "active"   # one failure: still called
    after = run.settled(run.webhook("buy EURUSD volume=0.01 price=1.1 sl=1.09 comment=spin id=after")["id"])
    assert [d["plugin"] for d in after["decisions"]] == ["demo", "waiter"], after["decisions"]
    assert run.interrupt() == 0
