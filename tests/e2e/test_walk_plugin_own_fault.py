"""A plugin's own order malformed (a stop it computed on the wrong side of the price, a volume below the
symbol's minimum), through `moonhook run` on paper: the trades chat's advice says the script is at fault and
where (the plugin's file, and the line where the script calls that order function once), not a broker's
refusal's "send it once the broker takes it", which the alert sent again would meet just the same."""

from __future__ import annotations

from support.e2e_support import init, until

TRAIL = """
plugin = {symbols = {"EURUSD"}, priority = 50}
function on_alert(a)
  if a.comment ~= "trail" and a.comment ~= "tiny" then return end
  if a.comment == "tiny" then
    orders.market{symbol = "EURUSD", side = "buy", volume = 0.001}
    return {handled = true}
  end
  for _, p in ipairs(positions.list("EURUSD")) do
    orders.modify{ticket = p.ticket, sl = p.price_open + 0.01}
  end
  return {handled = true}
end
"""


def trades_chat(run) -> list[str]:
    """What the trades chat was told by this run (the log carries each message)."""
    return [line.split("[trades] ", 1)[1] for line in run.text().splitlines() if "[trades] " in line]


def test_a_plugins_own_malformed_order_is_told_as_the_scripts_fault_at_its_line(user):
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "trail.lua").write_text(TRAIL)
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    opened = run.settled(run.webhook("buy EURUSD volume=0.01 price=1.1 sl=1.09 id=open")["id"])
    assert opened["status"] == "done", opened
    moved = run.settled(run.webhook("buy EURUSD volume=0.01 price=1.1 sl=1.09 comment=trail id=trail")["id"])
    (order,) = moved["outcome"]["orders"]
    assert order["kind"] == "modify" and not order["ok"] and "stop loss must be below" in order["error"], order
    tiny = run.settled(run.webhook("buy EURUSD volume=0.01 price=1.1 sl=1.09 comment=tiny id=tiny")["id"])
    assert "below EURUSD's minimum" in tiny["outcome"]["orders"][0]["error"], tiny
    told = until(lambda: trades_chat(run), lambda t: len([x for x in t if x.startswith("order refused")]) >= 2,
                 "the refusals told")
    (modify,) = [t for t in told if t.startswith("order refused: modify")]
    assert "send it once the broker takes it" not in modify, modify
    assert modify.endswith("trail's own order was malformed (trail.lua:10): fix the script; sent again as it is, "
                           "the alert again included, it is refused the same"), modify
    (market,) = [t for t in told if t.startswith("order refused: market")]
    assert market.endswith("trail's own order was malformed (trail.lua:6): fix the script; sent again as it is, "
                           "the alert again included, it is refused the same"), market
    assert run.interrupt() == 0
