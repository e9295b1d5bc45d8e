"""What an alert would do, doing nothing (engine/app/alert_check.py, ``POST /api/alerts/check``,
``moonhook send --dry-run``): a real engine on the paper broker, its sandbox workers and SQLite
file; the check sizes from the account and the price as the alert itself would, names the limit
that would refuse an order, and leaves the journal, the broker and the plugins untouched."""

from __future__ import annotations

import time

from engine.app import Operations
from engine.domain.alerts import parse_body
from engine.domain.config.paper import PaperConfig

from support.engine_support import process, running

# Would remember every alert it sees, and place an order of its own: a check must run neither.
BUSY = """
plugin = {symbols = {"EURUSD"}}
function on_alert(a)
  store.set("seen", (store.get("seen") or 0) + 1)
  orders.market{symbol = "GBPUSD", side = "buy", volume = 0.1}
end
"""


async def check(engine, body: str) -> dict:
    return await Operations(engine).check(parse_body(body, engine.symbols))


async def test_a_check_sizes_the_entry_as_the_alert_would_and_touches_nothing(tmp_path):
    async with running(tmp_path, {"busy": BUSY}, paper=PaperConfig(spreads={"EURUSD": 20})) as engine:
        view = await check(engine, "buy EURUSD risk=1 sl_pips=20 price=1.1")
        # 1% of 10,000 at the stop: from the ask 1.1002 (the alert's price and 2 pips of spread) to
        # 1.098, 22 pips of 10.00 USD a lot: 0.45 lots.
        (order,) = view["orders"]
        assert order == {"kind": "market", "symbol": "EURUSD", "side": "buy", "volume": 0.45, "price": 1.1,
                         "sl": 1.098, "refused": None}
        assert view["alert"]["risk"] == 1 and "secret" not in view["alert"]
        assert (view["plugins"], view["note"], view["error"], view["paused"]) == (["busy"], None, None, False)
        assert engine.journal.recent(10) == [] and await engine.broker.positions() == []
        assert await engine.broker.price("EURUSD") is None   # the alert's price was not taken as a quote
        assert engine.store.get("busy", "seen") is None      # the plugin was not run
        row = await process(engine, "buy EURUSD risk=1 sl_pips=20 price=1.1")   # the alert itself: the same
        assert [(o["volume"], o["price_open"]) for o in await engine.broker.positions() if o["symbol"] == "EURUSD"] == [
            (0.45, 1.1002)], row


async def test_a_check_names_the_limit_that_would_refuse_and_what_cannot_be_done(tmp_path):
    async with running(tmp_path, max_order_volume=1.0) as engine:
        (order,) = (await check(engine, "buy EURUSD volume=5 price=1.1"))["orders"]
        assert order["refused"] == "over engine.max_order_volume: 5 lots asked, at most 1"
        nothing = await check(engine, "closelong EURUSD")
        assert (nothing["orders"], nothing["note"]) == ([], "no open buy position on EURUSD to close")
        unsized = await check(engine, "buy EURUSD price=1.1")
        assert unsized["error"].startswith("no volume: give volume=, risk=")
        assert (await check(engine, "trend EURUSD H1 up"))["note"] == "a trend state: recorded, nothing traded"
        assert engine.journal.recent(10) == []


async def test_a_check_shows_the_volume_the_broker_takes_and_its_refusal(tmp_path):
    # What a check says would be sent is what is sent: 0.129 lots go as 0.12 (the symbol's
    # step), a volume over the symbol's maximum or under its minimum is refused by the broker.
    async with running(tmp_path) as engine:
        (rounded,) = (await check(engine, "buy EURUSD volume=0.129 price=1.1"))["orders"]
        assert (rounded["volume"], rounded["refused"]) == (0.12, None)
        (fat,) = (await check(engine, "buy EURUSD volume=500 price=1.1"))["orders"]
        assert fat["refused"] == "volume 500 is above EURUSD's maximum 100"
        (small,) = (await check(engine, "buy SPX500 volume=0.05 price=5000"))["orders"]
        assert small["refused"] == "volume 0.05 is below SPX500's minimum 0.1 (step 0.1)"
        (poor,) = (await check(engine, "buy EURUSD volume=50 price=1.1"))["orders"]   # the broker's own check
        assert poor["refused"] == ("not enough money: 50 lots of EURUSD need 55,000.00 USD of margin at 1:100, "
                                   "and the free margin is 10,000.00")
        done = await process(engine, "buy EURUSD volume=0.129 price=1.1")   # the alert itself: the same
        assert [o["volume"] for o in done["outcome"]["orders"]] == [0.12]


