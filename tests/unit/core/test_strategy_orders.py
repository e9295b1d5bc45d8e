"""A Pine strategy's orders through a real engine on the paper broker, sent as the README's
template has TradingView fill them in: an entry, a part taken off, a reversal, an exit. The
account follows the strategy's position (domain/alerts/strategy.py, core/execution.py)."""

from __future__ import annotations

import json

from engine.core.reports import describe_rejection
from engine.domain.alerts import Alert
from engine.domain.config.paper import PaperConfig

from support.engine_support import process, running

# The filters' rule: entries need a stop; exits always pass.
STOP_FILTER = """
plugin = {guard = true}
function on_alert(a)
  if a.side and not a.sl then return false, "entries need a stop loss" end
end
"""


def order(action: str, contracts: int, position: str, size: int, n: int, **more) -> str:
    return json.dumps({"symbol": "EURUSD", "action": action, "units": str(contracts), "price": "1.1",
                       "position": position, "position_size": str(size), "id": f"Long-{n}", **more})


async def test_the_account_follows_a_strategy_through_entry_part_exit_reversal_and_exit(tmp_path):
    async with running(tmp_path, {"stops": STOP_FILTER}) as engine:
        async def book() -> list[tuple[str, float]]:
            return [(p["side"], p["volume"]) for p in await engine.broker.positions("EURUSD")]

        entry = await process(engine, order("buy", 30000, "long", 30000, 1, sl="1.09"))
        assert entry["status"] == "done" and await book() == [("buy", 0.3)]
        (ticket,) = [p["ticket"] for p in await engine.broker.positions()]

        part = await process(engine, order("sell", 10000, "long", 20000, 2))      # a take-profit of a third
        assert part["status"] == "done", part
        assert part["alert"]["action"] == "closelong" and await book() == [("buy", 0.2)]
        assert [p["ticket"] for p in await engine.broker.positions()] == [ticket]

        reversal = await process(engine, order("sell", 30000, "short", 10000, 3, sl="1.11"))
        assert reversal["status"] == "done", reversal
        assert [o["client_id"] for o in reversal["outcome"]["orders"]] == ["a3-engine-close-EURUSD", "a3-engine-open"]
        assert await book() == [("sell", 0.1)]

        exit_ = await process(engine, order("buy", 10000, "flat", 0, 4))           # no stop: an exit needs none
        assert (exit_["status"], exit_["alert"]["action"]) == ("done", "closeshort")
        assert await book() == []


async def test_an_exit_to_flat_closes_every_lot_whatever_its_units(tmp_path):
    # A partial exit of 4,999 units closes 0.04 lots (rounded down): 0.11 are held where the
    # strategy holds 10,001 units. Its exit to flat says 10,001 units (0.10 lots): the account
    # must still end flat, not with 0.01 lots and no alert left to close them.
    async with running(tmp_path) as engine:
        await process(engine, order("buy", 15000, "long", 15000, 1))
        await process(engine, order("sell", 4999, "long", 10001, 2))
        assert [p["volume"] for p in await engine.broker.positions()] == [0.11]
        exit_ = await process(engine, order("sell", 10001, "flat", 0, 3))
        assert (exit_["status"], exit_["alert"]["action"]) == ("done", "closelong")
        assert await engine.broker.positions() == []


async def test_a_reversal_sized_by_risk_risks_its_share_of_the_balance_after_its_close(tmp_path):
    async with running(tmp_path, paper=PaperConfig(spread_points=20)) as engine:
        await process(engine, "sell EURUSD volume=1 price=1.1")                     # a short of 1 lot
        row = await process(engine, "buy EURUSD risk=1 sl_pips=20 price=1.13 position=long")
        assert row["status"] == "done", row
        balance = (await engine.broker.account())["balance"]                       # 10,000 less the close's loss
        (p,) = await engine.broker.positions()
        at_stop = (p["price_open"] - p["sl"]) * 100_000 * p["volume"]
        assert at_stop / balance * 100 <= 1.0 + 1e-9    # was 1.42%: sized on the 10,000 before the close
        # The close at the ask 1.1302 loses 3,020: 1% of 6,980 is 69.80, at 220 USD a lot (the stop
        # 20 pips under the alert's 1.13, 22 under the ask the entry fills at): 0.31 lots, not 0.45.
        assert (balance, p["volume"]) == (6_980.0, 0.31)


async def test_a_refused_reversal_still_leaves_the_position_the_strategy_left(tmp_path):
    async with running(tmp_path, {"stops": STOP_FILTER}) as engine:
        await process(engine, order("buy", 10000, "long", 10000, 1, sl="1.09"))
        refused = await process(engine, order("sell", 20000, "short", 10000, 2))   # the short has no stop
        assert (refused["status"], refused["outcome"]["rejected_by"]) == ("rejected", "stops")
        assert [o["client_id"] for o in refused["outcome"]["orders"]] == ["a2-engine-close-EURUSD"]
        note = "the buy position on EURUSD was closed all the same: the strategy is short now"
        assert refused["outcome"]["note"] == note
        assert await engine.broker.positions() == []  # out of the long, not into the short
        told = describe_rejection(refused["id"], Alert.from_plain(refused["alert"]), refused["outcome"])
        assert told == ("alert 2 (sell EURUSD) rejected by stops: entries need a stop loss; the buy position on EURUSD "
                        "was closed all the same: the strategy is short now")


# Refuses the close of part of a position: the crash that would stop a plan between its closes.
HALF_A_PLAN = """
function on_order(o)
  if o.kind == 'close' and o.volume then return false, 'the engine stopped here' end
end
"""


async def test_a_pyramided_strategy_takes_part_off_its_oldest_positions_and_a_restart_closes_no_more(tmp_path):
    async def book(engine) -> list[float]:
        return [p["volume"] for p in await engine.broker.positions("EURUSD")]

    async with running(tmp_path, {"halt": HALF_A_PLAN}) as engine:
        for n, (units, size) in enumerate([(10000, 10000), (10000, 20000), (20000, 40000)], start=1):
            assert (await process(engine, order("buy", units, "long", size, n)))["status"] == "done"
        oldest = [p["ticket"] for p in await engine.broker.positions("EURUSD")]
        part = await process(engine, order("sell", 15000, "long", 25000, 4))  # 10,000 off the first, 5,000 the second
        assert [o["client_id"] for o in part["outcome"]["orders"]] == [f"a4-engine-close-{oldest[0]}",
                                                                       f"a4-engine-close-{oldest[1]}"]
        assert await book(engine) == [0.1, 0.2]  # the first closed; the plan stopped before the second
        engine.journal.set_status(part["id"], "received")  # as if the engine died there
    (tmp_path / "scripts" / "halt.lua").unlink()
    async with running(tmp_path) as engine:
        await engine.drain()
        again = engine.journal.get(part["id"])
        assert again["status"] == "done", again
        assert [o.get("duplicate", False) for o in again["outcome"]["orders"]] == [True, False]
        assert await book(engine) == [0.05, 0.2]  # 15,000 units off in all, as the strategy said
        engine.journal.set_status(part["id"], "received")  # and once more, after both went through
    async with running(tmp_path) as engine:
        await engine.drain()
        assert [o.get("duplicate") for o in engine.journal.get(part["id"])["outcome"]["orders"]] == [True, True]
        assert await book(engine) == [0.05, 0.2]
