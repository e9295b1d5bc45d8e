"""What the trades chat and the plugins are told a closed position made: its net (profit,
commission and swap: what the balance moved by), as the trades' view counts it, in the
account's currency; a scalp whose profit does not pay its commission is a loss, not a "+". A
part closed is told as a part, with what is left open.
The expected figures are worked out by hand from the deals."""

from __future__ import annotations


from engine.app import Operations
from engine.domain.config.mt5 import MT5Config
from engine.domain.config.paper import PaperConfig

from support.engine_support import process, running, told
from support.mt5_standin import Terminal
from support.mt5_support import config as standin_config
from support.waits import until

# Adds up what each fill moved the balance by, as examples/strategies/daily_loss_limit.lua does.
MOVES = """
function on_fill(f) store.set("moved", (store.get("moved") or 0) + f.profit + f.commission + f.swap) end
function on_close(p) store.set("net", p.profit + p.commission + p.swap) end
"""


async def closes(engine) -> list[str]:
    return [text for kind, text in await told(engine) if kind == "trades" and " closed by " in text]


async def test_a_scalp_whose_profit_does_not_pay_its_commission_is_told_as_a_loss(tmp_path):
    paper = PaperConfig(commission_per_lot=7.0)
    async with running(tmp_path, paper=paper) as engine:
        await process(engine, "buy EURUSD volume=1 price=1.10000")     # in: 7.00 of commission
        await process(engine, "closelong EURUSD price=1.10010")        # out: 10 points of 1 lot, +10.00, and 7.00
        (said,) = await closes(engine)
        (trade,) = (await Operations(engine).trades())["trades"]
    # +10.00 gross, -14.00 commission: the balance lost 4.00.
    assert said == ("position 1001 buy 1 EURUSD closed by close @ 1.1001: "
                    "net -4.00 USD (profit +10.00, commission -14.00)")
    assert trade["net"] == -4.0


async def test_a_position_closed_in_three_parts_tells_each_part_and_the_net_of_all_at_the_end(tmp_path):
    paper = PaperConfig(commission_per_lot=7.0, spread_points=10)
    async with running(tmp_path, {"watch": MOVES}, paper=paper) as engine:
        await process(engine, "buy EURUSD volume=0.3 price=1.10000")   # at the ask 1.10010: 2.10 of commission
        for part in ("volume=0.1 price=1.10110", "volume=0.1 price=1.10210", "price=1.10310"):
            await process(engine, f"closelong EURUSD {part}")         # 100, 200, 300 points of 0.1 lot; 0.70 each
        said = await closes(engine)
        await until(lambda: engine.store.get("watch", "net") is not None)
        account = await engine.broker.account()
        moved, net = engine.store.get("watch", "moved"), engine.store.get("watch", "net")
    # profit 10 + 20 + 30 = 60.00; commission 2.10 + 3 x 0.70 = 4.20; net 55.80.
    assert said == [
        "position 1001 EURUSD: 0.1 closed by close @ 1.1011 (engine), 0.2 left open: profit +10.00, commission -0.70",
        "position 1001 EURUSD: 0.1 closed by close @ 1.1021 (engine), 0.1 left open: profit +20.00, commission -0.70",
        "position 1001 buy 0.3 EURUSD closed by close @ 1.1031: net +55.80 USD (profit +60.00, commission -4.20)"]
    assert round(net, 2) == round(moved, 2) == 55.8 and account["balance"] == 10_055.8


def mt5_config(tmp_path) -> MT5Config:
    return standin_config(tmp_path)


async def test_on_metatrader_the_fee_and_swap_count_in_what_a_close_is_told_and_the_plugins_see(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db", commission_per_lot=7.0, fee_per_deal=0.5)
    async with running(tmp_path, {"watch": MOVES}, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        await process(engine, "buy EURUSD volume=0.3")                 # at the ask 1.08010
        (position,) = terminal.positions()
        terminal.set_price("EURUSD", 1.08100, 1.08110)
        await process(engine, "closelong EURUSD volume=0.1")           # 90 points of 0.1 lot: +9.00
        terminal.charge_swap(position["ticket"], -1.25)                # held overnight
        terminal.set_price("EURUSD", 1.08200, 1.08210)
        await process(engine, "closelong EURUSD")                      # 190 points of 0.2 lot: +38.00, the swap
        await until(lambda: engine.store.get("watch", "net") is not None)
        said = await closes(engine)
        moved, net = engine.store.get("watch", "moved"), engine.store.get("watch", "net")
        (trade,) = (await Operations(engine).trades())["trades"]
    # commission 2.10 + 0.70 + 1.40 and a fee of 0.50 on each of the three deals: 5.70; swap 1.25.
    assert said == [f"position {position['ticket']} EURUSD: 0.1 closed by close @ 1.081 (engine), 0.2 left open: "
                    "profit +9.00, commission -1.20",                # 0.70 and the fee
                    f"position {position['ticket']} buy 0.3 EURUSD closed by close @ 1.082: "
                    "net +40.05 USD (profit +47.00, commission -5.70, swap -1.25)"]
    assert round(moved, 2) == round(net, 2) == trade["net"] == 40.05
    assert terminal.account()["balance"] == 10_040.05


async def test_on_metatrader_a_part_closed_is_told_with_what_is_left_open(tmp_path):
    terminal = Terminal(tmp_path / "terminal.db", commission_per_lot=7.0)
    async with running(tmp_path, broker="mt5", mt5=mt5_config(tmp_path)) as engine:
        await process(engine, "buy EURUSD volume=0.3")                 # at the ask 1.08010
        (position,) = terminal.positions()
        terminal.set_price("EURUSD", 1.08110, 1.08120)
        await process(engine, "closelong EURUSD volume=0.1")           # 100 points of 0.1 lot: +10.00, 0.70
        await until(lambda: engine.deals_told == 2)
        said = await closes(engine)
    assert said == [f"position {position['ticket']} EURUSD: 0.1 closed by close @ 1.0811 (engine), 0.2 left open: "
                    "profit +10.00, commission -0.70"]
