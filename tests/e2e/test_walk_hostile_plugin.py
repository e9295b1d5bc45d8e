"""A hostile or careless plugin through `moonhook run` and HTTP: what its script does ends in
its own error, never in the engine's end or in the loss of the plugins beside it."""

from __future__ import annotations

from support.e2e_support import init, until

# A plugin table's budget that is not one (math.huge, -1) raised ValueError, or math.huge made an
# integer OverflowError, out of the loader, which ended `moonhook run`: a save while it ran, or its start.
HUGE = """
plugin = {budget = {KEY = math.huge}}
function on_alert(a) return {comment = 'huge'} end
"""


def plugin(run, name: str) -> dict | None:
    return next((p for p in run.get("/api/plugins")["plugins"] if p["name"] == name), None)


def test_a_budget_of_math_huge_is_refused_as_the_plugins_error_saved_or_at_a_start(user):
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    (scripts / "huge.lua").write_text(HUGE.replace("KEY", "memory_mb"))  # saved while moonhook runs
    failed = until(lambda: plugin(run, "huge"), lambda p: p is not None and p["state"] == "failed",
                   "the save refused")
    assert "plugin.budget.memory_mb: must be a positive number, got inf" in failed["last_error"], failed
    served = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=after-save")["id"])
    assert served["status"] == "done", served["outcome"]
    assert run.interrupt() == 0

    (scripts / "huge.lua").write_text(HUGE.replace("KEY", "instructions"))
    (scripts / "negative.lua").write_text(HUGE.replace("KEY", "timeout").replace("math.huge", "-1"))
    again = user.start("run", "--config", "bot/moonhook.toml", config=config)
    assert "not serving huge.lua: huge.lua:2: error: plugin.budget.instructions: must be a positive number, " \
           "got inf" in again.banner
    assert "not serving negative.lua: negative.lua:2: error: plugin.budget.timeout: must be a positive number, " \
           "got -1" in again.banner
    served = again.settled(again.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 id=at-start")["id"])
    assert served["status"] == "done", served["outcome"]
    assert again.interrupt() == 0


# Its tp over the tick size overflowed on the tick grid: OverflowError, "internal error; see the
# engine's log", for an alert, or for a plugin's risk.lot_size, instead of an answer.
SIZER = """
function on_alert(a)
  if a.comment == 'size' then
    return {comment = table.concat({risk.lot_size{symbol = 'EURUSD', risk_pct = 1, sl = 1e308}}, ' | ')}
  end
end
"""


def test_prices_past_the_tick_grid_are_answered_not_internal_errors(user):
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "sizer.lua").write_text(SIZER)
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    # Such a tp is refused at the webhook now (past 1e15, alerts/parse.py), the paper broker's
    # orders.* refuse it too (unit: test_paper_extreme_values.py): answered, naming it.
    far = run.client.post(f"/webhook/{config.values['server']['secret']}",
                          content=b"buy EURUSD volume=0.1 price=1.1 sl=1.09 tp=1e308 id=far-tp")
    assert far.status_code == 400 and "tp: must be at most 1e15" in far.text, far.text
    sized = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.1 sl=1.09 comment=size id=sized")["id"])
    (step,) = [d for d in run.get(f"/api/alerts/{sized['id']}")["decisions"] if d["plugin"] == "sizer"]
    assert step["changes"]["comment"].startswith("0.0 | risking 100.00 allows 0.0000 lots, below the minimum"), step
    assert run.interrupt() == 0
