"""Caps, through `moonhook run` and HTTP. A script that places orders in a loop by mistake: with
`engine.max_plugin_orders = 2` in moonhook.toml, one alert opens two positions, not ten, and the
plugin's error says why. The account's limits, `max_order_volume` and `max_open_positions`."""

from __future__ import annotations

from support.e2e_support import init

RUNAWAY = """
plugin = {guard = true}  -- failing, it also refuses the alert's own entry
function on_alert(a)
  for i = 1, 10 do orders.market{symbol = a.symbol, side = 'buy', volume = 0.01} end
  return {handled = true}
end
"""


def test_a_runaway_loop_of_orders_stops_at_the_configured_cap(user):
    config, _ = init(user, "bot")
    config.replace("max_plugin_orders = 20", "max_plugin_orders = 2")
    scripts = user.home / "bot" / "scripts"
    (scripts / "demo.lua").unlink()
    (scripts / "runaway.lua").write_text(RUNAWAY)
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    row = run.settled(run.webhook("buy EURUSD volume=0.1 price=1.085 sl=1.08 id=loop-1")["id"])
    assert [p["volume"] for p in run.get("/api/positions")["positions"]] == [0.01, 0.01]
    (runaway,) = run.get("/api/plugins")["plugins"]
    assert "orders.market: refused: 2 orders already placed by this plugin" in runaway["last_error"]
    assert "runaway.lua:4" in runaway["last_error"]
    assert (row["status"], row["outcome"]["rejected_by"]) == ("rejected", "runaway")
    assert run.interrupt() == 0


def test_the_accounts_limits_in_moonhook_toml_hold_a_fat_finger_and_a_third_position(user):
    config, _ = init(user, "bot")
    config.replace("# max_order_volume = 1.0", "max_order_volume = 1.0")
    config.replace("# max_open_positions = 10", "max_open_positions = 2")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)

    def alert(body: str) -> dict:
        return run.settled(run.webhook(body)["id"])

    fat = alert('{"secret": "SECRET", "symbol": "OANDA:EURUSD", "action": "buy", "units": "1000000", '
                '"price": "1.085", "sl": "1.08"}')  # 1,000,000 units typed for 10,000
    assert fat["status"] == "failed"
    assert fat["outcome"]["orders"][0]["error"] == "over engine.max_order_volume: 10 lots asked, at most 1"
    assert run.get("/api/positions")["positions"] == []
    for n, symbol in enumerate(("EURUSD", "GBPUSD", "USDJPY")):
        row = alert(f"buy {symbol} volume=0.1 price=1.2 sl=1.1 id=entry-{n}")
    assert row["outcome"]["orders"][0]["error"] == ("over engine.max_open_positions: 2 positions and pending "
                                                   "orders are open, at most 2")
    assert alert("closelong EURUSD id=exit")["status"] == "done"
    assert [p["symbol"] for p in run.get("/api/positions")["positions"]] == ["GBPUSD"]
    assert run.interrupt() == 0
