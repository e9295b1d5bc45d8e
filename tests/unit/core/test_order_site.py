"""Where a plugin's malformed order was placed (engine/core/order_site.py), as the trades chat's advice names
it: the line of the script's call, told by the sandbox's host call, whatever the script's text around it
(a comment naming the function, a local alias, two calls of it). A real engine on the paper broker, its
sandbox workers and SQLite file."""

from __future__ import annotations

from support.engine_support import process, running, told

# Each places a malformed order (0.001 lot, below EURUSD's minimum) on the alert whose comment is its name.
SCRIPTS = {
    "noted": """-- orders.market{volume = 0.001} is refused: a comment naming the function
function on_alert(a)
  if a.comment ~= "noted" then return end
  orders.market{symbol = "EURUSD", side = "buy", volume = 0.001}
  return {handled = true}
end
""",
    "alias": """local buy = orders.market
function on_alert(a)
  if a.comment ~= "alias" then return end

  buy{symbol = "EURUSD", side = "buy", volume = 0.001}
  return {handled = true}
end
""",
    "twice": """function on_alert(a)
  if a.comment == "big" then
    orders.market{symbol = "EURUSD", side = "buy", volume = 0.01}
  elseif a.comment == "twice" then
    local ok, r = pcall(orders.market, {symbol = "EURUSD", side = "sell",
                                        volume = 0.001})
  end
  return {handled = true}
end
""",
}


async def test_a_malformed_orders_advice_names_the_line_of_the_scripts_call(tmp_path):
    async with running(tmp_path, SCRIPTS) as engine:
        for name in SCRIPTS:
            await process(engine, f"buy EURUSD volume=0.01 price=1.1 sl=1.09 comment={name}")
        said = [text for kind, text in await told(engine) if text.startswith("order refused: market")]
    sites = {text.split(" for ", 1)[1].split(":", 1)[0]: text.split("own order was malformed (", 1)[1].split(")")[0]
             for text in said}
    assert sites == {"noted": "noted.lua:4", "alias": "alias.lua:5", "twice": "twice.lua:5"}, said
