"""TradingView delivers a strategy's alerts out of order: its queue held one for a minute (its
`{{timenow}}` says when it fired), and another, fired after it, came first. Through `moonhook run`
on paper: a long with its stop at 1.09 is opened by the newer alert at 1.1; the late one, fired
before it at 1.085, then arrives, within engine.max_alert_age. Its price is the market of a
minute ago: the paper market took it as the last price, went back to 1.085 and closed the long
at its stop, 150 USD lost on a price the market had left before the long was opened. And a late
entry, sized by risk on the market's ask, filled at its own older price: more lost at the stop
than asked."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from support.e2e_support import init


def fired(seconds_ago: float) -> str:
    """TradingView's {{timenow}} of an alert fired ``seconds_ago``."""
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_price_fired_before_the_last_one_moves_no_paper_stop(user):
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "demo.lua").unlink()   # no strategy: the alerts as they are
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    opened = run.settled(run.webhook(f"buy EURUSD volume=0.1 price=1.1 sl=1.09 timenow={fired(5)} id=new")["id"])
    assert opened["status"] == "done", opened
    late = run.settled(run.webhook(f"closeshort EURUSD price=1.085 timenow={fired(60)} id=late")["id"])
    assert late["status"] == "done", late   # nothing short to close, and nothing else done
    (long,) = run.get("/api/positions")["positions"]
    assert (long["volume"], long["sl"], long["profit"]) == (0.1, 1.09, 0.0), long
    assert run.get("/api/account")["account"]["balance"] == 10_000.0

    # A late entry meets the market as it is, as a live broker fills it, not its own price of a
    # minute ago: sized on the ask, 1% at the stop 1.09 is 0.1 lot, which filled at 1.105 would
    # lose 150 USD there, not 100.
    entry = run.settled(run.webhook(f"buy EURUSD risk=1 sl=1.09 price=1.105 timenow={fired(60)} id=late-buy")["id"])
    assert entry["status"] == "done", entry
    (order,) = entry["outcome"]["orders"]
    assert (order["price"], order["volume"]) == (1.1, 0.1), order

    # The market moving on, in the order the prices were fired, still takes the stops.
    moved = run.settled(run.webhook(f"closeshort EURUSD price=1.085 timenow={fired(0)} id=moved")["id"])
    assert moved["status"] == "done", moved
    assert run.get("/api/positions")["positions"] == []
    assert run.get("/api/account")["account"]["balance"] == 10_000.0 - 150.0 - 150.0
    assert run.interrupt() == 0
    assert "Traceback" not in run.text()



def test_a_timenow_ahead_of_the_clock_does_not_stop_the_paper_market(user):
    # A timenow a year ahead (typed by hand into a template) was kept as when EURUSD's last price
    # fired: every alert after it, fired at its true time, was "late", and the market stood at 1.1,
    # the long's stop at 1.09 never hit however far the price fell.
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "demo.lua").unlink()
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    ahead = fired(-365 * 86_400)
    opened = run.settled(run.webhook(f"buy EURUSD volume=0.1 price=1.1 sl=1.09 timenow={ahead} id=ahead")["id"])
    assert opened["status"] == "done", opened
    fell = run.settled(run.webhook(f"closeshort EURUSD price=1.085 timenow={fired(0)} id=fell")["id"])
    assert fell["status"] == "done", fell
    assert run.get("/api/positions")["positions"] == []
    assert run.get("/api/account")["account"]["balance"] == 10_000.0 - 150.0   # stopped at the gap's price
    assert run.interrupt() == 0

# A strategy's on_order may change an order's price (a pending order's trigger): on a market order
# the paper broker took it for the fill, 0.1 lot bought at 0.5 with the market at 1.1, 6,000 USD of
# profit the market never paid (replay fills it at the alert's price); on a close, 2.0 closed the
# long there, 9,000 USD more.
MOVES_PRICE = """
plugin = { priority = 10 }
function on_order(o)
  if o.kind == "market" then return {price = 0.5} end
  if o.kind == "close" then return {price = 2.0} end
end
"""


def test_orders_fill_at_the_paper_market_whatever_price_on_order_gives_them(user):
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "demo.lua").unlink()
    (user.home / "bot" / "scripts" / "moves.lua").write_text(MOVES_PRICE, encoding="utf-8")
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    for body, moved in (("buy EURUSD volume=0.1 price=1.1 id=buy", 0.5), ("close EURUSD price=1.1 id=close", 2.0)):
        answered = run.settled(run.webhook(body)["id"])
        assert answered["status"] == "done", answered
        (order,) = answered["outcome"]["orders"]
        assert (order["on_order"][0]["changes"], order["price"]) == ({"price": moved}, 1.1), order
        if moved == 0.5:
            (long,) = run.get("/api/positions")["positions"]
            assert (long["price_open"], long["profit"]) == (1.1, 0.0), long
    assert run.get("/api/positions")["positions"] == []
    assert run.get("/api/account")["account"]["equity"] == 10_000.0   # bought and sold at 1.1
    assert run.interrupt() == 0


def test_a_restart_keeps_when_the_last_price_was_fired(user):
    """The same late alert, with moonhook restarted between: the paper market remembered the last
    price but not when its alert was fired, took the late one as the market and closed the long at
    its stop, 150 USD lost on a price the market had left before the long was opened."""
    config, _ = init(user, "bot")
    (user.home / "bot" / "scripts" / "demo.lua").unlink()
    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    opened = run.settled(run.webhook(f"buy EURUSD volume=0.1 price=1.1 sl=1.09 timenow={fired(5)} id=new")["id"])
    assert opened["status"] == "done", opened
    run.kill()   # the price was written with the trade, not only at a stop

    run = user.start("run", "--config", "bot/moonhook.toml", config=config)
    late = run.settled(run.webhook(f"closeshort EURUSD price=1.085 timenow={fired(60)} id=late")["id"])
    assert late["status"] == "done", late
    (long,) = run.get("/api/positions")["positions"]
    assert (long["volume"], long["sl"], long["profit"]) == (0.1, 1.09, 0.0), long
    assert run.get("/api/account")["account"]["balance"] == 10_000.0
    assert run.interrupt() == 0
    assert "Traceback" not in run.text()
