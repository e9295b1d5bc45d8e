"""The dashboard's Trades page as a trader reads it: the real `moonhook run` on paper with a
commission, a real headless Chromium (tests/support/browser.py). What the page says a trade
and a plugin made is what it brought to the account: the same net the API, the overview and
Telegram's /trades give, never the gross profit before the broker's costs.
"""

from __future__ import annotations

from selenium.webdriver.common.by import By

from support.browser import browser, cells, log_in, texts, wait  # noqa: F401 (browser: a fixture)
from support.e2e_support import init


def test_the_trades_page_shows_what_each_trade_and_plugin_made_after_the_commission(user, browser):
    """A trade won 10.00 before a commission of 7 a lot each way (14.00): it lost 4.00. The
    page once showed +10.00 for it and for its plugin (the API's gross ``profit``), while the
    equity curve beside it fell: a plugin that loses money read as one that makes it."""
    config, _ = init(user, "bot")
    config.replace("commission_per_lot = 0.0", "commission_per_lot = 7.0")
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    opened = run.webhook("buy EURUSD volume=1 price=1.1 sl=1.09")
    assert run.settled(opened["id"])["status"] == "done"
    closed = run.webhook("close EURUSD price=1.1001")
    assert run.settled(closed["id"])["status"] == "done"
    (trade,) = run.get("/api/trades")["trades"]
    assert (trade["profit"], trade["commission"], trade["net"]) == (10.0, -14.0, -4.0), trade

    log_in(browser, base, config.values["server"]["api_token"])
    browser.get(f"{base}/#/trades")
    headings = wait(browser, lambda d: texts(d, "#trades section:last-child th"), "the closed trades' headings")
    (row,) = wait(browser, lambda d: cells(d, "#trades section:last-child tbody tr"), "the closed trade")
    shown = dict(zip(headings, row))
    assert (shown["Profit"], shown["Costs"], shown["Net"]) == ("10.00", "-14.00", "-4.00"), shown
    (bars,) = texts(browser, "#trades svg[aria-label='net by plugin']")
    assert "-4.00" in bars and "10.00" not in bars, bars
    assert run.interrupt() == 0
