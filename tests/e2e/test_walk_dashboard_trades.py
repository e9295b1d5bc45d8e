"""The dashboard's Trades page as a trader reads it: the real `moonhook run` on paper with a
commission, a real headless Chromium (tests/support/browser.py). What the page says a trade
and a plugin made is what it brought to the account: the same net the API, the overview and
Telegram's /trades give, never the gross profit before the broker's costs.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

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


YEAR = 150_000  # positions: a busy year of paper trades, 300,000 deals and as many curve points as closes
BOTTOM = 5_000.0  # the year's lowest balance: one trade lost half the account and the next won it back


def _a_year_before(database: Path, positions: int) -> None:
    """The journal's one closed trade copied ``positions`` times over the year before it, at no
    profit, but the one in the middle lost 5,000.00 and the next won it back: a bottom one point
    of the curve wide."""
    with closing(sqlite3.connect(database)) as db, db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(paper_deals)")]
        deals = [dict(zip(columns, row)) for row in db.execute("SELECT * FROM paper_deals ORDER BY deal")]
        first = deals[0]["time"]
        rows = [{**d, "deal": -(2 * p + i + 1), "position": -(p + 1), "order_ticket": None, "commission": 0.0,
                 "time": first - 365 * 86_400 + 200 * p + i,
                 "profit": {positions // 2: -BOTTOM, positions // 2 + 1: BOTTOM}.get(p, 0.0) if i else 0.0}
                for p in range(positions) for i, d in enumerate(deals)]
        db.executemany(f"INSERT INTO paper_deals VALUES ({', '.join('?' * len(columns))})",
                       [[r[c] for c in columns] for r in rows])


def test_a_years_trades_page_shows_the_latest_trades_and_the_curves_bottom(user, browser):
    """A year of paper trades once sent the page all 150,000 points of the curve (8.8 MB), and
    the chart's Math.max(...points) threw: the page said "Maximum call stack size exceeded" and
    showed neither the trades nor the chart. The curve now comes thinned, its bottom kept."""
    config, _ = init(user, "bot")
    run = user.start("run", config=config, cwd="bot")
    for alert in ("buy EURUSD volume=1 price=1.1 sl=1.09", "close EURUSD price=1.1001"):
        assert run.settled(run.webhook(alert)["id"])["status"] == "done"
    assert run.interrupt() == 0
    _a_year_before(user.home / "bot" / "data" / "moonhook.db", YEAR)
    run = user.start("run", config=config, cwd="bot")
    base = f"http://127.0.0.1:{run.port}"
    view = run.get("/api/trades")
    assert (view["closed"], len(view["trades"]), view["equity_points"]) == (YEAR + 1, 100, YEAR + 2)
    assert min(p["balance"] for p in view["equity"]) == BOTTOM and len(view["equity"]) <= 2_000

    log_in(browser, base, config.values["server"]["api_token"])
    browser.execute_script("location.hash = '#/trades'")
    rows = wait(browser, lambda d: cells(d, "#trades section:last-child tbody tr"), "the closed trades")
    assert len(rows) == 100 and "Maximum call stack" not in browser.find_element(By.ID, "trades").text
    (curve,) = texts(browser, "#trades svg[aria-label='equity curve']")
    assert f"{BOTTOM:.2f}" in curve, curve  # the chart's lowest value: the year's bottom
    assert run.interrupt() == 0
