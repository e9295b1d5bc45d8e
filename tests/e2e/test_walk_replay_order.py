"""`moonhook replay` of a script that places its orders while walking a table with `pairs`: the
same input gives the same report, byte for byte, its orders placed in the order docs/plugins.md
gives (Lua's own order of string keys is one of each Lua state's, another in each run)."""

from __future__ import annotations

import json

from support.e2e_support import outcome
from test_walk_replay import HOUR, _alerts, _project

# One order per leg, in the order pairs walks LEGS: by name, so alpha's 0.1 lot first.
LEGS = """plugin = {}
local LEGS = {hotel = 0.8, alpha = 0.1, golf = 0.7, bravo = 0.2, foxtrot = 0.6, charlie = 0.3,
              echo = 0.5, delta = 0.4}
function on_alert(a)
  if not a.side then return nil end
  for name, volume in pairs(LEGS) do
    orders.market{symbol = a.symbol, side = a.side, volume = volume, sl = a.sl, comment = name}
  end
  return {handled = true}
end
"""


def test_a_script_walking_a_table_with_pairs_replays_the_same_twice_its_orders_in_key_order(user):
    _project(user.home, {"legs.lua": LEGS})
    _alerts(user.home, [(0, "buy EURUSD price=1.0805 sl=1.0700"), (HOUR, "close EURUSD price=1.0825")])
    args = ("replay", "--scripts", "scripts", "--alerts", "alerts.jsonl", "--json")
    one = user.moonhook(*args, "--report", "one.html")
    assert one.returncode == 0, outcome(one)
    two = user.moonhook(*args, "--report", "two.html")
    assert two.stdout == one.stdout
    assert (user.home / "one.html").read_bytes() == (user.home / "two.html").read_bytes()
    trades = json.loads(one.stdout)["closed_trades"]
    assert [t["volume"] for t in trades] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
