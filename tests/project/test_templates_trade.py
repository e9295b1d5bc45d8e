"""The TradingView templates of examples/tradingview/, filled as TradingView fills them, sent to
an engine serving the example strategy `moonhook init` writes (demo.lua, a guard refusing entries
without a stop): each entry template opens its position, as the README's and init's do."""

from __future__ import annotations

import pytest

from engine.app.scaffold import EXAMPLE_SCRIPT

from support.engine_support import process
from support.examples_support import EXAMPLES, fill, running

TEMPLATES = EXAMPLES / "tradingview"
# The entries of commands.txt: its lines whose command opens a position (a strategy's order fills as a buy).
ENTRIES = [line for line in (TEMPLATES / "commands.txt").read_text().splitlines()
           if line.split(" ")[0].split(",")[0] in ("buy", "sell", "buylimit", "sellstop", "{{strategy.order.action}}")]


@pytest.mark.parametrize("body", [(TEMPLATES / "strategy.json").read_text(),
                                  (TEMPLATES / "risk_entry.json").read_text(), *ENTRIES])
async def test_each_entry_template_opens_past_the_example_strategy(tmp_path, body):
    """strategy.json and commands.txt's strategy line carried no stop: pasted into TradingView as
    examples/README.md says, with demo.lua serving, every entry of the strategy was refused (and
    a reversal left the account flat where the strategy was short)."""
    async with running(tmp_path, {"demo": EXAMPLE_SCRIPT}, max_alert_age=0) as engine:   # the fill's timenow is old
        row = await process(engine, fill(body))
    assert row["status"] == "done", row["outcome"]
    assert [o["ok"] for o in row["outcome"]["orders"]] == [True]
