"""plugins.md's way for a strategy to trade a symbol other than its alert's, through `moonhook run`
and HTTP: a change of the symbol is refused; the script places the order itself with orders.market
and returns handled = true, and the other symbol's plugins judge it in their on_order."""

from __future__ import annotations

from support.e2e_support import init

# On a EURUSD alert, trades gold: by changing the alert (refused), or by its own order (handled).
CROSS = """
plugin = {symbols = {"EURUSD"}, priority = 50}
function on_alert(a)
  if a.comment == "move" then return {symbol = "XAUUSD"} end
  if a.comment == "own" or a.comment == "big" then
    orders.market{symbol = "XAUUSD", side = "buy", volume = a.comment == "big" and 2 or 0.01}
    return {handled = true}
  end
end
"""
# The gold guard: no gold order over a lot, whoever places it; the others it marks as seen.
GOLD = """
plugin = {symbols = {"XAUUSD"}, guard = true}
function on_order(o)
  if o.volume > 1 then return false, "gold over a lot" end
  return {comment = "seen by gold"}
end
"""


def test_a_plugin_trades_another_symbol_by_its_own_order_which_that_symbols_plugins_judge(user):
    config, _ = init(user, "bot")
    scripts = user.home / "bot" / "scripts"
    (scripts / "cross.lua").write_text(CROSS)
    (scripts / "gold.lua").write_text(GOLD)
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    run.settled(run.webhook("buy XAUUSD volume=0.01 price=2000 sl=1990 id=gold-price")["id"])   # a gold quote

    def sent(comment: str) -> dict:
        return run.settled(run.webhook(f"buy EURUSD volume=0.01 price=1.1 sl=1.09 comment={comment} id={comment}")["id"])

    moved = sent("move")
    (step,) = [d for d in moved["decisions"] if d["plugin"] == "cross"]
    assert step["result"] == "error" and step["error"].startswith(
        "on_alert: cannot change the symbol (EURUSD to XAUUSD): the plugins of XAUUSD would not see it; place the "
        "order with orders.market or orders.pending and return handled = true"), step
    assert [(o["symbol"], o["plugin"]) for o in moved["outcome"]["orders"]] == [("EURUSD", "engine")]   # the alert, unmoved

    own = sent("own")
    assert own["status"] == "done" and own["outcome"]["handled_by"] == "cross", own["outcome"]
    ((order, ),) = [own["outcome"]["orders"]]   # the plugin's order alone: the engine places none for the alert
    assert (order["symbol"], order["plugin"], order["ok"], order["on_order"]) == (
        "XAUUSD", "cross", True, [{"plugin": "gold", "result": "changed", "changes": {"comment": "seen by gold"}}]), order

    big = sent("big")
    ((order, ),) = [big["outcome"]["orders"]]
    assert (order["ok"], order["error"], order["on_order"]) == (
        False, "vetoed by gold: gold over a lot", [{"plugin": "gold", "result": "vetoed", "reason": "gold over a lot"}])
    positions = run.get("/api/positions")["positions"]
    assert sorted((p["symbol"], p["plugin"], p["volume"]) for p in positions) == [
        ("EURUSD", "engine", 0.01), ("XAUUSD", "cross", 0.01), ("XAUUSD", "engine", 0.01)], positions
    assert run.interrupt() == 0