async def test_a_check_says_the_stop_change_the_broker_would_refuse_as_the_change_itself_says(tmp_path):
    # A newsltp whose stop is on the wrong side of the bid, or within the symbol's stops level, was
    # shown "would send" with nothing refused, and the alert itself was then refused by the broker.
    paper = PaperConfig(spread_points=10, symbols={"EURUSD": {"stops_level": 10}})
    async with running(tmp_path, paper=paper) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.08")
        for body in ("newsltp EURUSD sl=1.081", "newsltp EURUSD sl=1.07995"):
            (order,) = (await check(engine, body))["orders"]
            assert order["kind"] == "modify" and order["refused"], (body, order)
            row = await process(engine, body)
            assert [o["error"] for o in row["outcome"]["orders"]] == [order["refused"]], row
        (fine,) = (await check(engine, "newsltp EURUSD sl=1.079"))["orders"]
        assert fine["refused"] is None
        await process(engine, "newsltp EURUSD sl=1.079")
        (again,) = (await check(engine, "newsltp EURUSD sl=1.079"))["orders"]
        assert again["refused"] is None   # the same stop again: done, as the change itself is


async def test_a_check_measures_a_stop_change_from_the_price_the_alert_carries(tmp_path):
    # The alert's price is quoted before its change is made: a stop under it, over the last bid,
    # is taken. The check measured it from the last bid and said it would be refused.
    async with running(tmp_path, paper=PaperConfig(spread_points=10)) as engine:
        await process(engine, "buy EURUSD volume=0.1 price=1.08")
        (order,) = (await check(engine, "newsltp EURUSD sl=1.081 price=1.085"))["orders"]
        assert order["refused"] is None, order
        assert (await engine.broker.price("EURUSD"))["bid"] == 1.08   # the alert's price was not taken as a quote
        (stale,) = (await check(engine, "newsltp EURUSD sl=1.081"))["orders"]
        assert stale["refused"] == "sl 1.081: a buy's stop loss must be below the current bid 1.08"
        row = await process(engine, "newsltp EURUSD sl=1.081 price=1.085")
        assert row["outcome"]["orders"][0]["ok"], row


async def test_a_check_sizes_a_pair_whose_rate_is_its_own_price_from_the_alert_as_the_alert_is(tmp_path):
    # alerts.md's own example, pasted into `moonhook send --dry-run` on a fresh paper account, said
    # "cannot size 1.0% risk: USDJPY has no tick value", exit 1, where the alert itself trades 0.04
    # lots: the paper broker converts USDJPY's yen at the price the alert brings, the check did not.
    async with running(tmp_path) as engine:
        view = await check(engine, "buy USDJPY risk=1 sl=147 price=150")
        assert (view["error"], [(o["volume"], o["refused"]) for o in view["orders"]]) == (None, [(0.04, None)])
        assert await engine.broker.price("USDJPY") is None   # still nothing quoted
        done = await process(engine, "buy USDJPY risk=1 sl=147 price=150")   # the alert itself: the same
        assert [o["volume"] for o in done["outcome"]["orders"]] == [0.04]


async def test_a_check_of_a_late_alert_measures_from_the_last_price_as_the_alert_itself_would(tmp_path):
    # TradingView fired it a minute before the last price taken: the paper market does not take
    # its price (Prices.late), and its entry fills at 1.1, under the stop it gives. The check
    # measured it from its own 1.2 and said it would fill.
    # Fired before now: a timenow ahead of the clock counts from its receipt (Prices.record).
    now = int(time.time())
    async with running(tmp_path) as engine:
        await process(engine, f"buy EURUSD volume=0.1 price=1.1 timenow={now - 1}")
        late = f"buy EURUSD volume=0.1 price=1.2 sl=1.15 timenow={now - 61}"
        (order,) = (await check(engine, late))["orders"]
        assert order["refused"] is not None and "1.15" in order["refused"], order
        row = await process(engine, late)   # the alert itself: refused the same
        assert row["status"] == "failed" and order["refused"] in str(row["outcome"]), row
