"""The example strategies of examples/strategies/ run through a real engine: the helpers their
tests share (tests/project/test_examples.py, test_examples_live.py)."""

from __future__ import annotations

import calendar
import re
import time


from support.engine_support import running as _running
from support.paths import ROOT

EXAMPLES = ROOT / "examples"


def running(tmp, scripts, **settings):
    # These tests repeat identical alerts on purpose: no deduplication by content.
    return _running(tmp, scripts, dedup_window=0, **settings)


def example(*names: str) -> dict[str, str]:
    return {n: (EXAMPLES / "strategies" / f"{n}.lua").read_text() for n in names}


# Another plugin placing an entry of its own on an alert commented "add"; it keeps the answer.
ADDER = {"adder": """plugin = {priority = 200}
                     function on_alert(a)
                       if a.comment == 'add' then
                         local r = orders.market{symbol = a.symbol, side = 'buy', volume = 0.1}
                         store.set('r', r.ok and 'placed' or r.error)
                       end
                     end"""}


def utc(text: str) -> float:
    return float(calendar.timegm(time.strptime(text, "%Y-%m-%d %H:%M")))


# Counts the example's timer runs in its store, for the test to know one has looked.
TICKS = """
local check = on_timer
function on_timer()
  check()
  store.set("ticks", (store.get("ticks") or 0) + 1)
end
"""


# What TradingView puts for each placeholder of examples/tradingview/'s templates.
PLACEHOLDERS = {"ticker": "EURUSD", "exchange": "OANDA", "close": "1.08512", "interval": "60",
                "timenow": "2026-11-24T10:00:00Z", "strategy.order.action": "buy",
                "strategy.order.contracts": "10000", "strategy.order.id": "Long", "strategy.order.comment": "entry",
                "strategy.market_position": "long", "strategy.market_position_size": "10000",
                "plot_0": "1.0800", "plot_1": "1.0950",
                "low": "1.0840", "high": "1.0870"}


def fill(template: str) -> str:
    return re.sub(r"\{\{([^}]+)\}\}", lambda m: PLACEHOLDERS[m.group(1)], template)
