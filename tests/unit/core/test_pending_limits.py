"""Pending orders and the account's hard limits (engine/core/limits.py): an order waiting at the
broker is no new entry when its price comes, so what a limit lets change in it, and what the
limits' messages say of it, decide what may open after the trader was told entries stop. A real
engine on the paper broker, its sandbox workers and SQLite file."""

from __future__ import annotations

import trio

from engine.domain.config import MonitorConfig

from support.engine_support import process, running, told
from support.waits import HANG


# Changes every pending order and position as the alert's comment says: its stop removed (nosl,
# unbound), widened, tightened, or its target moved.
CHANGER = """
local CHANGES = {nosl = {sl = 0}, unbound = {sl = 0}, wider = {sl = 1.06}, tighter = {sl = 1.075}, target = {tp = 1.1}}
function on_alert(a)
  local change = CHANGES[a.comment]
  if not change then return end
  for _, list in ipairs({orders.list(), positions.list()}) do
    for _, held in ipairs(list) do
      change.ticket = held.ticket
      local r = orders.modify(change)
      store.set(a.comment, r.ok and 'done' or r.error)
    end
  end
  return {handled = true}
end
"""


async def test_a_pending_order_changed_to_risk_more_than_max_risk_pct_is_refused_and_its_fill_keeps_its_stop(tmp_path):
    # Its stop removed or widened before its price came, the order filled unbounded, past the limit
    # every entry is held to: the change is measured as the entry it makes; a target moved, a stop
    # tightened, and a position's stop change, pass.
    async with running(tmp_path, {"changer": CHANGER}, max_risk_pct=1.0) as engine:
        assert (await process(engine, "buylimit EURUSD volume=0.1 price=1.08 sl=1.07"))["status"] == "done"  # 1%
        for change in ("nosl", "wider", "target", "tighter"):
            await process(engine, f"buy EURUSD price=1.085 comment={change}")
        assert {c: engine.store.get("changer", c) for c in ("nosl", "wider", "target", "tighter")} == {
            "nosl": "over engine.max_risk_pct: the entry has no stop loss, so what it can lose has no bound",
            "wider": "over engine.max_risk_pct: 0.1 lots from 1.08 lose 200.00 USD at the stop 1.06, 2.00% of the "
                     "balance 10,000.00, at most 1%",
            "target": "done", "tighter": "done"}
        await process(engine, "trend EURUSD H1 up price=1.0795")   # the order's price comes
        assert [(p["sl"], p["tp"]) for p in await engine.broker.positions()] == [(1.075, 1.1)]
        await process(engine, "buy EURUSD price=1.0795 comment=unbound")   # a position's stop change: it passes
        assert engine.store.get("changer", "unbound") == "done"
        assert [p["sl"] for p in await engine.broker.positions()] == [None]


async def test_the_limits_message_says_which_pending_orders_may_still_fill(tmp_path):
    # Told "entries are refused until tomorrow", the trader counted on no position opening, and
    # a buy limit placed in the morning filled in the afternoon: the message now names it.
    watched = MonitorConfig(interval_seconds=0.02)
    async with running(tmp_path, max_daily_loss_pct=2.0, monitor=watched) as engine:
        assert (await process(engine, "buylimit GBPUSD volume=0.1 price=1.29 sl=1.28"))["status"] == "done"
        assert (await process(engine, "buy EURUSD volume=1 price=1.1"))["status"] == "done"
        await process(engine, "closeshort EURUSD price=1.098")     # a quote: 200.00 down, 2%
        with trio.fail_after(HANG):
            while not (said := [text for kind, text in await told(engine) if text.startswith("limit reached")]):
                await trio.sleep(0.02)
        assert said[0].endswith("; open positions are left as they are, and so is 1 pending order, which still "
                                "fills when its price comes (cancel to stop that)")
        await process(engine, "trend GBPUSD H1 up price=1.2895")   # its price comes: no limit stops it
        assert sorted(p["symbol"] for p in await engine.broker.positions()) == ["EURUSD", "GBPUSD"]


async def test_a_pending_order_change_a_limit_refused_is_not_told_to_be_sent_again(tmp_path):
    # "send it once the broker takes it (the alert again)": the broker would take it, the limit
    # would refuse it again; the trader is told the limit refuses it.
    async with running(tmp_path, {"changer": CHANGER}, max_risk_pct=1.0) as engine:
        assert (await process(engine, "buylimit EURUSD volume=0.1 price=1.08 sl=1.07"))["status"] == "done"
        await process(engine, "buy EURUSD price=1.085 comment=wider")
        said = [text for kind, text in await told(engine) if text.startswith("order refused: modify")]
        assert said == ["order refused: modify EURUSD for changer: over engine.max_risk_pct: 0.1 lots from 1.08 lose "
                        "200.00 USD at the stop 1.06, 2.00% of the balance 10,000.00, at most 1%. The stops of ticket "
                        "1001 on EURUSD stay as they were: a limit of moonhook.toml refuses this change, as it would "
                        "the entry it makes"]
